// What every record carries besides the flow: its event_id and the tenant fields of the
// attachment that judged it, in the JSON line and in the protobuf record alike.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "controlplane/records/flow_event_json.h"
#include "controlplane/records/json.h"
#include "denial.pb.h"

namespace sluice {
namespace {

FlowEvent denied_event() {
  FlowEvent event;
  event.flow_id = 7;
  event.verdict = FlowVerdict::denied_enforced;
  event.reason = Reason::ip_not_allowed;
  event.destination_type = DestinationType::ip;
  event.protocol = 6;
  event.src_port = 41000;
  event.dst_port = 5432;
  event.attachment_index = 1;
  return event;
}

void add_tenant_fields(CompiledPolicy& policy) {
  policy.policies.resize(1);
  policy.policies[0].name = "storage";
  policy.attachments.resize(2);
  policy.attachments[0].source_label = "default";
  policy.attachments[1].source_label = "spark-prod";
  policy.attachments[1].record_fields = {{"account_id", "acc-4417"}, {"workspace_id", "ws \"prod\""}};
}

TEST(RecordIdentity, JsonLineEndsWithEventIdAndTenantFields) {
  CompiledPolicy policy;
  add_tenant_fields(policy);
  EventClock clock;
  const FlowEvent event = denied_event();
  const std::string line = denial_record_json(event, names_of(event, policy), "a1", clock, 3,
                                              "3f1c9a52-7d0e-4b8a-9c51-0e6d2a1b7f44");
  Json record = Json::parse(line);
  std::vector<std::string> keys;
  for (const auto& item : record.items()) keys.push_back(item.key());
  ASSERT_GE(keys.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(keys.end() - 3, keys.end()),
            (std::vector<std::string>{"event_id", "account_id", "workspace_id"}));
  EXPECT_EQ(record["event_id"], "3f1c9a52-7d0e-4b8a-9c51-0e6d2a1b7f44");
  EXPECT_EQ(record["workspace_id"], "ws \"prod\"");
  EXPECT_EQ(record["source_label"], "spark-prod");
  EXPECT_EQ(record["count"], 3);
}

TEST(RecordIdentity, ProtobufRecordCarriesTheSame) {
  CompiledPolicy policy;
  add_tenant_fields(policy);
  EventClock clock;
  const FlowEvent event = denied_event();
  sluice::denial::DenialRecord record;
  ASSERT_TRUE(record.ParseFromString(
      denial_record_proto(event, names_of(event, policy), "a1", clock, 1, "3f1c9a52-7d0e-4b8a-9c51-0e6d2a1b7f44")));
  EXPECT_EQ(record.event_id(), "3f1c9a52-7d0e-4b8a-9c51-0e6d2a1b7f44");
  ASSERT_EQ(record.record_fields_size(), 2);
  EXPECT_EQ(record.record_fields().at("account_id"), "acc-4417");
}

TEST(RecordIdentity, FlowLogLineHasItsIdAndTheAttachmentsFields) {
  CompiledPolicy policy;
  add_tenant_fields(policy);
  FlowEvent event = denied_event();
  Json line = Json::parse(flow_log_json(event, policy, "0b7e3a41-8c2d-4f6a-a1b3-5d9e7c0f2a18"));
  EXPECT_EQ(line["event_id"], "0b7e3a41-8c2d-4f6a-a1b3-5d9e7c0f2a18");
  EXPECT_EQ(line["account_id"], "acc-4417");
  event.attachment_index = 0;  // the default attachment names no fields
  line = Json::parse(flow_log_json(event, policy, "x"));
  EXPECT_FALSE(line.contains("account_id"));
}

TEST(RecordIdentity, ATranslatedFlowCarriesItsTranslatedSourceBesideTheOriginal) {
  CompiledPolicy policy;
  add_tenant_fields(policy);
  EventClock clock;
  FlowEvent event = denied_event();
  event.src.family = 4;
  event.src.bytes[0] = 198, event.src.bytes[1] = 18, event.src.bytes[2] = 1, event.src.bytes[3] = 21;
  // Not translated: neither field, in any form.
  Json plain = Json::parse(denial_record_json(event, names_of(event, policy), "a1", clock, 1, "id"));
  EXPECT_FALSE(plain.contains("translated_src_ip"));
  EXPECT_FALSE(plain.contains("translated_src_port"));
  EXPECT_FALSE(Json::parse(flow_log_json(event, policy, "id")).contains("translated_src_ip"));
  sluice::denial::DenialRecord untranslated;
  ASSERT_TRUE(untranslated.ParseFromString(denial_record_proto(event, names_of(event, policy), "a1", clock, 1, "id")));
  EXPECT_FALSE(untranslated.has_translated_src_ip());
  // Translated to 198.18.9.4:20417.
  event.translated_src.family = 4;
  event.translated_src.bytes[0] = 198, event.translated_src.bytes[1] = 18, event.translated_src.bytes[2] = 9,
  event.translated_src.bytes[3] = 4;
  event.translated_src_port = 20417;
  Json json = Json::parse(denial_record_json(event, names_of(event, policy), "a1", clock, 1, "id"));
  EXPECT_EQ(json["src_ip"], "198.18.1.21");
  EXPECT_EQ(json["src_port"], 41000);
  EXPECT_EQ(json["translated_src_ip"], "198.18.9.4");
  EXPECT_EQ(json["translated_src_port"], 20417);
  Json flow = Json::parse(flow_log_json(event, policy, "id"));
  EXPECT_EQ(flow["translated_src_ip"], "198.18.9.4");
  EXPECT_EQ(flow["translated_src_port"], 20417);
  sluice::denial::DenialRecord record;
  ASSERT_TRUE(record.ParseFromString(denial_record_proto(event, names_of(event, policy), "a1", clock, 1, "id")));
  EXPECT_EQ(record.translated_src_ip(), "198.18.9.4");
  EXPECT_EQ(record.translated_src_port(), 20417u);
  EXPECT_EQ(record.src_ip(), "198.18.1.21");
}

}  // namespace
}  // namespace sluice

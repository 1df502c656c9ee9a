// Tenant fields (record_fields) of a policy set and its attachments: what keys and values are
// accepted, and that none can take the place of a field Sluice writes.
#include "controlplane/policy/record_fields.h"

#include <gtest/gtest.h>

#include "controlplane/policy/policy_loader.h"
#include "controlplane/policy/public_suffix_list.h"
#include "tests/unit/policy_error_expectations.h"

namespace sluice {
namespace {

class RecordFields : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(suffixes_.load(SLUICE_TEST_DATA "/public_suffix_list_small.dat")); }
  LoadedPolicy load(const std::string& extra) {
    return load_policy_text(R"(default_policy: "p"
policies { name: "p" access_mode: FULL enforcement: ENFORCE }
)" + extra,
                            "t.textproto", suffixes_);
  }
  PublicSuffixList suffixes_;
};

TEST_F(RecordFields, AcceptsSafeKeysOnTheSetAndAttachments) {
  LoadedPolicy loaded = load(R"(record_fields { key: "account_id" value: "acc-123" }
record_fields { key: "workspace_id" value: "4417 west" }
attachments { source_cidr: "198.18.0.0/24" policy: "p" record_fields { key: "workspace_id" value: "ws2" } }
)");
  ASSERT_TRUE(loaded.ok()) << test::all_errors(loaded.errors);
  EXPECT_EQ(loaded.policy_set.record_fields().at("account_id"), "acc-123");
  EXPECT_EQ(loaded.policy_set.attachments(0).record_fields().at("workspace_id"), "ws2");
}

TEST_F(RecordFields, RefusesBuiltInNamesUnsafeKeysAndValuesAtTheirLines) {
  LoadedPolicy loaded = load(R"(record_fields { key: "account_id" value: "ok" }
record_fields { key: "event_id" value: "forged" }
record_fields { key: "Workspace" value: "x" }
record_fields { key: "sluice_count" value: "x" }
record_fields { key: "note" value: "line\nbreak" }
attachments {
  source_cidr: "198.18.0.0/24"
  policy: "p"
  record_fields { key: "reason" value: "x" }
}
)");
  test::expect_errors(loaded.errors,
                      {{4, "record_fields[1].key", "\"event_id\" is a field Sluice writes itself"},
                       {5, "record_fields[2].key", "a key is [a-z][a-z0-9_]*"},
                       {6, "record_fields[3].key", "\"sluice_count\" is a field Sluice writes itself"},
                       {7, "record_fields[4].value", "without control characters"},
                       {11, "attachments[0].record_fields[0].key", "\"reason\" is a field Sluice writes itself"}},
                      "t.textproto");
}

TEST_F(RecordFields, RefusesMoreThanSixteen) {
  std::string text;
  for (int i = 0; i < 17; ++i) text += "record_fields { key: \"f" + std::to_string(i) + "\" value: \"v\" }\n";
  LoadedPolicy loaded = load(text);
  ASSERT_EQ(loaded.errors.size(), 1u) << test::all_errors(loaded.errors);
  EXPECT_NE(loaded.errors[0].message.find("too many record_fields (17); at most 16"), std::string::npos);
}

TEST(RecordFieldNames, EveryRecordFieldIsReserved) {
  for (const char* name : {"event_time", "access_type", "policy", "source_label", "src_ip", "src_port", "dst_ip",
                           "dst_port", "protocol", "destination_type", "destination", "reason", "flow_id",
                           "appliance", "count", "dns_event", "event_id", "sni", "http_host", "verdict",
                           "tls_alpn", "tls_version", "storage_event"})
    EXPECT_TRUE(is_reserved_record_field(name)) << name;
  EXPECT_FALSE(is_reserved_record_field("account_id"));
  EXPECT_FALSE(is_reserved_record_field("workspace_id"));
}

}  // namespace
}  // namespace sluice

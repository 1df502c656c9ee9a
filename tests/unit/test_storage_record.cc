// Records of storage names (controlplane/records/storage_record.h): destination_type STORAGE and
// the storage event, in the JSON line, the protobuf record and the flow log alike; other names
// are untouched.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <string>

#include "controlplane/records/flow_event_json.h"
#include "controlplane/records/storage_record.h"
#include "denial.pb.h"

namespace sluice {
namespace {

FlowEvent event_for(const std::string& name, DestinationType type, Reason reason, const std::string& path = "") {
  FlowEvent event;
  event.protocol = 6;
  event.verdict = reason == Reason::allowed_domain || reason == Reason::allowed_storage_path_style
                      ? FlowVerdict::allowed
                      : FlowVerdict::denied_enforced;
  event.reason = reason;
  event.destination_type = type;
  event.name_length = uint8_t(name.size());
  std::memcpy(event.name, name.data(), name.size());
  event.path_length = uint8_t(std::min(path.size(), sizeof event.path));
  std::memcpy(event.path, path.data(), event.path_length);
  return event;
}

std::string hostname_of(const FlowEvent& event) {
  const auto record = storage_record_of(event);
  return record ? record->hostname : "(none)";
}

TEST(StorageRecord, HostnamesInTheFormsClientsWrite) {
  EXPECT_EQ(hostname_of(event_for("acme-logs.s3.eu-west-1.amazonaws.com", DestinationType::sni,
                                  Reason::domain_not_allowed)),
            "s3://acme-logs");
  EXPECT_EQ(hostname_of(event_for("acme-ml.storage.googleapis.com", DestinationType::quic_sni,
                                  Reason::domain_not_allowed)),
            "gs://acme-ml");
  EXPECT_EQ(hostname_of(event_for("evil.blob.core.windows.net", DestinationType::sni, Reason::domain_not_allowed)),
            "https://evil.blob.core.windows.net");
  EXPECT_EQ(hostname_of(event_for("evil.dfs.core.windows.net", DestinationType::http_host,
                                  Reason::domain_not_allowed, "/raw/2026/x.parquet")),
            "abfs://raw@evil.dfs.core.windows.net");
  EXPECT_EQ(hostname_of(event_for("evil.blob.core.windows.net", DestinationType::http_host,
                                  Reason::domain_not_allowed, "/backups/db.tar")),
            "wasb://backups@evil.blob.core.windows.net");
  EXPECT_EQ(hostname_of(event_for("s3.eu-west-1.amazonaws.com", DestinationType::http_host,
                                  Reason::storage_bucket_not_allowed, "/loot/x")),
            "s3://loot");
  EXPECT_EQ(hostname_of(event_for("s3.eu-west-1.amazonaws.com", DestinationType::sni,
                                  Reason::storage_path_style_not_allowed)),
            "https://s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(hostname_of(event_for("reports-123456789012.s3-accesspoint.eu-west-1.amazonaws.com",
                                  DestinationType::sni, Reason::domain_not_allowed)),
            "https://reports-123456789012.s3-accesspoint.eu-west-1.amazonaws.com");
}

TEST(StorageRecord, OnlyNamesJudgedAsSniHostOrQuicSni) {
  EXPECT_FALSE(storage_record_of(event_for("pypi.org", DestinationType::sni, Reason::domain_not_allowed)));
  EXPECT_FALSE(storage_record_of(event_for("blob.core.windows.net", DestinationType::sni, Reason::domain_not_allowed)));
  FlowEvent dns = event_for("evil.blob.core.windows.net", DestinationType::dns, Reason::dns_name_not_allowed);
  dns.dns_query = true;
  EXPECT_FALSE(storage_record_of(dns));
  EXPECT_FALSE(storage_record_of(event_for("evil.blob.core.windows.net", DestinationType::ip, Reason::ip_not_allowed)));
}

TEST(StorageRecord, DenialJsonSaysStorageWithItsEvent) {
  const FlowEvent event = event_for("s3.eu-west-1.amazonaws.com", DestinationType::http_host,
                                    Reason::storage_bucket_not_allowed, "/loot/x.csv");
  const auto json = nlohmann::json::parse(denial_record_json(event, {"lake", "lake"}, "a1", EventClock()));
  EXPECT_EQ(json["destination_type"], "STORAGE");
  EXPECT_EQ(json["destination"], "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(json["storage_event"],
            nlohmann::json({{"hostname", "s3://loot"}, {"path", "/loot/x.csv"},
                            {"rejection_reason", "storage_bucket_not_allowed"}, {"path_style", true},
                            {"provider", "S3"}}));
  const auto plain = nlohmann::json::parse(denial_record_json(
      event_for("pypi.org", DestinationType::sni, Reason::domain_not_allowed), {"lake", "lake"}, "a1", EventClock()));
  EXPECT_EQ(plain["destination_type"], "SNI");
  EXPECT_FALSE(plain.contains("storage_event"));
}

TEST(StorageRecord, FlowLogSaysStorageForAllowedAndDeniedNamesAlike) {
  const CompiledPolicy policy;
  const auto allowed = nlohmann::json::parse(flow_log_json(
      event_for("acmedata.dfs.core.windows.net", DestinationType::sni, Reason::allowed_domain), policy, "e1"));
  EXPECT_EQ(allowed["destination_type"], "STORAGE");
  EXPECT_EQ(allowed["sni"], "acmedata.dfs.core.windows.net");  // what it was judged as stays said
  EXPECT_EQ(allowed["storage_event"]["hostname"], "https://acmedata.dfs.core.windows.net");
  EXPECT_EQ(allowed["storage_event"]["rejection_reason"], "");
  const auto denied = nlohmann::json::parse(flow_log_json(
      event_for("loot.s3.eu-west-1.amazonaws.com", DestinationType::http_host, Reason::domain_not_allowed), policy,
      "e2"));
  EXPECT_EQ(denied["destination_type"], "STORAGE");
  EXPECT_EQ(denied["http_host"], "loot.s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(denied["storage_event"]["rejection_reason"], "domain_not_allowed");
  const auto plain = nlohmann::json::parse(
      flow_log_json(event_for("pypi.org", DestinationType::sni, Reason::allowed_domain), policy, "e3"));
  EXPECT_EQ(plain["destination_type"], "SNI");
  EXPECT_FALSE(plain.contains("storage_event"));
}

TEST(StorageRecord, DenialProtobufCarriesTheStorageEventAsField18) {
  const FlowEvent event = event_for("evil.blob.core.windows.net", DestinationType::sni, Reason::domain_not_allowed);
  denial::DenialRecord record;
  ASSERT_TRUE(record.ParseFromString(denial_record_proto(event, {"lake", "lake"}, "a1", EventClock())));
  EXPECT_EQ(record.destination_type(), "STORAGE");
  ASSERT_TRUE(record.has_storage_event());
  EXPECT_EQ(record.storage_event().hostname(), "https://evil.blob.core.windows.net");
  EXPECT_EQ(record.storage_event().rejection_reason(), "domain_not_allowed");
  EXPECT_EQ(record.storage_event().provider(), "AZURE");
  EXPECT_EQ(denial::DenialRecord::descriptor()->FindFieldByName("storage_event")->number(), 18);
}

}  // namespace
}  // namespace sluice

// sluicectl denials and suggest, below the command line: durations and RFC 3339 times, the
// record filter, --top grouping by (policy, destination) with aggregated counts, reading torn and
// damaged files, suggest's grouping by registrable domain, and its allowed_storage entries for
// storage names.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "cli/denial_files.h"
#include "cli/denial_query.h"
#include "cli/record_time.h"
#include "cli/suggest.h"
#include "denial.pb.h"

namespace sluice {
namespace {

TEST(Duration, ParsesEachUnit) {
  EXPECT_EQ(parse_duration_ms("90s"), 90'000);
  EXPECT_EQ(parse_duration_ms("15m"), 15 * 60'000);
  EXPECT_EQ(parse_duration_ms("2h"), 2 * 3'600'000);
  EXPECT_EQ(parse_duration_ms("3d"), 3 * 86'400'000LL);
  EXPECT_EQ(parse_duration_ms("1w"), 7 * 86'400'000LL);
  EXPECT_EQ(parse_duration_ms("500ms"), 500);
}

TEST(Duration, RefusesWhatIsNotOne) {
  for (const char* text : {"", "h", "2", "2x", "-2h", "2h30m", "0h", "2 h", "2H", "99999999999d"})
    EXPECT_FALSE(parse_duration_ms(text)) << text;
}

TEST(Rfc3339, ParsesRecordTimesAndOffsets) {
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-22T20:15:00.880Z"), parse_rfc3339_ms("2026-11-22T21:15:00.880+01:00"));
  EXPECT_EQ(parse_rfc3339_ms("2026-11-22T20:15:00Z"), parse_rfc3339_ms("2026-11-22t15:15:00-05:00"));
  EXPECT_EQ(parse_rfc3339_ms("2024-02-29T00:00:00Z").value() - parse_rfc3339_ms("2024-02-28T00:00:00Z").value(),
            86'400'000);
}

TEST(Rfc3339, RefusesMalformedAndImpossibleDates) {
  for (const char* text : {"2026-11-22", "2026-11-22T20:15:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
                           "2026-11-22T24:00:00Z", "2026-11-22T20:15:00.Z", "2026-11-22T20:15:00+0100",
                           "2026-11-22T20:15:00Zjunk", "yesterday"})
    EXPECT_FALSE(parse_rfc3339_ms(text)) << text;
}

TEST(Rfc3339, FormatsAsRecordsDo) {
  for (const char* text : {"2026-11-22T20:15:00.880Z", "1999-12-31T23:59:59.999Z", "2024-02-29T12:00:00.000Z"})
    EXPECT_EQ(format_rfc3339_ms(parse_rfc3339_ms(text).value()), text);
}

TEST(TimeBound, DurationCountsBackFromNow) {
  const int64_t now = parse_rfc3339_ms("2026-11-22T20:00:00Z").value();
  std::string error;
  EXPECT_EQ(parse_time_bound("2h", now, error), parse_rfc3339_ms("2026-11-22T18:00:00Z"));
  EXPECT_EQ(parse_time_bound("2026-11-22T19:00:00Z", now, error), parse_rfc3339_ms("2026-11-22T19:00:00Z"));
  EXPECT_FALSE(parse_time_bound("2hours", now, error));
  EXPECT_NE(error.find("not a duration"), std::string::npos) << error;
  EXPECT_FALSE(parse_time_bound("last tuesday", now, error));
  EXPECT_NE(error.find("RFC 3339"), std::string::npos) << error;
}

DenialRow row(const std::string& time, const std::string& policy, const std::string& source,
              const std::string& destination, uint64_t count = 1, const std::string& reason = "domain_not_allowed") {
  DenialRow out;
  out.event_time = time;
  out.time_ms = parse_rfc3339_ms(time).value();
  out.time_valid = true;
  out.access_type = "DRY_RUN_DENIAL";
  out.policy = policy;
  out.source_label = "lab";
  out.src_ip = source;
  out.dst_ip = "198.19.0.1";
  out.dst_port = 443;
  out.protocol = "TCP";
  out.destination_type = "SNI";
  out.destination = destination;
  out.reason = reason;
  out.count = count;
  return out;
}

TEST(Filter, TimeBoundsPolicyAndSource) {
  DenialRow r = row("2026-11-22T19:00:00.000Z", "p", "198.18.1.21", "a.example.com");
  DenialFilter filter;
  EXPECT_TRUE(denial_matches(r, filter));
  filter.since_ms = r.time_ms;  // inclusive
  EXPECT_TRUE(denial_matches(r, filter));
  filter.until_ms = r.time_ms;  // exclusive
  EXPECT_FALSE(denial_matches(r, filter));
  filter = {};
  filter.policy = "q";
  EXPECT_FALSE(denial_matches(r, filter));
  filter = {};
  Cidr cidr;
  ASSERT_EQ(parse_cidr("198.18.1.16/28", cidr), CidrError::none);
  filter.source = cidr;
  EXPECT_TRUE(denial_matches(r, filter));
  r.src_ip = "198.18.1.32";
  EXPECT_FALSE(denial_matches(r, filter));
  r.src_ip = "2001:db8::1";  // another family is never inside
  EXPECT_FALSE(denial_matches(r, filter));
  r.time_valid = false;
  filter = {};
  filter.since_ms = 0;  // a record without a readable time passes no time bound
  EXPECT_FALSE(denial_matches(r, filter));
}

TEST(Top, GroupsByPolicyAndDestinationSummingCounts) {
  std::vector<DenialRow> rows = {
      row("2026-11-22T19:00:00.000Z", "p", "198.18.1.21", "a.example.com"),
      row("2026-11-22T19:05:00.000Z", "p", "198.18.1.22", "a.example.com", 40),
      row("2026-11-22T18:00:00.000Z", "p", "198.18.1.21", "a.example.com"),
      row("2026-11-22T19:00:00.000Z", "q", "198.18.1.21", "a.example.com", 5),
      row("2026-11-22T19:00:00.000Z", "p", "198.18.1.21", "b.example.com", 7),
  };
  auto groups = top_denied(rows, 0);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].policy, "p");
  EXPECT_EQ(groups[0].destination, "a.example.com");
  EXPECT_EQ(groups[0].denials, 42u);
  EXPECT_EQ(groups[0].records, 3u);
  EXPECT_EQ(groups[0].first_seen, "2026-11-22T18:00:00.000Z");
  EXPECT_EQ(groups[0].last_seen, "2026-11-22T19:05:00.000Z");
  EXPECT_EQ(groups[0].sources, (std::vector<std::string>{"198.18.1.21", "198.18.1.22"}));
  EXPECT_EQ(groups[1].destination, "b.example.com");
  EXPECT_EQ(groups[1].denials, 7u);
  EXPECT_EQ(groups[2].policy, "q");
  EXPECT_EQ(top_denied(rows, 1).size(), 1u);
}

TEST(Csv, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
}

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("sluice-denials-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

TEST(Files, JsonLinesTornTailIsSkippedAndCounted) {
  std::string path = temp_path("denials.jsonl");
  std::ofstream(path) << R"({"event_time":"2026-11-22T19:00:00.000Z","policy":"p","count":3})" << "\n"
                      << "not json\n"
                      << R"({"event_time":"2026-11-22T19:00:01.000Z","policy":"p"})" << "\n"
                      << R"({"event_time":"2026-11-22T19:00:0)";
  DenialReadResult result;
  std::string error;
  ASSERT_TRUE(read_denial_file(path, result, error)) << error;
  ASSERT_EQ(result.rows.size(), 2u);
  EXPECT_EQ(result.rows[0].count, 3u);
  EXPECT_EQ(result.rows[1].count, 1u);  // no count field: one denial
  EXPECT_EQ(result.torn_records, 1u);
  EXPECT_EQ(result.damaged_records, 1u);
}

TEST(Files, ProtobufRecordsAndTornTail) {
  std::string path = temp_path("denials.pb.2");
  ASSERT_TRUE(is_protobuf_denial_file(path));
  EXPECT_FALSE(is_protobuf_denial_file("denials.jsonl.2"));
  std::string bytes;
  for (uint64_t count : {1, 250}) {
    sluice::denial::DenialRecord record;
    record.set_event_time("2026-11-22T19:00:00.000Z");
    record.set_destination("a.example.com");
    record.set_count(count);
    std::string body = record.SerializeAsString();
    bytes += static_cast<char>(body.size());  // < 128: one varint byte
    bytes += body;
  }
  std::string torn = bytes.substr(0, bytes.size() - 3);
  std::ofstream(path, std::ios::binary) << torn;
  DenialReadResult result;
  std::string error;
  ASSERT_TRUE(read_denial_file(path, result, error)) << error;
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(result.rows[0].destination, "a.example.com");
  EXPECT_EQ(result.torn_records, 1u);
  std::ofstream(path, std::ios::binary) << bytes;
  result = {};
  ASSERT_TRUE(read_denial_file(path, result, error));
  ASSERT_EQ(result.rows.size(), 2u);
  EXPECT_EQ(result.rows[1].count, 250u);
  EXPECT_EQ(result.torn_records, 0u);
}

TEST(Files, UnreadableFileIsAnError) {
  DenialReadResult result;
  std::string error;
  EXPECT_FALSE(read_denial_file("/nonexistent/denials.jsonl", result, error));
  EXPECT_NE(error.find("/nonexistent/denials.jsonl"), std::string::npos);
}

TEST(Files, LogDirectoryOldestRotationFirstJsonOverProtobuf) {
  auto dir = std::filesystem::path(temp_path("dir"));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const char* name : {"denials.jsonl", "denials.jsonl.1", "denials.jsonl.10", "denials.jsonl.2", "denials.pb",
                           "other.jsonl"})
    std::ofstream(dir / name) << "";
  std::vector<std::string> files;
  std::string error;
  ASSERT_TRUE(list_denial_files(dir.string(), files, error)) << error;
  std::vector<std::string> names;
  for (const auto& file : files) names.push_back(std::filesystem::path(file).filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"denials.jsonl.10", "denials.jsonl.2", "denials.jsonl.1", "denials.jsonl"}));
  std::filesystem::remove(dir / "denials.jsonl");
  std::filesystem::remove(dir / "denials.jsonl.1");
  std::filesystem::remove(dir / "denials.jsonl.2");
  std::filesystem::remove(dir / "denials.jsonl.10");
  files.clear();
  ASSERT_TRUE(list_denial_files(dir.string(), files, error));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(is_protobuf_denial_file(files[0]));
  std::filesystem::remove(dir / "denials.pb");
  files.clear();
  EXPECT_FALSE(list_denial_files(dir.string(), files, error));
  EXPECT_NE(error.find("no denial files"), std::string::npos) << error;
}

class Suggest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(suffixes.load()) << suffixes.error(); }
  PublicSuffixList suffixes;
};

TEST_F(Suggest, RegistrableDomainIsPublicSuffixAware) {
  EXPECT_EQ(registrable_domain("files.pythonhosted.org", suffixes), "pythonhosted.org");
  EXPECT_EQ(registrable_domain("a.b.example.co.uk", suffixes), "example.co.uk");
  EXPECT_EQ(registrable_domain("example.co.uk", suffixes), "example.co.uk");
  EXPECT_EQ(registrable_domain("co.uk", suffixes), "");
  EXPECT_EQ(registrable_domain("com", suffixes), "");
}

TEST_F(Suggest, GroupsNamesByRegistrableDomainAndNeverWidensOverASuffix) {
  std::vector<DenialRow> rows = {
      row("2026-11-22T19:00:00.000Z", "p", "198.18.1.21", "a.example.co.uk", 2),
      row("2026-11-22T19:01:00.000Z", "p", "198.18.1.22", "b.example.co.uk"),
      row("2026-11-22T19:02:00.000Z", "p", "198.18.1.21", "c.example.co.uk"),
      row("2026-11-22T19:03:00.000Z", "p", "198.18.1.21", "co.uk"),
      row("2026-11-22T19:04:00.000Z", "p", "198.18.1.21", "x.other.org"),
      row("2026-11-22T19:05:00.000Z", "p", "198.18.1.21", "198.19.0.1", 1, "tls_malformed"),
      row("2026-11-22T19:06:00.000Z", "q", "198.18.1.21", "x.other.org"),
  };
  auto suggestions = suggest_additions(rows, "p", suffixes);
  ASSERT_EQ(suggestions.size(), 1u);
  const auto& p = suggestions[0];
  ASSERT_EQ(p.domains.size(), 3u);  // co.uk, example.co.uk, other.org
  EXPECT_EQ(p.domains[0].registrable, "");
  EXPECT_EQ(p.domains[0].names, std::vector<std::string>{"co.uk"});
  EXPECT_FALSE(p.domains[0].wildcard_alternative);
  EXPECT_EQ(p.domains[1].registrable, "example.co.uk");
  EXPECT_EQ(p.domains[1].names.size(), 3u);
  EXPECT_TRUE(p.domains[1].wildcard_alternative);
  EXPECT_EQ(p.domains[1].evidence.denials, 4u);
  EXPECT_EQ(p.domains[1].evidence.first_seen, "2026-11-22T19:00:00.000Z");
  EXPECT_EQ(p.domains[1].evidence.last_seen, "2026-11-22T19:02:00.000Z");
  EXPECT_EQ(p.domains[1].evidence.sources.size(), 2u);
  EXPECT_FALSE(p.domains[2].wildcard_alternative);
  EXPECT_EQ(p.unfixable_denials, 1u);
  EXPECT_EQ(p.unfixable_reasons, std::vector<std::string>{"tls_malformed"});
}

TEST_F(Suggest, AddressesBecomeNetworksWithTheirPorts) {
  DenialRow a = row("2026-11-22T19:00:00.000Z", "p", "198.18.1.21", "198.19.7.5", 1, "ip_not_allowed");
  a.destination_type = "IP";
  a.dst_ip = "198.19.7.5";
  a.dst_port = 5432;
  DenialRow b = a;
  b.dst_port = 5433;
  DenialRow c = a;
  c.protocol = "UDP";
  c.dst_port = 53;
  c.reason = "dns_resolver_not_allowed";
  c.destination_type = "DNS";
  auto suggestions = suggest_additions({a, b, c}, "", suffixes);
  ASSERT_EQ(suggestions.size(), 1u);
  ASSERT_EQ(suggestions[0].networks.size(), 1u);
  EXPECT_EQ(suggestions[0].networks[0].cidr, "198.19.7.5/32");
  EXPECT_EQ(suggestions[0].networks[0].protocol, "TCP");
  EXPECT_EQ(suggestions[0].networks[0].ports, (std::vector<uint32_t>{5432, 5433}));
  ASSERT_EQ(suggestions[0].resolvers.size(), 1u);
  EXPECT_EQ(suggestions[0].resolvers[0].address, "198.19.7.5");
}

TEST(StorageSuggestion, EachProvidersNamesGiveTheirEntry) {
  auto entry = [](const char* host) {
    const std::optional<StorageEntry> found = storage_entry_of(host);
    return found ? storage_entry_text(*found) : std::string("(none)");
  };
  EXPECT_EQ(entry("acmedata.blob.core.windows.net"),
            "allowed_storage { azure_account { name: \"acmedata\" services: [BLOB] } }");
  EXPECT_EQ(entry("acmedata-secondary.dfs.core.windows.net"),
            "allowed_storage { azure_account { name: \"acmedata\" services: [DFS] secondary: true } }");
  EXPECT_EQ(entry("acmedata.z13.web.core.windows.net"),
            "allowed_storage { azure_account { name: \"acmedata\" services: [WEB] web_zone: \"z13\" } }");
  EXPECT_EQ(entry("acme-logs.s3.dualstack.eu-west-1.amazonaws.com"),
            "allowed_storage { s3_bucket { name: \"acme-logs\" regions: [\"eu-west-1\"] } }");
  EXPECT_EQ(entry("acme.logs.s3-eu-west-1.amazonaws.com"),
            "allowed_storage { s3_bucket { name: \"acme.logs\" regions: [\"eu-west-1\"] } }");
  EXPECT_EQ(entry("acme-logs.s3.amazonaws.com"),  // the legacy global name: us-east-1's
            "allowed_storage { s3_bucket { name: \"acme-logs\" regions: [\"us-east-1\"] } }");
  EXPECT_EQ(entry("reports-123456789012.s3-accesspoint-fips.us-east-2.amazonaws.com"),
            "allowed_storage { s3_access_point { name: \"reports\" account_id: \"123456789012\" "
            "regions: [\"us-east-2\"] } }");
  EXPECT_EQ(entry("acme-ml.storage.googleapis.com"), "allowed_storage { gcs_bucket { name: \"acme-ml\" } }");
  // No account or bucket allowed_storage can list: a shared endpoint, a website, no storage shape.
  EXPECT_EQ(entry("s3.eu-west-1.amazonaws.com"), "(none)");
  EXPECT_EQ(entry("storage.googleapis.com"), "(none)");
  EXPECT_EQ(entry("site.s3-website.eu-west-1.amazonaws.com"), "(none)");
  EXPECT_EQ(entry("pypi.org"), "(none)");
}

TEST_F(Suggest, StorageNamesBecomeOneAllowedStorageEntryAnOwner) {
  std::vector<DenialRow> rows = {
      row("2026-11-22T19:00:00.000Z", "p", "198.18.1.21", "acmedata.blob.core.windows.net"),
      row("2026-11-22T19:01:00.000Z", "p", "198.18.1.22", "acmedata.dfs.core.windows.net", 3),
      row("2026-11-22T19:02:00.000Z", "p", "198.18.1.21", "acme-logs.s3.eu-west-1.amazonaws.com"),
      row("2026-11-22T19:03:00.000Z", "p", "198.18.1.21", "acme-logs.s3.eu-central-1.amazonaws.com"),
      row("2026-11-22T19:04:00.000Z", "p", "198.18.1.21", "s3.eu-west-1.amazonaws.com", 1,
          "storage_path_style_not_allowed"),
      row("2026-11-22T19:05:00.000Z", "p", "198.18.1.21", "other.blob.core.windows.net", 1, "name_address_mismatch"),
  };
  for (auto& r : rows) r.destination_type = "STORAGE";
  auto suggestions = suggest_additions(rows, "p", suffixes);
  ASSERT_EQ(suggestions.size(), 1u);
  const auto& p = suggestions[0];
  EXPECT_TRUE(p.domains.empty());  // no "*.blob.core.windows.net", no raw host names
  ASSERT_EQ(p.storage.size(), 2u);
  EXPECT_EQ(storage_entry_text(p.storage[0].entry),
            "allowed_storage { azure_account { name: \"acmedata\" services: [BLOB, DFS] } }");
  EXPECT_EQ(p.storage[0].names, (std::vector<std::string>{"acmedata.blob.core.windows.net",
                                                          "acmedata.dfs.core.windows.net"}));
  EXPECT_EQ(p.storage[0].evidence.denials, 4u);
  EXPECT_EQ(storage_entry_text(p.storage[1].entry),
            "allowed_storage { s3_bucket { name: \"acme-logs\" regions: [\"eu-central-1\", \"eu-west-1\"] } }");
  // A path-style endpoint names no bucket, and a binding failure is no allow-list's to fix.
  EXPECT_EQ(p.unfixable_denials, 2u);
}

}  // namespace
}  // namespace sluice

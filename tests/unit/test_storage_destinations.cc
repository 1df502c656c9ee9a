// allowed_storage entries: the host names they expand to, and the validator's errors for names
// outside each provider's rules (file:line: field).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "controlplane/policy/policy_loader.h"
#include "controlplane/policy/public_suffix_list.h"
#include "controlplane/policy/storage_expansion.h"
#include "tests/unit/policy_error_expectations.h"

namespace sluice {
namespace {

const std::string kFile = "storage.textproto";

const PublicSuffixList& test_suffixes() {
  static const PublicSuffixList* list = [] {
    auto* loaded = new PublicSuffixList;
    EXPECT_TRUE(loaded->load(SLUICE_TEST_DATA "/public_suffix_list_small.dat")) << loaded->error();
    return loaded;
  }();
  return *list;
}

// A set whose one policy (line 2 on) holds `entries` from line 3 on.
LoadedPolicy load_storage(const std::string& entries) {
  return load_policy_text("policies {\n  name: \"p\" access_mode: RESTRICTED enforcement: ENFORCE\n" + entries +
                              "}\ndefault_policy: \"p\"\n",
                          kFile, test_suffixes());
}

StorageExpansion expand(const std::string& entry) {
  LoadedPolicy loaded = load_storage(entry);
  EXPECT_TRUE(loaded.ok()) << test::all_errors(loaded.errors);
  if (!loaded.ok() || loaded.policy_set.policies(0).allowed_storage_size() != 1) return {};
  return expand_storage_destination(loaded.policy_set.policies(0).allowed_storage(0));
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// ---- expansion ---------------------------------------------------------------------------------

TEST(StorageExpansion, AzureAccountGivesOneNameAServiceAndTheSecondaries) {
  const StorageExpansion out = expand(
      "  allowed_storage { azure_account { name: \"acmedata\" services: [BLOB, DFS, WEB] web_zone: \"z13\" "
      "secondary: true } }\n");
  EXPECT_EQ(out.provider, StorageProvider::azure);
  EXPECT_EQ(out.hosts, (std::vector<std::string>{
                           "acmedata.blob.core.windows.net", "acmedata.dfs.core.windows.net",
                           "acmedata.z13.web.core.windows.net", "acmedata-secondary.blob.core.windows.net",
                           "acmedata-secondary.dfs.core.windows.net", "acmedata-secondary.z13.web.core.windows.net"}));
  EXPECT_TRUE(out.path_style_endpoints.empty());
  EXPECT_TRUE(out.bucket.empty());
}

TEST(StorageExpansion, S3BucketGivesEveryEndpointOfEachRegion) {
  const StorageExpansion out =
      expand("  allowed_storage { s3_bucket { name: \"acme-logs\" regions: [\"eu-west-1\", \"us-east-1\"] } }\n");
  EXPECT_EQ(out.provider, StorageProvider::s3);
  EXPECT_EQ(out.bucket, "acme-logs");
  for (const char* name :
       {"acme-logs.s3.amazonaws.com", "acme-logs.s3.eu-west-1.amazonaws.com", "acme-logs.s3.dualstack.eu-west-1.amazonaws.com",
        "acme-logs.s3-fips.eu-west-1.amazonaws.com", "acme-logs.s3-fips.dualstack.eu-west-1.amazonaws.com",
        "acme-logs.s3-eu-west-1.amazonaws.com", "acme-logs.s3.us-east-1.amazonaws.com"})
    EXPECT_TRUE(contains(out.hosts, name)) << name;
  EXPECT_EQ(out.hosts.size(), 11u);  // the global name and five a region
  for (const char* name : {"s3.amazonaws.com", "s3.eu-west-1.amazonaws.com", "s3.dualstack.us-east-1.amazonaws.com"})
    EXPECT_TRUE(contains(out.path_style_endpoints, name)) << name;
  for (const std::string& name : out.hosts) EXPECT_EQ(name.find('*'), std::string::npos) << name;
}

TEST(StorageExpansion, AccessPointGivesItsFourNamesARegion) {
  const StorageExpansion out = expand(
      "  allowed_storage { s3_access_point { name: \"reports\" account_id: \"123456789012\" regions: \"eu-west-1\" } }\n");
  EXPECT_EQ(out.hosts, (std::vector<std::string>{
                           "reports-123456789012.s3-accesspoint.eu-west-1.amazonaws.com",
                           "reports-123456789012.s3-accesspoint.dualstack.eu-west-1.amazonaws.com",
                           "reports-123456789012.s3-accesspoint-fips.eu-west-1.amazonaws.com",
                           "reports-123456789012.s3-accesspoint-fips.dualstack.eu-west-1.amazonaws.com"}));
  EXPECT_TRUE(out.path_style_endpoints.empty());
}

TEST(StorageExpansion, GcsBucketGivesItsNameAndTheSharedEndpoint) {
  const StorageExpansion out = expand("  allowed_storage { gcs_bucket { name: \"acme-ml\" } }\n");
  EXPECT_EQ(out.hosts, std::vector<std::string>{"acme-ml.storage.googleapis.com"});
  EXPECT_EQ(out.path_style_endpoints, std::vector<std::string>{"storage.googleapis.com"});
  EXPECT_EQ(out.bucket, "acme-ml");
}

TEST(StorageExpansion, EveryNameIsOfItsProvidersShape) {
  const StorageExpansion s3 = expand("  allowed_storage { s3_bucket { name: \"a.b-c\" regions: \"ap-southeast-4\" } }\n");
  for (const std::string& name : s3.hosts) {
    const StorageHost host = classify_storage_host(name);
    EXPECT_EQ(host.provider, StorageProvider::s3) << name;
    EXPECT_EQ(host.owner, "a.b-c") << name;
  }
  for (const std::string& name : s3.path_style_endpoints) EXPECT_TRUE(classify_storage_host(name).path_style) << name;
}

// ---- validation --------------------------------------------------------------------------------

void expect_errors(const std::string& entries, const std::vector<test::Expected>& expected) {
  test::expect_errors(load_storage(entries).errors, expected, kFile);
}

TEST(StorageValidation, AzureAccountNames) {
  expect_errors("  allowed_storage { azure_account { name: \"Acme\" services: BLOB } }\n"
                "  allowed_storage { azure_account { name: \"ab\" services: BLOB } }\n"
                "  allowed_storage { azure_account { name: \"acme-data\" services: BLOB } }\n"
                "  allowed_storage { azure_account { name: \"abcdefghijklmnopqrstuvwxy\" services: BLOB } }\n",
                {{3, "policies[0].allowed_storage[0].azure_account.name", "only lower-case letters and digits"},
                 {4, "policies[0].allowed_storage[1].azure_account.name", "2 characters long; it must be 3-24"},
                 {5, "policies[0].allowed_storage[2].azure_account.name", "only lower-case letters and digits"},
                 {6, "policies[0].allowed_storage[3].azure_account.name", "25 characters long"}});
}

TEST(StorageValidation, AzureServicesAndWebZone) {
  expect_errors("  allowed_storage { azure_account { name: \"acme\" } }\n"
                "  allowed_storage { azure_account { name: \"acmf\" services: [BLOB, BLOB] } }\n"
                "  allowed_storage { azure_account { name: \"acmg\" services: WEB } }\n"
                "  allowed_storage { azure_account { name: \"acmh\" services: WEB web_zone: \"13\" } }\n"
                "  allowed_storage { azure_account { name: \"acmi\" services: BLOB web_zone: \"z1\" } }\n"
                "  allowed_storage { azure_account { name: \"acmj\" services: BLOB } allow_path_style_endpoints: true }\n",
                {{3, "policies[0].allowed_storage[0].azure_account.services", "missing services"},
                 {4, "policies[0].allowed_storage[1].azure_account.services[1]", "duplicate service BLOB"},
                 {5, "policies[0].allowed_storage[2].azure_account.web_zone", "missing web_zone"},
                 {6, "policies[0].allowed_storage[3].azure_account.web_zone", "is not a zone"},
                 {7, "policies[0].allowed_storage[4].azure_account.web_zone", "only with the WEB service"},
                 {8, "policies[0].allowed_storage[5].allow_path_style_endpoints", "only S3 and GCS buckets"}});
}

TEST(StorageValidation, S3BucketNamesFollowS3Rules) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ab", "2 characters long; it must be 3-63"},
      {"Acme-logs", "only lower-case letters, digits, dots and hyphens"},
      {"acme_logs", "only lower-case letters, digits, dots and hyphens"},
      {"-acme", "begin and end with a letter or digit"},
      {"acme.", "begin and end with a letter or digit"},
      {"acme..logs", "two adjacent dots"},
      {"198.18.5.4", "formatted as an IP address"},
      {"xn--acme", "must not start with \"xn--\""},
      {"sthree-acme", "must not start with \"sthree-\""},
      {"acme-s3alias", "must not end with \"-s3alias\""},
      {"acme--ol-s3", "must not end with \"--ol-s3\""},
      {std::string(64, 'a'), "64 characters long"},
  };
  std::string entries;
  std::vector<test::Expected> expected;
  for (size_t i = 0; i < cases.size(); ++i) {
    entries += "  allowed_storage { s3_bucket { name: \"" + cases[i].first + "\" regions: \"eu-west-1\" } }\n";
    expected.push_back({int(3 + i), "policies[0].allowed_storage[" + std::to_string(i) + "].s3_bucket.name",
                        cases[i].second});
  }
  expect_errors(entries, expected);
}

TEST(StorageValidation, S3RegionsAccessPointsAndAccounts) {
  expect_errors("  allowed_storage { s3_bucket { name: \"acme-logs\" } }\n"
                "  allowed_storage { s3_bucket { name: \"acme-logz\" regions: [\"eu-west-1\", \"EU-WEST-1\", \"eu-west-1\"] } }\n"
                "  allowed_storage { s3_access_point { name: \"-reports\" account_id: \"12345\" regions: \"eu-west-1\" } }\n",
                {{3, "policies[0].allowed_storage[0].s3_bucket.regions", "missing regions"},
                 {4, "policies[0].allowed_storage[1].s3_bucket.regions[1]", "is not an AWS region"},
                 {4, "policies[0].allowed_storage[1].s3_bucket.regions[2]", "duplicate region"},
                 {5, "policies[0].allowed_storage[2].s3_access_point.name", "must not begin or end with a hyphen"},
                 {5, "policies[0].allowed_storage[2].s3_access_point.account_id", "12-digit AWS account ID"}});
}

TEST(StorageValidation, GcsBucketNamesFollowCloudStorageRules) {
  expect_errors("  allowed_storage { gcs_bucket { name: \"goog-data\" } }\n"
                "  allowed_storage { gcs_bucket { name: \"my-google-data\" } }\n"
                "  allowed_storage { gcs_bucket { name: \"Acme\" } }\n"
                "  allowed_storage { gcs_bucket { name: \"198.19.2.3\" } }\n"
                "  allowed_storage { gcs_bucket { name: \"" + std::string(64, 'a') + "\" } }\n",
                {{3, "policies[0].allowed_storage[0].gcs_bucket.name", "must not start with \"goog\""},
                 {4, "policies[0].allowed_storage[1].gcs_bucket.name", "must not contain \"google\""},
                 {5, "policies[0].allowed_storage[2].gcs_bucket.name", "only lower-case letters"},
                 {6, "policies[0].allowed_storage[3].gcs_bucket.name", "formatted as an IP address"},
                 {7, "policies[0].allowed_storage[4].gcs_bucket.name", "64 characters long; it must be 3-63"}});
}

TEST(StorageValidation, EmptyAndDuplicateEntriesAndFullMode) {
  expect_errors("  allowed_storage { description: \"nothing\" }\n"
                "  allowed_storage { gcs_bucket { name: \"acme-ml\" } }\n"
                "  allowed_storage { gcs_bucket { name: \"acme-ml\" } allow_path_style_endpoints: true }\n",
                {{3, "policies[0].allowed_storage[0]", "names no storage"},
                 {5, "policies[0].allowed_storage[2]", "duplicate storage entry for \"acme-ml.storage.googleapis.com\", first at line 4"}});
  const LoadedPolicy full = load_policy_text(
      "policies {\n  name: \"p\" access_mode: FULL enforcement: ENFORCE\n"
      "  allowed_storage { gcs_bucket { name: \"acme-ml\" } }\n}\ndefault_policy: \"p\"\n",
      kFile, test_suffixes());
  test::expect_errors(full.errors, {{3, "policies[0].allowed_storage", "access_mode FULL allows everything"}}, kFile);
}

TEST(StorageValidation, ValidEntriesPass) {
  const LoadedPolicy loaded =
      load_storage("  allowed_storage { azure_account { name: \"acmedata\" services: [BLOB, DFS] secondary: true } }\n"
                   "  allowed_storage { s3_bucket { name: \"acme.logs-2026\" regions: \"us-gov-west-1\" } "
                   "allow_path_style_endpoints: true }\n"
                   "  allowed_storage { s3_access_point { name: \"reports\" account_id: \"123456789012\" regions: \"eu-west-1\" } }\n"
                   "  allowed_storage { gcs_bucket { name: \"acme_ml.data\" } }\n");
  EXPECT_TRUE(loaded.ok()) << test::all_errors(loaded.errors);
}

}  // namespace
}  // namespace sluice

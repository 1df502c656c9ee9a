// Service tag files (Azure ServiceTags_Public_*.json, AWS ip-ranges.json) in their published
// formats: parsing, malformed files, and a policy's allowed_service_tags checked and expanded.
#include <gtest/gtest.h>

#include <string>

#include "controlplane/policy/policy_loader.h"
#include "controlplane/policy/public_suffix_list.h"
#include "controlplane/policy/service_tag_catalog.h"
#include "controlplane/policy/service_tag_file.h"
#include "tests/unit/policy_error_expectations.h"

namespace sluice {
namespace {

const char* kAzure = R"({
  "changeNumber": 312,
  "cloud": "Public",
  "values": [
    {"name": "Storage.WestEurope", "id": "Storage.WestEurope",
     "properties": {"changeNumber": 41, "region": "westeurope", "regionId": 18, "platform": "Azure",
                    "systemService": "AzureStorage",
                    "addressPrefixes": ["198.18.10.0/24", "198.18.11.0/25", "2001:db8:10::/48"],
                    "networkFeatures": ["API", "NSG"]}},
    {"name": "AzureDatabricks", "id": "AzureDatabricks",
     "properties": {"changeNumber": 7, "region": "", "platform": "Azure", "systemService": "AzureDatabricks",
                    "addressPrefixes": ["198.18.20.0/24", "198.18.10.0/24"]}}
  ]
})";

const char* kAws = R"({
  "syncToken": "1764950400",
  "createDate": "2025-12-05-16-00-00",
  "prefixes": [
    {"ip_prefix": "198.18.30.0/24", "region": "eu-west-1", "service": "AMAZON", "network_border_group": "eu-west-1"},
    {"ip_prefix": "198.18.30.0/24", "region": "eu-west-1", "service": "S3", "network_border_group": "eu-west-1"},
    {"ip_prefix": "198.18.31.0/24", "region": "us-east-1", "service": "S3", "network_border_group": "us-east-1"}
  ],
  "ipv6_prefixes": [
    {"ipv6_prefix": "2001:db8:30::/56", "region": "eu-west-1", "service": "S3", "network_border_group": "eu-west-1"}
  ]
})";

std::string formatted(const std::vector<Cidr>& prefixes) {
  std::string text;
  for (const auto& cidr : prefixes) text += (text.empty() ? "" : " ") + format_cidr(cidr);
  return text;
}

TEST(ServiceTagFile, ParsesAzurePublishedFormat) {
  ServiceTagFile file;
  std::string error;
  ASSERT_TRUE(parse_service_tag_file(kAzure, file, error)) << error;
  EXPECT_EQ(file.provider, ServiceTagProvider::azure);
  EXPECT_EQ(file.version, "312");
  ASSERT_EQ(file.tags.size(), 2u);
  EXPECT_EQ(formatted(file.tags.at("storage.westeurope")), "198.18.10.0/24 198.18.11.0/25 2001:db8:10::/48");
  EXPECT_EQ(formatted(file.tags.at("azuredatabricks")), "198.18.20.0/24 198.18.10.0/24");
  EXPECT_EQ(file.prefix_count, 4u);  // 198.18.10.0/24 is in both tags
}

TEST(ServiceTagFile, ParsesAwsPublishedFormatByServiceAndRegion) {
  ServiceTagFile file;
  std::string error;
  ASSERT_TRUE(parse_service_tag_file(kAws, file, error)) << error;
  EXPECT_EQ(file.provider, ServiceTagProvider::aws);
  EXPECT_EQ(file.version, "1764950400");
  EXPECT_EQ(formatted(file.tags.at("aws:s3")), "198.18.30.0/24 198.18.31.0/24 2001:db8:30::/56");
  EXPECT_EQ(formatted(file.tags.at("aws:s3:eu-west-1")), "198.18.30.0/24 2001:db8:30::/56");
  EXPECT_EQ(formatted(file.tags.at("aws:s3:us-east-1")), "198.18.31.0/24");
  EXPECT_EQ(formatted(file.tags.at("aws:amazon:eu-west-1")), "198.18.30.0/24");
  EXPECT_EQ(file.tags.count("aws:ec2"), 0u);
  EXPECT_EQ(file.prefix_count, 3u);
}

struct Malformed {
  const char* text;
  const char* error_part;
};

class ServiceTagFileMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(ServiceTagFileMalformed, IsRefusedWithWhereAndWhy) {
  ServiceTagFile file;
  std::string error;
  EXPECT_FALSE(parse_service_tag_file(GetParam().text, file, error));
  EXPECT_NE(error.find(GetParam().error_part), std::string::npos) << error;
  EXPECT_TRUE(file.tags.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, ServiceTagFileMalformed,
    ::testing::Values(
        Malformed{"", "not valid JSON"}, Malformed{"{\"values\": [", "not valid JSON"},
        Malformed{"[1, 2]", "not a JSON object"}, Malformed{"{\"cloud\": \"Public\"}", "neither an Azure"},
        Malformed{R"({"values": []})", "changeNumber: missing"},
        Malformed{R"({"changeNumber": -3, "values": []})", "changeNumber: missing or not a number"},
        Malformed{R"({"changeNumber": 1, "values": {}})", "values: missing or not an array"},
        Malformed{R"({"changeNumber": 1, "values": [7]})", "values[0]: not an object"},
        Malformed{R"({"changeNumber": 1, "values": [{"properties": {"addressPrefixes": []}}]})", "values[0].name"},
        Malformed{R"({"changeNumber": 1, "values": [{"name": "a b", "properties": {"addressPrefixes": []}}]})",
                  "values[0].name: \"a b\""},
        Malformed{R"({"changeNumber": 1, "values": [{"name": "A"}]})", "values[0].properties: missing"},
        Malformed{R"({"changeNumber": 1, "values": [{"name": "A", "properties": {}}]})",
                  "values[0].properties.addressPrefixes: missing"},
        Malformed{R"({"changeNumber": 1, "values": [{"name": "A", "properties": {"addressPrefixes": [5]}}]})",
                  "addressPrefixes[0]: not a string"},
        Malformed{R"({"changeNumber": 1, "values": [{"name": "A", "properties": {"addressPrefixes": ["198.18.0.0/33"]}}]})",
                  "addressPrefixes[0]: \"198.18.0.0/33\""},
        Malformed{R"({"changeNumber": 1, "values": [{"name": "A", "properties": {"addressPrefixes": ["198.18.0.1/24"]}}]})",
                  "host bits"},
        Malformed{R"({"changeNumber": 1, "values": [{"name": "A", "properties": {"addressPrefixes": ["198.18.0.1"]}}]})",
                  "not a CIDR prefix"},
        Malformed{R"({"changeNumber": 1, "values": [{"name": "A", "properties": {"addressPrefixes": []}},
                                                    {"name": "a", "properties": {"addressPrefixes": []}}]})",
                  "values[1].name: \"a\": listed twice"},
        Malformed{R"({"syncToken": 17, "prefixes": []})", "syncToken: missing"},
        Malformed{R"({"syncToken": "17x", "prefixes": []})", "not a publication time"},
        Malformed{R"({"syncToken": "17", "prefixes": {}})", "prefixes: not an array"},
        Malformed{R"({"syncToken": "17", "prefixes": [{"region": "x", "service": "S3"}]})", "prefixes[0].ip_prefix"},
        Malformed{R"({"syncToken": "17", "prefixes": [{"ip_prefix": "198.18.0.0/24", "region": "x"}]})",
                  "prefixes[0].service"},
        Malformed{R"({"syncToken": "17", "prefixes": [{"ip_prefix": "198.18.0.0/24", "service": "S3", "region": "a:b"}]})",
                  "prefixes[0].region"},
        Malformed{R"({"syncToken": "17", "ipv6_prefixes": [{"ipv6_prefix": "2001:db8::/129", "service": "S3", "region": "x"}]})",
                  "ipv6_prefixes[0].ipv6_prefix"}));

class ServiceTagPolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(suffixes_.load(SLUICE_TEST_DATA "/public_suffix_list_small.dat")) << suffixes_.error();
    PolicyErrors errors;
    ASSERT_TRUE(catalog_.add_text(kAzure, "ServiceTags_Public.json", errors));
    ASSERT_TRUE(catalog_.add_text(kAws, "ip-ranges.json", errors));
  }
  LoadedPolicy load(const std::string& tags, const ServiceTagCatalog* catalog) {
    return load_policy_text(R"(default_policy: "p"
policies {
  name: "p"
  access_mode: RESTRICTED
  enforcement: ENFORCE
)" + tags + "}\n",
                            "t.textproto", suffixes_, catalog);
  }
  PublicSuffixList suffixes_;
  ServiceTagCatalog catalog_;
};

TEST_F(ServiceTagPolicy, ExpandsTagsIntoNetworksWithTheirPortsAfterThePolicysOwn) {
  LoadedPolicy loaded = load(R"(  allowed_networks { cidr: "198.18.99.0/24" }
  allowed_service_tags { tag: "storage.westeurope" protocol: TCP ports: "443" }
  allowed_service_tags { tag: "AWS:S3:eu-west-1" protocol: UDP ports: "53" ports: "5000-5010" }
)",
                             &catalog_);
  ASSERT_TRUE(loaded.ok()) << test::all_errors(loaded.errors);
  const auto& policy = loaded.policy_set.policies(0);
  EXPECT_EQ(policy.allowed_service_tags_size(), 0);
  ASSERT_EQ(policy.allowed_networks_size(), 1 + 3 + 2);
  EXPECT_EQ(policy.allowed_networks(0).cidr(), "198.18.99.0/24");
  EXPECT_EQ(policy.allowed_networks(1).cidr(), "198.18.10.0/24");
  EXPECT_EQ(policy.allowed_networks(3).cidr(), "2001:db8:10::/48");
  EXPECT_EQ(policy.allowed_networks(3).protocol(), policy::TCP);
  EXPECT_EQ(policy.allowed_networks(3).ports(0), "443");
  EXPECT_EQ(policy.allowed_networks(3).description(), "service tag storage.westeurope");
  EXPECT_EQ(policy.allowed_networks(5).cidr(), "2001:db8:30::/56");
  EXPECT_EQ(policy.allowed_networks(5).protocol(), policy::UDP);
  ASSERT_EQ(policy.allowed_networks(5).ports_size(), 2);
  EXPECT_EQ(policy.allowed_networks(5).ports(1), "5000-5010");
}

TEST_F(ServiceTagPolicy, UnknownTagIsAnErrorAtItsLine) {
  LoadedPolicy loaded = load(R"(  allowed_service_tags { tag: "Storage.WestEurope" }
  allowed_service_tags { tag: "Storage.NorthPole" protocol: TCP ports: "443" }
)",
                             &catalog_);
  test::expect_errors(loaded.errors,
                      {{7, "policies[0].allowed_service_tags[1].tag",
                        "unknown service tag \"Storage.NorthPole\" (not in ServiceTags_Public.json, ip-ranges.json)"}},
                      "t.textproto");
}

TEST_F(ServiceTagPolicy, TagWithoutTagFilesSaysSo) {
  LoadedPolicy loaded = load("  allowed_service_tags { tag: \"AzureDatabricks\" }\n", nullptr);
  test::expect_errors(loaded.errors,
                      {{6, "policies[0].allowed_service_tags[0].tag", "no service tag files are loaded"}},
                      "t.textproto");
}

TEST_F(ServiceTagPolicy, PortsAndProtocolAreCheckedAsForNetworks) {
  LoadedPolicy loaded = load(R"(  allowed_service_tags { tag: "AzureDatabricks" protocol: ICMP ports: "443" }
  allowed_service_tags { tag: "AzureDatabricks" protocol: TCP ports: "0" ports: "9-8" }
  allowed_service_tags { }
)",
                             &catalog_);
  test::expect_errors(loaded.errors,
                      {{6, "policies[0].allowed_service_tags[0].ports", "only to protocol TCP or UDP"},
                       {7, "policies[0].allowed_service_tags[1].ports[0]", "\"0\": not a port"},
                       {7, "policies[0].allowed_service_tags[1].ports[1]", "range starts above its end"},
                       {8, "policies[0].allowed_service_tags[2].tag", "missing tag"}},
                      "t.textproto");
}

TEST_F(ServiceTagPolicy, MoreNetworkRulesThanAPolicyCanNumberIsAnError) {
  std::string prefixes;
  for (int i = 0; i < 65536; ++i)
    prefixes += std::string(i ? "," : "") + "\"198.18." + std::to_string(i / 256) + "." + std::to_string(i % 256) + "/32\"";
  ServiceTagCatalog catalog;
  PolicyErrors errors;
  ASSERT_TRUE(catalog.add_text(R"({"changeNumber": 9, "values": [{"name": "AzureCloud", "properties": {"addressPrefixes": [)" +
                                   prefixes + "]}}]}",
                               "big.json", errors))
      << test::all_errors(errors);
  LoadedPolicy loaded = load("  allowed_service_tags { tag: \"AzureCloud\" }\n", &catalog);
  test::expect_errors(loaded.errors,
                      {{6, "policies[0].allowed_service_tags", "expand to 65536 network rules"}}, "t.textproto");
}

TEST_F(ServiceTagPolicy, RuleTagsBecomeOneIpGroupATagWithItsPrefixes) {
  LoadedPolicy loaded = load(R"(  rules { name: "dbx" priority: 10 action: ALLOW service_tags: "AzureDatabricks" protocol: TCP ports: "443" }
  rules { name: "s3" priority: 20 action: DENY service_tags: ["AWS:S3:eu-west-1", "AzureDatabricks"] networks: "198.18.99.0/24" }
)",
                             &catalog_);
  ASSERT_TRUE(loaded.ok()) << test::all_errors(loaded.errors);
  const auto& set = loaded.policy_set;
  const auto& dbx = set.policies(0).rules(0);
  EXPECT_EQ(dbx.service_tags_size(), 0);
  ASSERT_EQ(dbx.ip_groups_size(), 1);
  EXPECT_EQ(dbx.ip_groups(0), "service tag AzureDatabricks");
  EXPECT_EQ(dbx.ports(0), "443");  // the rule's own protocol and ports narrow every prefix
  const auto& s3 = set.policies(0).rules(1);
  ASSERT_EQ(s3.ip_groups_size(), 2);
  EXPECT_EQ(s3.ip_groups(0), "service tag AWS:S3:eu-west-1");
  EXPECT_EQ(s3.ip_groups(1), "service tag AzureDatabricks");
  EXPECT_EQ(s3.networks(0), "198.18.99.0/24");
  ASSERT_EQ(set.ip_groups_size(), 2);  // one group a tag, however many rules name it
  EXPECT_EQ(set.ip_groups(0).name(), "service tag AzureDatabricks");
  ASSERT_EQ(set.ip_groups(0).networks_size(), 2);
  EXPECT_EQ(set.ip_groups(0).networks(0).cidr(), "198.18.20.0/24");
  EXPECT_EQ(set.ip_groups(0).networks(0).protocol(), policy::PROTOCOL_ANY);
  EXPECT_EQ(set.ip_groups(1).networks(1).cidr(), "2001:db8:30::/56");
}

TEST_F(ServiceTagPolicy, UnknownRuleTagIsAnErrorAtItsLine) {
  LoadedPolicy loaded = load(R"(  rules { name: "a" priority: 10 action: ALLOW service_tags: "AzureDatabricks" }
  rules { name: "b" priority: 20 action: DENY
          service_tags: ["Storage.WestEurope", "Storage.NorthPole"] }
)",
                             &catalog_);
  test::expect_errors(loaded.errors,
                      {{8, "policies[0].rules[1].service_tags[1]",
                        "unknown service tag \"Storage.NorthPole\" (not in ServiceTags_Public.json, ip-ranges.json)"}},
                      "t.textproto");
  LoadedPolicy without = load("  rules { name: \"a\" priority: 10 action: ALLOW service_tags: \"AzureDatabricks\" }\n",
                              nullptr);
  test::expect_errors(without.errors,
                      {{6, "policies[0].rules[0].service_tags[0]", "no service tag files are loaded"}}, "t.textproto");
}

TEST_F(ServiceTagPolicy, RuleTagsAreShadowedAndShadowByTheirPrefixes) {
  LoadedPolicy loaded = load(R"(  allowed_networks { cidr: "198.18.20.0/25" protocol: TCP }
  rules { name: "wide" priority: 10 action: DENY networks: "198.18.0.0/16" protocol: TCP }
  rules { name: "dbx" priority: 20 action: ALLOW service_tags: "AzureDatabricks" protocol: TCP ports: "443" }
  rules { name: "s3" priority: 30 action: ALLOW service_tags: "AWS:S3:eu-west-1" protocol: TCP }
)",
                             &catalog_);
  ASSERT_TRUE(loaded.ok()) << test::all_errors(loaded.errors);
  // dbx's prefixes all lie in 198.18.0.0/16; s3's IPv6 prefix does not, so it can still allow.
  test::expect_errors(loaded.warnings,
                      {{6, "policies[0].allowed_networks[0]", "DENY rule \"wide\" (priority 10) at line 7"},
                       {8, "policies[0].rules[1]",
                        "ALLOW rule \"dbx\" (priority 20) never allows anything: DENY rule \"wide\" (priority 10) at line 7"}},
                      "t.textproto");

  LoadedPolicy by_tag = load(R"(  allowed_networks { cidr: "198.18.20.7/32" }
  rules { name: "no-dbx" priority: 10 action: DENY service_tags: "AzureDatabricks" }
)",
                             &catalog_);
  ASSERT_TRUE(by_tag.ok()) << test::all_errors(by_tag.errors);
  test::expect_errors(by_tag.warnings,
                      {{6, "policies[0].allowed_networks[0]", "DENY rule \"no-dbx\" (priority 10) at line 7"}},
                      "t.textproto");
}

TEST(ServiceTagCatalog, MalformedOrMissingFileNamesTheFileAndLoadsNothing) {
  ServiceTagCatalog catalog;
  PolicyErrors errors;
  const std::string good = ::testing::TempDir() + "sluice_tags_good.json";
  const std::string bad = ::testing::TempDir() + "sluice_tags_bad.json";
  {
    FILE* out = std::fopen(good.c_str(), "w");
    std::fputs(kAws, out);
    std::fclose(out);
    out = std::fopen(bad.c_str(), "w");
    std::fputs(R"({"changeNumber": 1, "values": [{"name": "A"}]})", out);
    std::fclose(out);
  }
  EXPECT_FALSE(catalog.load({good, bad, "/nonexistent/ip-ranges.json"}, errors));
  ASSERT_EQ(errors.size(), 2u) << test::all_errors(errors);
  EXPECT_EQ(errors[0].file, bad);
  EXPECT_NE(errors[0].message.find("not a service tag file: values[0].properties: missing"), std::string::npos);
  EXPECT_EQ(errors[1].file, "/nonexistent/ip-ranges.json");
  EXPECT_NE(errors[1].message.find("cannot read"), std::string::npos);
  EXPECT_TRUE(catalog.empty());

  errors.clear();
  ASSERT_TRUE(catalog.load({good}, errors));
  ASSERT_EQ(catalog.summaries().size(), 1u);
  EXPECT_EQ(catalog.summaries()[0].provider, "aws");
  EXPECT_EQ(catalog.summaries()[0].version, "1764950400");
  EXPECT_EQ(catalog.summaries()[0].prefixes, 3u);
}

}  // namespace
}  // namespace sluice

#include "controlplane/policy/policy_validator.h"
#include "controlplane/policy/quoted_text.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "controlplane/policy/policy_loader.h"
#include "controlplane/policy/public_suffix_list.h"
#include "tests/unit/policy_error_expectations.h"

namespace sluice {
namespace {

using sluice::policy::PolicySet;

const std::string kFile = "test.textproto";

const PublicSuffixList& test_suffixes() {
  static const PublicSuffixList* list = [] {
    auto* loaded = new PublicSuffixList;  // lives as long as the test binary
    EXPECT_TRUE(loaded->load(SLUICE_TEST_DATA "/public_suffix_list_small.dat")) << loaded->error();
    return loaded;
  }();
  return *list;
}

LoadedPolicy load(const std::string& text) { return load_policy_text(text, kFile, test_suffixes()); }

using test::all_errors;
using test::Expected;

// Exactly these errors, in this order, each in `file` (kFile unless said).
void expect_errors(const PolicyErrors& errors, const std::vector<Expected>& expected,
                   const std::string& file = kFile) {
  test::expect_errors(errors, expected, file);
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "sluice_policy_" + std::to_string(getpid()) + "_" + name;
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

// ---- accepted sets -----------------------------------------------------------------------------

TEST(PolicyValidator, AcceptsCompleteTextprotoWithV4AndV6Attachments) {
  const LoadedPolicy loaded = load_policy_file(SLUICE_TEST_DATA "/valid_policy.textproto", test_suffixes());
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded.errors);
  const PolicySet& set = loaded.policy_set;
  ASSERT_EQ(set.policies_size(), 2);
  EXPECT_EQ(set.policies(0).allowed_networks_size(), 3);
  ASSERT_EQ(set.attachments_size(), 3);
  EXPECT_EQ(set.attachments(0).source_cidr(), "198.18.1.0/24");
  EXPECT_EQ(set.attachments(1).source_cidr(), "2001:db8:1::/64");
  EXPECT_EQ(set.attachments(1).enforcement_override(), policy::DRY_RUN);
  EXPECT_EQ(set.default_policy(), "restricted-etl");
  EXPECT_EQ(set.tls_ports_size(), 2);
}

TEST(PolicyValidator, AcceptsMinimalSet) {
  const LoadedPolicy loaded = load(R"(policies { name: "web" access_mode: RESTRICTED enforcement: ENFORCE }
default_policy: "web"
)");
  EXPECT_TRUE(loaded.ok()) << all_errors(loaded.errors);
}

TEST(PolicyValidator, AcceptsWildcardsBelowRegistrableDomainsAndPrivateSuffixes) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: DRY_RUN
  allowed_domains: "*.example.co.uk"
  allowed_domains: ".example.com"
  allowed_domains: "www.ck"
  allowed_domains: "*.city.kawasaki.jp"
  allowed_domains: "*.github.io"
  allowed_domains: "*.example.com"
}
default_policy: "web"
)");
  EXPECT_TRUE(loaded.ok()) << all_errors(loaded.errors);
}

// ---- file handling -----------------------------------------------------------------------------

TEST(PolicyLoader, BinaryRoundTrip) {
  const LoadedPolicy text = load_policy_file(SLUICE_TEST_DATA "/valid_policy.textproto", test_suffixes());
  ASSERT_TRUE(text.ok()) << all_errors(text.errors);
  for (const char* extension : {".pb", ".binpb"}) {
    const std::string path = temp_path(std::string("round_trip") + extension);
    write_file(path, text.policy_set.SerializeAsString());
    const LoadedPolicy binary = load_policy_file(path, test_suffixes());
    EXPECT_TRUE(binary.ok()) << all_errors(binary.errors);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(binary.policy_set, text.policy_set)) << extension;
    std::remove(path.c_str());
  }
}

TEST(PolicyLoader, BinaryErrorsHaveNoLine) {
  PolicySet set;
  policy::Policy* web = set.add_policies();
  web->set_name("web");
  web->set_access_mode(policy::RESTRICTED);
  web->set_enforcement(policy::ENFORCE);
  set.set_default_policy("nope");
  const std::string path = temp_path("unknown_default.pb");
  write_file(path, set.SerializeAsString());

  const LoadedPolicy loaded = load_policy_file(path, test_suffixes());
  expect_errors(loaded.errors, {{0, "default_policy", "unknown policy \"nope\""}}, path);
  EXPECT_EQ(loaded.errors[0].to_string(), path + ": default_policy: unknown policy \"nope\"");
  std::remove(path.c_str());
}

TEST(PolicyLoader, BinaryGarbageIsRefused) {
  const std::string path = temp_path("garbage.binpb");
  write_file(path, "\xff\xff\xff\xff");
  const LoadedPolicy loaded = load_policy_file(path, test_suffixes());
  expect_errors(loaded.errors, {{0, "", "wire format"}}, path);
  std::remove(path.c_str());
}

TEST(PolicyLoader, UnknownExtensionNamesTheAcceptedOnes) {
  const LoadedPolicy loaded = load_policy_file("policy.json", test_suffixes());
  expect_errors(loaded.errors, {{0, "", ".textproto"}}, "policy.json");
  for (const char* extension : {".txtpb", ".pbtxt", ".pb", ".binpb"}) {
    EXPECT_NE(loaded.errors[0].message.find(extension), std::string::npos) << extension;
  }
}

TEST(PolicyLoader, UnreadableFileSaysWhy) {
  const std::string missing = temp_path("missing.textproto");
  expect_errors(load_policy_file(missing, test_suffixes()).errors, {{0, "", std::strerror(ENOENT)}}, missing);

  const std::string directory = temp_path("directory.textproto");
  ASSERT_EQ(mkdir(directory.c_str(), 0700), 0);
  expect_errors(load_policy_file(directory, test_suffixes()).errors, {{0, "", std::strerror(EISDIR)}}, directory);
  rmdir(directory.c_str());
}

TEST(PolicyLoader, SyntaxErrorReportsLineAndColumn) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode RESTRICTED
}
)");
  expect_errors(loaded.errors, {{3, "", "column 15"}});
  EXPECT_NE(loaded.errors[0].message.find("Expected \":\""), std::string::npos) << loaded.errors[0].message;
  EXPECT_EQ(loaded.errors[0].to_string().rfind("test.textproto:3: syntax error at column 15: ", 0), 0u)
      << loaded.errors[0].to_string();
}

TEST(PolicyLoader, UnknownFieldIsASyntaxError) {
  const LoadedPolicy loaded = load(R"(default_policy: "web"
polices { name: "web" }
)");
  expect_errors(loaded.errors, {{2, "", "no field named \"polices\""}});
}

// ---- policies ----------------------------------------------------------------------------------

TEST(PolicyValidator, NeedsAtLeastOnePolicy) {
  const LoadedPolicy loaded = load("name: \"empty\"\n");
  expect_errors(loaded.errors, {{0, "policies", "no policies"}, {0, "default_policy", "missing default_policy"}});
}

TEST(PolicyValidator, AtMost4096Policies) {
  std::string text = "default_policy: \"p0\"\n";
  for (int i = 0; i <= 4096; ++i) {
    text += "policies { name: \"p" + std::to_string(i) + "\" access_mode: FULL enforcement: ENFORCE }\n";
  }
  expect_errors(load(text).errors, {{4098, "policies[4096]", "too many policies (4097); at most 4096"}});
  text.erase(text.rfind("policies {"));
  EXPECT_TRUE(load(text).ok());
}

TEST(PolicyValidator, PolicyNames) {
  const LoadedPolicy loaded = load(R"(policies {
  access_mode: FULL
  enforcement: ENFORCE
}
policies { name: "Web Tier" access_mode: FULL enforcement: ENFORCE }
policies { name: "web" access_mode: FULL enforcement: ENFORCE }
policies {
  access_mode: FULL
  name: "web"
  enforcement: DRY_RUN
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   // no name written: the error points at its policy
                                   {1, "policies[0].name", "missing name"},
                                   {5, "policies[1].name", "name \"Web Tier\" may contain only a-z, 0-9"},
                                   {9, "policies[3].name", "duplicate policy name \"web\", first at line 6"},
                               });
}

TEST(PolicyValidator, AccessModeAndEnforcementAreMandatory) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
}
policies {
  name: "db"
  access_mode: ACCESS_MODE_UNSPECIFIED
  enforcement: ENFORCEMENT_UNSPECIFIED
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {1, "policies[0].access_mode", "missing access_mode (FULL or RESTRICTED)"},
                                   {1, "policies[0].enforcement", "missing enforcement (ENFORCE or DRY_RUN)"},
                                   {6, "policies[1].access_mode", "missing access_mode"},
                                   {7, "policies[1].enforcement", "missing enforcement"},
                               });
}

TEST(PolicyValidator, UnknownEnumValuesFromBinaryInput) {
  PolicySet set;
  policy::Policy* web = set.add_policies();
  web->set_name("web");
  web->set_access_mode(static_cast<policy::AccessMode>(7));
  web->set_enforcement(static_cast<policy::Enforcement>(9));
  policy::NetworkRule* rule = web->add_allowed_networks();
  rule->set_cidr("198.18.0.0/15");
  rule->set_protocol(static_cast<policy::Protocol>(17));
  policy::Attachment* attachment = set.add_attachments();
  attachment->set_source_cidr("198.18.0.0/24");
  attachment->set_policy("web");
  attachment->set_enforcement_override(static_cast<policy::Enforcement>(5));
  set.set_default_policy("web");

  expect_errors(validate_policy_set(set, "set.pb", FieldLocator(), test_suffixes()),
                {
                    {0, "policies[0].access_mode", "unknown access_mode 7"},
                    {0, "policies[0].enforcement", "unknown enforcement 9"},
                    {0, "policies[0].allowed_networks[0].protocol", "unknown protocol 17"},
                    {0, "attachments[0].enforcement_override", "unknown enforcement 5"},
                },
                "set.pb");
}

TEST(PolicyValidator, FullPolicyMustNotListDestinations) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: FULL
  enforcement: ENFORCE
  dns_resolvers: "198.18.0.53"
  allowed_domains: "example.com"
  allowed_networks { cidr: "198.18.0.0/15" }
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {6, "policies[0].allowed_domains",
                                    "access_mode FULL allows everything; remove allowed_domains or use RESTRICTED"},
                                   {7, "policies[0].allowed_networks",
                                    "access_mode FULL allows everything; remove allowed_networks or use RESTRICTED"},
                               });
}

// ---- allowed_domains ---------------------------------------------------------------------------

TEST(PolicyValidator, DomainPatternSyntax) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "example.com"
  allowed_domains: "foo*.com"
  allowed_domains: ""
  allowed_domains: "exa mple.com"
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {6, "policies[0].allowed_domains[1]", "\"foo*.com\": '*' is accepted only"},
                                   {7, "policies[0].allowed_domains[2]", "\"\": empty domain pattern"},
                                   {8, "policies[0].allowed_domains[3]", "\"exa mple.com\": character not allowed"},
                               });
}

TEST(PolicyValidator, WildcardOverAPublicSuffixIsOverBroad) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "*.com"
  allowed_domains: ".co.uk"
  allowed_domains: "*.CO.UK."
  allowed_domains: "*.kawasaki.jp"
  allowed_domains: ".nowhere-listed"
  allowed_domains: "*.ck"
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {5, "policies[0].allowed_domains[0]", "\"*.com\" is over-broad: com is a public suffix"},
                                   {6, "policies[0].allowed_domains[1]", "over-broad: co.uk is a public suffix"},
                                   {7, "policies[0].allowed_domains[2]", "over-broad: co.uk is a public suffix"},
                                   // "*.kawasaki.jp" makes kawasaki.jp a suffix as well
                                   {8, "policies[0].allowed_domains[3]", "over-broad: kawasaki.jp is a public suffix"},
                                   // one label is a suffix whether the list names it or not
                                   {9, "policies[0].allowed_domains[4]", "over-broad: nowhere-listed is a public suffix"},
                                   {10, "policies[0].allowed_domains[5]", "over-broad"},
                               });
}

TEST(PolicyValidator, ExactPublicSuffixIsRefused) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "com"
  allowed_domains: "co.uk"
  allowed_domains: "example.co.uk"
  allowed_domains: "anything.ck"
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {5, "policies[0].allowed_domains[0]", "\"com\" is a public suffix"},
                                   {6, "policies[0].allowed_domains[1]", "\"co.uk\" is a public suffix"},
                                   {8, "policies[0].allowed_domains[3]", "\"anything.ck\" is a public suffix"},
                               });
}

TEST(PolicyValidator, DuplicateDomainPatternsWithinOnePolicy) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "example.com"
  allowed_domains: "*.example.com"
  allowed_domains: ".example.com"
  allowed_domains: "Example.COM."
}
policies {
  name: "db"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "example.com"
}
default_policy: "web"
)");
  // The three forms differ; the same name in another policy is no duplicate.
  expect_errors(loaded.errors, {{8, "policies[0].allowed_domains[3]",
                                 "duplicate domain pattern \"Example.COM.\", first at line 5"}});
}

TEST(PolicyValidator, AcceptsDomainPortSuffixes) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "db.example.com:5432"
  allowed_domains: "*.example.com:443,8443"
  allowed_domains: ".example.org:8000-8100"
  allowed_domains: "api.example.net:1,65535,1000-2000"
}
default_policy: "web"
)");
  EXPECT_TRUE(loaded.ok()) << all_errors(loaded.errors);
}

TEST(PolicyValidator, DomainPortErrorsNameFileLineAndField) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "a.example.com:0"
  allowed_domains: "b.example.com:65536"
  allowed_domains: "c.example.com:9000-8000"
  allowed_domains: "d.example.com:"
  allowed_domains: "e.example.com:443,"
  allowed_domains: "f.example.com:https"
  allowed_domains: ":443"
  allowed_domains: "g.example.com:443"
}
default_policy: "web"
)");
  expect_errors(loaded.errors,
                {
                    {5, "policies[0].allowed_domains[0]", "\"a.example.com:0\": port 0 is not in 1-65535"},
                    {6, "policies[0].allowed_domains[1]", "\"b.example.com:65536\": port 65536 is not in 1-65535"},
                    {7, "policies[0].allowed_domains[2]",
                     "\"c.example.com:9000-8000\": range \"9000-8000\" starts above its end"},
                    {8, "policies[0].allowed_domains[3]", "\"d.example.com:\": empty port list after ':'"},
                    {9, "policies[0].allowed_domains[4]",
                     "\"e.example.com:443,\": empty entry in the port list \"443,\""},
                    {10, "policies[0].allowed_domains[5]",
                     "\"f.example.com:https\": \"https\" is not a port or PORT-PORT range"},
                    {11, "policies[0].allowed_domains[6]", "\":443\": no domain name before the port list"},
                });
  ASSERT_FALSE(loaded.errors.empty());
  EXPECT_EQ(loaded.errors[0].to_string(),
            "test.textproto:5: policies[0].allowed_domains[0]: \"a.example.com:0\": port 0 is not in 1-65535");
}

TEST(PolicyValidator, SameNameWithOtherPortsIsNoDuplicate) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "db.example.com:5432"
  allowed_domains: "db.example.com:443"
  allowed_domains: "db.example.com"
  allowed_domains: "*.example.com:443,8443"
  allowed_domains: "*.example.com:8443,443"
  allowed_domains: "DB.example.com.:5432"
  allowed_domains: ".example.com:80-81"
  allowed_domains: ".example.com:81,80"
  allowed_domains: ".example.com:80"
}
default_policy: "web"
)");
  // Ports are compared as sets: another spelling of the same set is a duplicate.
  expect_errors(loaded.errors, {
                                   {9, "policies[0].allowed_domains[4]",
                                    "duplicate domain pattern \"*.example.com:8443,443\", first at line 8"},
                                   {10, "policies[0].allowed_domains[5]",
                                    "duplicate domain pattern \"DB.example.com.:5432\", first at line 5"},
                                   {12, "policies[0].allowed_domains[7]",
                                    "duplicate domain pattern \".example.com:81,80\", first at line 11"},
                               });
}

TEST(PolicyValidator, PortsDoNotExcuseAnOverBroadPattern) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "*.com:443"
  allowed_domains: "co.uk:80"
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {5, "policies[0].allowed_domains[0]",
                                    "\"*.com:443\" is over-broad: com is a public suffix"},
                                   {6, "policies[0].allowed_domains[1]", "\"co.uk:80\" is a public suffix"},
                               });
}

TEST(PolicyValidator, FullAccessWithPortedDomainsIsRefused) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: FULL
  enforcement: ENFORCE
  allowed_domains: "db.example.com:5432"
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {{5, "policies[0].allowed_domains",
                                 "access_mode FULL allows everything; remove allowed_domains or use RESTRICTED"}});
}

// ---- allowed_networks --------------------------------------------------------------------------

TEST(PolicyValidator, NetworkCidrs) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_networks { cidr: "198.18.0.1/16" }
  allowed_networks { cidr: "198.18.0.0/33" }
  allowed_networks { cidr: "198.18.0.0/15 " }
  allowed_networks { protocol: TCP }
  allowed_networks { cidr: "2001:db8::1/32" }
}
default_policy: "web"
)");
  expect_errors(loaded.errors,
                {
                    {5, "policies[0].allowed_networks[0].cidr",
                     "\"198.18.0.1/16\": host bits set after the prefix length; did you mean 198.18.0.0/16?"},
                    {6, "policies[0].allowed_networks[1].cidr", "\"198.18.0.0/33\": prefix length out of range"},
                    {7, "policies[0].allowed_networks[2].cidr", "\"198.18.0.0/15 \": not an address"},
                    // no cidr written: the error points at its rule
                    {8, "policies[0].allowed_networks[3].cidr", "missing cidr"},
                    {9, "policies[0].allowed_networks[4].cidr", "did you mean 2001:db8::/32?"},
                });
}

TEST(PolicyValidator, PortsOnlyWithTcpOrUdp) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_networks { cidr: "198.18.0.0/15" protocol: TCP ports: "443" }
  allowed_networks { cidr: "198.18.0.0/15" protocol: UDP ports: "53" }
  allowed_networks {
    cidr: "198.18.0.0/15"
    protocol: ICMP
    ports: "1"
  }
  allowed_networks {
    cidr: "198.18.0.0/15"
    ports: "443"
  }
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {10, "policies[0].allowed_networks[2].ports", "only to protocol TCP or UDP, not ICMP"},
                                   {14, "policies[0].allowed_networks[3].ports", "not PROTOCOL_ANY"},
                               });
}

TEST(PolicyValidator, PortSyntaxAndRange) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_networks {
    cidr: "198.18.0.0/15"
    protocol: TCP
    ports: "1"
    ports: "65535"
    ports: "1-65535"
    ports: "0"
    ports: "65536"
    ports: "90-80"
    ports: "https"
    ports: "80-"
    ports: " 80"
    ports: "80-90-100"
    ports: "8000-70000"
  }
}
default_policy: "web"
)");
  const std::string rule = "policies[0].allowed_networks[0].ports";
  expect_errors(loaded.errors, {
                                   {11, rule + "[3]", "\"0\": ports are 1-65535"},
                                   {12, rule + "[4]", "\"65536\": ports are 1-65535"},
                                   {13, rule + "[5]", "\"90-80\": range starts above its end"},
                                   {14, rule + "[6]", "\"https\": not a port or PORT-PORT range"},
                                   {15, rule + "[7]", "not a port"},
                                   {16, rule + "[8]", "not a port"},
                                   {17, rule + "[9]", "not a port"},
                                   {18, rule + "[10]", "ports are 1-65535"},
                               });
}

TEST(PolicyValidator, DnsResolversAreAddresses) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  dns_resolvers: "198.18.0.53"
  dns_resolvers: "2001:db8::53"
  dns_resolvers: "dns.example.com"
  dns_resolvers: "198.18.0.53/32"
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {7, "policies[0].dns_resolvers[2]", "\"dns.example.com\" is not an IP address"},
                                   {8, "policies[0].dns_resolvers[3]", "\"198.18.0.53/32\" is not an IP address"},
                               });
}

TEST(PolicyValidator, AllowedProxies) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_proxies: "198.18.0.8:3128"
  allowed_proxies: "[2001:db8::8]:8080"
  allowed_proxies: "proxy.example.com:3128"
  allowed_proxies: "198.18.0.8"
  allowed_proxies: "198.18.0.8:0"
  allowed_proxies: "198.18.0.8:65536"
  allowed_proxies: "2001:db8::8:3128"
  allowed_proxies: "[198.18.0.8]:3128"
  allowed_proxies: "198.18.0.8:31x8"
}
default_policy: "web"
)");
  const std::string ipv4_form = R"(is not ADDRESS:PORT ("198.18.9.9:3128", "[2001:db8::9]:3128"))";
  expect_errors(loaded.errors, {
                                   {7, "policies[0].allowed_proxies[2]",
                                    "\"proxy.example.com:3128\" names no IP address (a proxy is named by its address and port)"},
                                   {8, "policies[0].allowed_proxies[3]", "\"198.18.0.8\" " + ipv4_form},
                                   {9, "policies[0].allowed_proxies[4]", "\"198.18.0.8:0\" has no port in 1-65535"},
                                   {10, "policies[0].allowed_proxies[5]", "\"198.18.0.8:65536\" has no port in 1-65535"},
                                   {11, "policies[0].allowed_proxies[6]", "\"2001:db8::8:3128\" " + ipv4_form},
                                   {12, "policies[0].allowed_proxies[7]", "\"[198.18.0.8]:3128\" has an IPv4 address in brackets"},
                                   {13, "policies[0].allowed_proxies[8]", "\"198.18.0.8:31x8\" has no port in 1-65535"},
                               });
}

TEST(PolicyValidator, ResolvableNames) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  resolvable_names: ".corp.example"
  resolvable_names: "db.corp.example:5432"
  resolvable_names: "*.com"
  resolvable_names: ".Corp.Example."
  dns_reverse_lookups: true
  dns_denial: DNS_DENIAL_REFUSED
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {6, "policies[0].resolvable_names[1]",
                                    "\"db.corp.example:5432\": a resolvable name takes no ports"},
                                   {7, "policies[0].resolvable_names[2]", "\"*.com\" is over-broad: com is a public suffix"},
                                   {8, "policies[0].resolvable_names[3]",
                                    "duplicate resolvable name \".Corp.Example.\", first at line 5"},
                               });
}

TEST(PolicyValidator, AllowedProxiesWithFullAccess) {
  const LoadedPolicy loaded = load(R"(policies {
  name: "web"
  access_mode: FULL
  enforcement: ENFORCE
  allowed_proxies: "198.18.0.8:3128"
}
default_policy: "web"
)");
  expect_errors(loaded.errors, {{5, "policies[0].allowed_proxies",
                                 "access_mode FULL allows everything; remove allowed_proxies or use RESTRICTED"}});
}

// ---- attachments and default_policy ------------------------------------------------------------

TEST(PolicyValidator, AttachmentSourceCidrs) {
  const LoadedPolicy loaded = load(R"(policies { name: "web" access_mode: FULL enforcement: ENFORCE }
attachments { source_cidr: "198.18.1.1/24" policy: "web" }
attachments { source_cidr: "198.18.1.0/24 " policy: "web" }
attachments { policy: "web" }
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {2, "attachments[0].source_cidr", "did you mean 198.18.1.0/24?"},
                                   {3, "attachments[1].source_cidr", "not an address"},
                                   {4, "attachments[2].source_cidr", "missing source_cidr"},
                               });
}

TEST(PolicyValidator, AttachmentPolicyMustExist) {
  const LoadedPolicy loaded = load(R"(policies { name: "web" access_mode: FULL enforcement: ENFORCE }
attachments {
  source_cidr: "198.18.1.0/24"
  policy: "nope"
}
attachments {
  source_cidr: "198.18.2.0/24"
}
attachments { source_cidr: "198.18.3.0/24" policy: "web" enforcement_override: DRY_RUN }
attachments { source_cidr: "198.18.4.0/24" policy: "web" enforcement_override: ENFORCE }
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {4, "attachments[0].policy", "unknown policy \"nope\""},
                                   {6, "attachments[1].policy", "missing policy"},
                               });
}

TEST(PolicyValidator, DuplicateSourcePrefixNamesBoth) {
  const LoadedPolicy loaded = load(R"(policies { name: "web" access_mode: FULL enforcement: ENFORCE }
attachments { source_cidr: "198.18.1.0/24" policy: "web" }
attachments { source_cidr: "2001:db8:1::/64" policy: "web" }
attachments { source_cidr: "198.18.1.0/25" policy: "web" }
attachments { source_cidr: "198.18.1.0/24" policy: "web" }
attachments { source_cidr: "2001:DB8:1:0::/64" policy: "web" }
attachments { source_cidr: "198.18.1.7" policy: "web" }
attachments { source_cidr: "198.18.1.7/32" policy: "web" }
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {5, "attachments[3].source_cidr",
                                    "duplicate source prefix 198.18.1.0/24, first at line 2"},
                                   {6, "attachments[4].source_cidr",
                                    "duplicate source prefix 2001:db8:1::/64, first at line 3"},
                                   {8, "attachments[6].source_cidr",
                                    "duplicate source prefix 198.18.1.7/32, first at line 7"},
                               });
}

TEST(PolicyValidator, DefaultPolicyIsMandatoryAndMustExist) {
  expect_errors(load(R"(policies { name: "web" access_mode: FULL enforcement: ENFORCE }
)").errors,
                {{0, "default_policy", "missing default_policy"}});
  expect_errors(load(R"(policies { name: "web" access_mode: FULL enforcement: ENFORCE }

default_policy: "Web"
)").errors,
                {{3, "default_policy", "unknown policy \"Web\""}});
}

// ---- inspection ports --------------------------------------------------------------------------

TEST(PolicyValidator, InspectionPorts) {
  const LoadedPolicy loaded = load(R"(policies { name: "web" access_mode: FULL enforcement: ENFORCE }
default_policy: "web"
tls_ports: 443
tls_ports: 0
tls_ports: 70000
tls_ports: 8443
http_ports: 80
http_ports: 65536
http_ports: 8443
)");
  expect_errors(loaded.errors, {
                                   {4, "tls_ports[1]", "port 0 is not in 1-65535"},
                                   {5, "tls_ports[2]", "port 70000 is not in 1-65535"},
                                   {8, "http_ports[1]", "port 65536 is not in 1-65535"},
                                   {9, "http_ports[2]", "port 8443 is also in tls_ports (line 6)"},
                               });
}

// ---- reporting ---------------------------------------------------------------------------------

TEST(PolicyValidator, CollectsEveryErrorInFileOrder) {
  // Attachments are written before the policies they name; errors still come top to bottom.
  const LoadedPolicy loaded = load(R"(default_policy: "missing"
attachments { source_cidr: "198.18.1.1/24" policy: "web" }
attachments { source_cidr: "198.18.2.0/24" policy: "ghost" }
policies {
  name: "web"
  access_mode: RESTRICTED
  allowed_domains: "*.com"
}
tls_ports: 0
)");
  expect_errors(loaded.errors, {
                                   {1, "default_policy", "unknown policy \"missing\""},
                                   {2, "attachments[0].source_cidr", "host bits"},
                                   {3, "attachments[1].policy", "unknown policy \"ghost\""},
                                   {4, "policies[0].enforcement", "missing enforcement"},
                                   {7, "policies[0].allowed_domains[0]", "over-broad"},
                                   {9, "tls_ports[0]", "not in 1-65535"},
                               });
  EXPECT_FALSE(loaded.ok());
}

TEST(PolicyError, ToString) {
  EXPECT_EQ((PolicyError{"p.textproto", 12, "attachments[1].policy", "unknown policy \"foo\""}).to_string(),
            "p.textproto:12: attachments[1].policy: unknown policy \"foo\"");
  EXPECT_EQ((PolicyError{"p.pb", 0, "default_policy", "missing default_policy"}).to_string(),
            "p.pb: default_policy: missing default_policy");
  EXPECT_EQ((PolicyError{"p.textproto", 3, "", "syntax error at column 7: oops"}).to_string(),
            "p.textproto:3: syntax error at column 7: oops");
}

TEST(FieldLocator, FindsNestedAndListFields) {
  PolicySet set;
  PolicyErrors errors;
  FieldLocator locator;
  ASSERT_TRUE(locator.parse_text(R"(name: "x"
policies {
  name: "a"
  allowed_networks {
    cidr: "198.18.0.0/15"
    ports: ["1",
            "2"]
  }
}
policies: [{ name: "b" }, { name: "c" }]
tls_ports: [1, 2]
)",
                                 kFile, set, errors));
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(locator.line_of("name"), 1);
  EXPECT_EQ(locator.line_of("policies[0]"), 2);
  EXPECT_EQ(locator.line_of("policies"), 2);
  EXPECT_EQ(locator.line_of("policies[0].allowed_networks[0].cidr"), 5);
  EXPECT_EQ(locator.line_of("policies[0].allowed_networks[0].ports[0]"), 6);
  EXPECT_EQ(locator.line_of("policies[0].allowed_networks[0].ports[1]"), 7);
  EXPECT_EQ(locator.line_of("policies[2].name"), 10);
  EXPECT_EQ(locator.line_of("tls_ports[1]"), 11);
  // Absent fields fall back to the nearest written ancestor, or to 0.
  EXPECT_EQ(locator.line_of("policies[0].access_mode"), 2);
  EXPECT_EQ(locator.line_of("policies[0].allowed_networks[0].protocol"), 4);
  EXPECT_EQ(locator.line_of("default_policy"), 0);
  EXPECT_EQ(locator.line_of("no_such_field"), 0);
  EXPECT_EQ(FieldLocator().line_of("name"), 0);
}

TEST(FieldLocator, ListSyntaxWithTabsCommentsAndEmptyLists) {
  PolicySet set;
  PolicyErrors errors;
  FieldLocator locator;
  ASSERT_TRUE(locator.parse_text("policies {\n"
                                 "\tallowed_domains: []\n"
                                 "\tallowed_domains: [\"a.example\",  # a comment with ] and ,\n"
                                 "\t\t\"b.example\" \"-concatenated\",\n"
                                 "\t\t\"c.example\"]\n"
                                 "\tallowed_domains: \"d.example\"\n"
                                 "\tallowed_networks: [<cidr: \"198.18.0.0/15\">,\n"
                                 "\t\t{ ports: [\"1\", \"2\"] }]\n"
                                 "}\n",
                                 kFile, set, errors));
  ASSERT_EQ(set.policies(0).allowed_domains_size(), 4);
  EXPECT_EQ(locator.line_of("policies[0].allowed_domains[0]"), 3);
  EXPECT_EQ(locator.line_of("policies[0].allowed_domains[1]"), 4);
  EXPECT_EQ(locator.line_of("policies[0].allowed_domains[2]"), 5);
  EXPECT_EQ(locator.line_of("policies[0].allowed_domains[3]"), 6);
  EXPECT_EQ(locator.line_of("policies[0].allowed_domains[4]"), 1);
  EXPECT_EQ(locator.line_of("policies[0].allowed_networks[0].cidr"), 7);
  EXPECT_EQ(locator.line_of("policies[0].allowed_networks[1]"), 8);
  EXPECT_EQ(locator.line_of("policies[0].allowed_networks[1].ports[1]"), 8);
}

TEST(PolicyValidator, ErrorsInsideListsPointAtTheirElement) {
  const LoadedPolicy loaded = load(R"(policies: [
  { name: "web" access_mode: RESTRICTED enforcement: ENFORCE },
  {
    name: "db"
    access_mode: RESTRICTED
    enforcement: ENFORCE
    allowed_domains: ["example.com",
                      "*.com"]
  }
]
attachments: [{ source_cidr: "198.18.0.0/24" policy: "web" },
              { source_cidr: "198.18.0.0/24" policy: "db" }]
default_policy: "web"
)");
  expect_errors(loaded.errors, {
                                   {8, "policies[1].allowed_domains[1]", "over-broad"},
                                   {12, "attachments[1].source_cidr", "first at line 11"},
                               });
}

// ---- public suffix list ------------------------------------------------------------------------

TEST(PublicSuffixList, RulesWildcardsAndExceptions) {
  const PublicSuffixList& list = test_suffixes();
  EXPECT_TRUE(list.is_public_suffix("com"));
  EXPECT_TRUE(list.is_public_suffix("co.uk"));
  EXPECT_FALSE(list.is_public_suffix("example.co.uk"));
  EXPECT_FALSE(list.is_public_suffix("example.com"));
  EXPECT_TRUE(list.is_public_suffix("anything.kawasaki.jp"));  // *.kawasaki.jp
  EXPECT_FALSE(list.is_public_suffix("city.kawasaki.jp"));     // !city.kawasaki.jp
  EXPECT_TRUE(list.is_public_suffix("kawasaki.jp"));           // a wildcard's parent, as libpsl reads it
  EXPECT_FALSE(list.is_public_suffix("a.b.kawasaki.jp"));
  EXPECT_TRUE(list.is_public_suffix("ck"));
  EXPECT_FALSE(list.is_public_suffix("www.ck"));
  EXPECT_FALSE(list.is_public_suffix("github.io"));  // private section: not counted
  EXPECT_TRUE(list.is_public_suffix("unlisted"));
  EXPECT_FALSE(list.is_public_suffix(""));
}

TEST(PublicSuffixList, MissingFileIsAnErrorNamingTheFile) {
  PublicSuffixList list;
  const std::string missing = temp_path("no_such_list.dat");
  EXPECT_FALSE(list.load(missing));
  EXPECT_FALSE(list.loaded());
  EXPECT_EQ(list.path(), missing);
  EXPECT_NE(list.error().find("No such file or directory"), std::string::npos) << list.error();
  EXPECT_NE(list.error().find("*.co.uk"), std::string::npos) << list.error();
}

TEST(PublicSuffixList, ReloadReplacesRules) {
  PublicSuffixList list;
  ASSERT_TRUE(list.load(SLUICE_TEST_DATA "/public_suffix_list_small.dat"));
  ASSERT_TRUE(list.is_public_suffix("co.uk"));
  EXPECT_FALSE(list.load(temp_path("no_such_list.dat")));
  EXPECT_FALSE(list.is_public_suffix("co.uk"));
}

// A list that cannot be read refuses every policy, naming the list: it never lets "*.co.uk" pass.
TEST(PublicSuffixList, MissingListRefusesThePolicy) {
  PublicSuffixList list;
  const std::string missing = temp_path("no_such_list.dat");
  list.load(missing);
  const LoadedPolicy loaded = load_policy_text(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "*.co.uk"
}
default_policy: "web"
)", kFile, list);
  ASSERT_FALSE(loaded.ok());
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0].file, missing);
  EXPECT_NE(loaded.errors[0].message.find("cannot read the public suffix list"), std::string::npos);
}

TEST(PublicSuffixList, ListPathComesFromTheEnvironment) {
  ::setenv("SLUICE_PUBLIC_SUFFIX_LIST", "/elsewhere/list.dat", 1);
  EXPECT_EQ(public_suffix_list_path(), "/elsewhere/list.dat");
  ::unsetenv("SLUICE_PUBLIC_SUFFIX_LIST");
  EXPECT_EQ(public_suffix_list_path(), kDefaultPublicSuffixListPath);
}

// Debian's publicsuffix package is a run-time dependency (scripts/bootstrap.sh, the .deb).
TEST(PublicSuffixList, InstalledDebianList) {
  PublicSuffixList list;
  ASSERT_TRUE(list.load(kDefaultPublicSuffixListPath)) << list.error();
  EXPECT_TRUE(list.is_public_suffix("co.uk"));
  EXPECT_TRUE(list.is_public_suffix("com.au"));
  EXPECT_FALSE(list.is_public_suffix("example.com"));
  EXPECT_FALSE(list.is_public_suffix("s3.amazonaws.com"));
}

// The breadth rule with Debian's own list, as sluiced and sluicectl load it.
TEST(PublicSuffixList, DebianListRefusesWildcardsOverSuffixes) {
  PublicSuffixList list;
  ASSERT_TRUE(list.load(kDefaultPublicSuffixListPath)) << list.error();
  const LoadedPolicy loaded = load_policy_text(R"(policies {
  name: "web"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "*.co.uk"
  allowed_domains: "*.com"
  allowed_domains: "*.example.co.uk"
}
default_policy: "web"
)", kFile, list);
  expect_errors(loaded.errors, {
                                   {5, "policies[0].allowed_domains[0]", "over-broad: co.uk is a public suffix"},
                                   {6, "policies[0].allowed_domains[1]", "over-broad: com is a public suffix"},
                               });
}

}  // namespace
}  // namespace sluice

// Messages quote what the operator wrote as std::quoted would (the validator builds them without
// a stream, for speed at a million patterns): the same bytes for every kind of input.
TEST(QuotedText, IsWhatStdQuotedWrites) {
  const std::string inputs[] = {"", "pypi.org", "say \"hi\"", "back\\slash", "\\\"", "tab\there",
                                std::string("nul\0inside", 10), "\xc3\xa9t\xc3\xa9", "\"", "\\"};
  for (const std::string& input : inputs) {
    std::ostringstream expected;
    expected << std::quoted(input);
    EXPECT_EQ(sluice::quoted_text(input), expected.str()) << input;
  }
}

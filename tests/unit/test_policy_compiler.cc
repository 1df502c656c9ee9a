// The compiler's output: source prefixes → attachments (longest prefix wins, default for the
// rest), enforcement overrides, network rules inherited by longer prefixes, port classes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <utility>
#include <vector>

#include "controlplane/policy/cidr.h"
#include "dataplane/parse/packet_parser.h"
#include "tests/unit/policy_fixture.h"

namespace sluice {
namespace {

IpAddress ip(const char* text) { return *parse_ip(text); }

TEST(PolicyCompiler, SourcePrefixSelectsAttachmentAndDefaultCoversTheRest) {
  auto policy = test::compile_text(test::kTestPolicy, 7);
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->generation, 7u);
  EXPECT_EQ(policy->attachment_for(ip("198.18.1.9")).source_label, "spark-prod");
  EXPECT_EQ(policy->attachment_for(ip("198.18.2.9")).source_label, "spark-staging");
  EXPECT_EQ(policy->attachment_for(ip("2001:db8:1::5")).source_label, "spark-prod-v6");
  const auto& fallback = policy->attachment_for(ip("198.18.3.9"));
  EXPECT_EQ(fallback.source_label, "unattached");
  EXPECT_EQ(policy->policies[fallback.policy_index].name, "baseline");
  EXPECT_EQ(policy->attachment_for(ip("2001:db8:2::5")).source_label, "unattached");
}

TEST(PolicyCompiler, LongestSourcePrefixWins) {
  std::string text = std::string(test::kTestPolicy) +
                     R"(attachments { source_cidr: "198.18.1.128/25" policy: "open" source_label: "narrow" })";
  auto policy = test::compile_text(text);
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->attachment_for(ip("198.18.1.200")).source_label, "narrow");
  EXPECT_EQ(policy->attachment_for(ip("198.18.1.100")).source_label, "spark-prod");
}

TEST(PolicyCompiler, EnforcementOverrideAppliesToItsAttachmentOnly) {
  auto policy = test::compile_text(test::kTestPolicy);
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->attachment_for(ip("198.18.2.1")).enforcement, Enforcement::dry_run);
  EXPECT_EQ(policy->attachment_for(ip("198.18.1.1")).enforcement, Enforcement::enforce);
}

TEST(PolicyCompiler, NetworkRulesOfShorterPrefixesApplyToLongerOnes) {
  auto policy = test::compile_text(test::kTestPolicy);
  ASSERT_NE(policy, nullptr);
  ASSERT_NE(policy->networks, nullptr);
  const NetworkRuleGroup* inner = policy->networks->lookup(ip("198.19.0.5"));
  ASSERT_NE(inner, nullptr);
  EXPECT_TRUE(inner->allows(0, kIpProtoTcp, 5432));
  EXPECT_TRUE(inner->allows(0, kIpProtoUdp, 123));  // from the covering /16
  EXPECT_FALSE(inner->allows(0, kIpProtoTcp, 5433));
  EXPECT_FALSE(inner->allows(2, kIpProtoTcp, 5432));  // "baseline" lists no networks
  const NetworkRuleGroup* outer = policy->networks->lookup(ip("198.19.9.5"));
  ASSERT_NE(outer, nullptr);
  EXPECT_FALSE(outer->allows(0, kIpProtoTcp, 5432));
  EXPECT_TRUE(outer->allows(0, kIpProtoUdp, 123));
  EXPECT_EQ(policy->networks->lookup(ip("198.20.0.1")), nullptr);
}

TEST(PolicyCompiler, DefaultPortClassesAreTls443AndHttp80) {
  auto policy = test::compile_text(test::kTestPolicy);
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->port_class[443], PortClass::tls);
  EXPECT_EQ(policy->port_class[80], PortClass::http);
  EXPECT_EQ(policy->port_class[8443], PortClass::none);
}

TEST(PolicyCompiler, ExplicitPortListsReplaceDefaults) {
  auto policy = test::compile_text(std::string(test::kTestPolicy) + "tls_ports: 8443\nhttp_ports: 8080\n");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->port_class[8443], PortClass::tls);
  EXPECT_EQ(policy->port_class[8080], PortClass::http);
  EXPECT_EQ(policy->port_class[443], PortClass::none);
  EXPECT_EQ(policy->port_class[80], PortClass::none);
}

TEST(PolicyCompiler, DomainDatabasesMatchThePatternsOfEachPolicy) {
  auto policy = test::compile_text(test::kTestPolicy);
  ASSERT_NE(policy, nullptr);
  ASSERT_EQ(policy->scratch.size(), 1u);
  const auto& prod = policy->policies[0];
  EXPECT_EQ(prod.domains->match("x.blob.core.windows.net", policy->scratch[0]), 1);
  EXPECT_EQ(prod.domains->match("github.com", policy->scratch[0]), 2);
  EXPECT_EQ(prod.domains->match("blob.core.windows.net", policy->scratch[0]), kNoDomainMatch);
  EXPECT_EQ(prod.domain_patterns[1], "*.blob.core.windows.net");
  EXPECT_TRUE(prod.allows_resolver(ip("198.19.255.53")));
  EXPECT_FALSE(prod.allows_resolver(ip("198.19.255.54")));
}

// ---- allowed-domain ports ----------------------------------------------------------------------

constexpr const char* kPortedDomains = R"(
name: "ports"
policies {
  name: "p"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: "db.example.com:5432"
  allowed_domains: "*.example.com:443,8443"
  allowed_domains: ".example.org:8000-8100"
  allowed_domains: "db.example.com:443"
  allowed_domains: "pypi.org"
}
default_policy: "p"
)";

bool same(const std::vector<PortRange>& ranges, const std::vector<std::pair<uint16_t, uint16_t>>& expected) {
  if (ranges.size() != expected.size()) return false;
  for (size_t i = 0; i < ranges.size(); ++i)
    if (ranges[i].first != expected[i].first || ranges[i].last != expected[i].second) return false;
  return true;
}

TEST(PolicyCompiler, DomainPortsByRuleId) {
  auto policy = test::compile_text(kPortedDomains);
  ASSERT_NE(policy, nullptr);
  const auto& rules = policy->policies[0];
  ASSERT_EQ(rules.domain_ports.size(), rules.domain_patterns.size());
  ASSERT_EQ(rules.domain_ports.size(), 5u);
  EXPECT_TRUE(same(rules.domain_ports[0], {{5432, 5432}}));
  EXPECT_TRUE(same(rules.domain_ports[1], {{443, 443}, {8443, 8443}}));
  EXPECT_TRUE(same(rules.domain_ports[2], {{8000, 8100}}));
  EXPECT_TRUE(same(rules.domain_ports[3], {{443, 443}}));
  EXPECT_TRUE(rules.domain_ports[4].empty());  // no suffix: every port
  EXPECT_EQ(rules.domain_patterns[1], "*.example.com:443,8443");  // as written, ports included
  EXPECT_EQ(rules.domains->pattern_count(), 5u);
}

TEST(PolicyCompiler, DomainAllowsOnlyTheRulesPorts) {
  auto policy = test::compile_text(kPortedDomains);
  ASSERT_NE(policy, nullptr);
  const auto& rules = policy->policies[0];
  hs_scratch_t* scratch = policy->scratch[0];
  EXPECT_TRUE(rules.domain_allows("x.example.com", 443, scratch));
  EXPECT_TRUE(rules.domain_allows("x.example.com", 8443, scratch));
  EXPECT_FALSE(rules.domain_allows("x.example.com", 80, scratch));
  EXPECT_FALSE(rules.domain_allows("example.com", 443, scratch));  // "*." is not the apex
  EXPECT_TRUE(rules.domain_allows("example.org", 8000, scratch));
  EXPECT_TRUE(rules.domain_allows("a.b.example.org", 8100, scratch));
  EXPECT_FALSE(rules.domain_allows("example.org", 7999, scratch));
  EXPECT_FALSE(rules.domain_allows("example.org", 8101, scratch));
  EXPECT_TRUE(rules.domain_allows("pypi.org", 1, scratch));
  EXPECT_TRUE(rules.domain_allows("pypi.org", 65535, scratch));
  EXPECT_TRUE(rules.domain_allows("pypi.org", 0, scratch));  // every port, even 0
  EXPECT_FALSE(rules.domain_allows("db.example.com", 0, scratch));
  EXPECT_FALSE(rules.domain_allows("nowhere.example.net", 443, scratch));
  EXPECT_FALSE(rules.domain_allows("", 443, scratch));
}

TEST(PolicyCompiler, RulesForOneNameAddUpAndTheLowestAllowingRuleIsNamed) {
  auto policy = test::compile_text(kPortedDomains);
  ASSERT_NE(policy, nullptr);
  const auto& rules = policy->policies[0];
  hs_scratch_t* scratch = policy->scratch[0];
  uint32_t id = 99;
  // db.example.com matches rules 0 (5432), 1 (*.example.com 443,8443) and 3 (443).
  ASSERT_TRUE(rules.domain_allows("db.example.com", 5432, scratch, &id));
  EXPECT_EQ(id, 0u);
  ASSERT_TRUE(rules.domain_allows("db.example.com", 443, scratch, &id));
  EXPECT_EQ(id, 1u);  // rule 3 allows it too; 1 is lower
  ASSERT_TRUE(rules.domain_allows("db.example.com", 8443, scratch, &id));
  EXPECT_EQ(id, 1u);
  id = 99;
  EXPECT_FALSE(rules.domain_allows("db.example.com", 80, scratch, &id));
  EXPECT_EQ(id, 99u);  // untouched when nothing allows it
  ASSERT_TRUE(rules.domain_allows("pypi.org", 22, scratch, &id));
  EXPECT_EQ(id, 4u);
}

TEST(PolicyCompiler, RuleZeroEndsTheSearchForTheLowest) {
  auto policy = test::compile_text(R"(
name: "zero"
policies {
  name: "p" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_domains: ".example.com"
  allowed_domains: "a.example.com:443"
  allowed_domains: "*.example.com:443"
}
default_policy: "p"
)");
  ASSERT_NE(policy, nullptr);
  uint32_t id = 99;
  ASSERT_TRUE(policy->policies[0].domain_allows("a.example.com", 443, policy->scratch[0], &id));
  EXPECT_EQ(id, 0u);
  ASSERT_TRUE(policy->policies[0].domain_allows("a.example.com", 8080, policy->scratch[0], &id));
  EXPECT_EQ(id, 0u);
}

TEST(PolicyCompiler, DomainRuleAllowsPortByRuleId) {
  auto policy = test::compile_text(kPortedDomains);
  ASSERT_NE(policy, nullptr);
  const auto& rules = policy->policies[0];
  EXPECT_TRUE(rules.domain_rule_allows_port(0, 5432));
  EXPECT_FALSE(rules.domain_rule_allows_port(0, 5433));
  EXPECT_TRUE(rules.domain_rule_allows_port(1, 8443));
  EXPECT_FALSE(rules.domain_rule_allows_port(1, 444));
  EXPECT_TRUE(rules.domain_rule_allows_port(4, 12345));
}

TEST(PolicyCompiler, RulesetWithoutDomainsOrPortsLists) {
  CompiledRuleset empty;
  EXPECT_FALSE(empty.domain_allows("pypi.org", 443, nullptr));  // no matcher: nothing allowed
  EXPECT_TRUE(empty.domain_rule_allows_port(7, 443));           // no port list for the rule: every port

  // A ruleset built by hand, without domain_ports: every port, as before ports existed.
  std::string error;
  CompiledRuleset rules;
  rules.domains = DomainMatcher::compile({{DomainMatchKind::exact, "pypi.org", 0}}, error);
  ASSERT_NE(rules.domains, nullptr) << error;
  hs_scratch_t* scratch = nullptr;
  ASSERT_TRUE(rules.domains->reserve_scratch(&scratch));
  uint32_t id = 99;
  EXPECT_TRUE(rules.domain_allows("pypi.org", 8080, scratch, &id));
  EXPECT_EQ(id, 0u);
  EXPECT_FALSE(rules.domain_allows("www.pypi.org", 443, scratch, &id));
  hs_free_scratch(scratch);
}

TEST(PolicyCompiler, FullPolicyHasNoDomainPorts) {
  auto policy = test::compile_text(test::kTestPolicy);
  ASSERT_NE(policy, nullptr);
  EXPECT_TRUE(policy->policies[1].domain_ports.empty());  // "open": FULL, no domains
  ASSERT_EQ(policy->policies[0].domain_ports.size(), 3u);
  for (const auto& ports : policy->policies[0].domain_ports) EXPECT_TRUE(ports.empty());
}

TEST(PolicyCompiler, ChangingOnlyPortsReusesTheCachedDatabase) {
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() / ("sluice-ports-cache-" + std::to_string(::getpid()));
  std::filesystem::remove_all(directory);
  HyperscanCache cache(directory.string());
  PublicSuffixList suffixes;
  suffixes.load();
  auto compile_with_cache = [&](const std::string& domain, uint64_t generation) {
    std::string text = "name: \"c\"\npolicies { name: \"p\" access_mode: RESTRICTED enforcement: ENFORCE "
                       "allowed_domains: \"" + domain + "\" }\ndefault_policy: \"p\"\n";
    LoadedPolicy loaded = load_policy_text(text, "unit.textproto", suffixes);
    EXPECT_TRUE(loaded.ok());
    return compile_policy(loaded.policy_set, generation, 1, nullptr, &cache);
  };
  CompileResult first = compile_with_cache("db.example.com:5432", 101);
  ASSERT_NE(first.policy, nullptr) << first.error;
  EXPECT_EQ(first.databases_from_cache, 0u);
  CompileResult second = compile_with_cache("db.example.com:443", 102);
  ASSERT_NE(second.policy, nullptr) << second.error;
  EXPECT_EQ(second.databases_from_cache, 1u);  // same pattern, same id: the cache key is unchanged
  const auto& rules = second.policy->policies[0];
  EXPECT_TRUE(rules.domain_allows("db.example.com", 443, second.policy->scratch[0]));
  EXPECT_FALSE(rules.domain_allows("db.example.com", 5432, second.policy->scratch[0]));
  std::filesystem::remove_all(directory);
}

TEST(PolicyCompiler, TwoGenerationsCoexist) {
  // LPM tables have process-wide names: a reload compiles generation N+1 while N still runs.
  auto first = test::compile_text(test::kTestPolicy, 1);
  auto second = test::compile_text(test::kTestPolicy, 2);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->attachment_for(ip("198.18.1.9")).source_label, "spark-prod");
}

}  // namespace
}  // namespace sluice

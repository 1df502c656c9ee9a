// The compiler's output: source prefixes → attachments (longest prefix wins, default for the
// rest), enforcement overrides, network rules inherited by longer prefixes, port classes.
#include <gtest/gtest.h>

#include "controlplane/cidr.h"
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

// Named groups and numbered ALLOW/DENY rules: the validator's errors and warnings, and the
// compiled policy's one answer to "is this name / address allowed?" (judge_name,
// judge_name_on_any_port, NetworkRuleGroup::deciding_rule) that every stage asks.
#include <gtest/gtest.h>

#include <string>

#include "controlplane/policy/cidr.h"
#include "dataplane/parse/packet_parser.h"
#include "tests/unit/policy_error_expectations.h"
#include "tests/unit/policy_fixture.h"

namespace sluice {
namespace {

LoadedPolicy load(const std::string& text) {
  PublicSuffixList suffixes;
  suffixes.load();
  return load_policy_text(text, "rules.textproto", suffixes);
}

// Line 1 is the first line of the text.
constexpr const char* kRulesPolicy = R"(name: "rules"
domain_groups { name: "paste" domains: ["*.pastebin.com", "paste.example.org"] }
domain_groups { name: "indexes" domains: ["pypi.org", ".pythonhosted.org"] }
ip_groups { name: "partners" networks { cidr: "198.19.40.0/24" protocol: TCP ports: "5432" } }
policies {
  name: "main"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_domains: [".example.org", "api.example.com"]
  allowed_domain_groups: "indexes"
  allowed_networks { cidr: "198.19.50.0/24" }
  rules { name: "no-paste" priority: 100 action: DENY domain_groups: "paste" }
  rules { name: "no-upload" priority: 110 action: DENY domains: "upload.example.com" protocol: TCP ports: "443" }
  rules { name: "storage" priority: 200 action: ALLOW domains: ".example.com" protocol: TCP ports: "443" }
  rules { name: "partners" priority: 300 action: ALLOW ip_groups: "partners" }
  rules { name: "quarantine" priority: 50 action: DENY networks: "198.19.50.128/25" }
}
default_policy: "main"
)";

TEST(PolicyRules, ValidPolicyHasNoErrorsAndRuleLines) {
  const LoadedPolicy loaded = load(kRulesPolicy);
  ASSERT_TRUE(loaded.ok()) << test::all_errors(loaded.errors);
  ASSERT_EQ(loaded.rule_lines.size(), 1u);
  EXPECT_EQ(loaded.rule_lines[0], (std::vector<int>{12, 13, 14, 15, 16}));
}

TEST(PolicyRules, UnknownGroupsAreErrorsWithTheirLines) {
  const LoadedPolicy loaded = load(R"(name: "x"
policies {
  name: "main" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_domain_groups: "nope"
  allowed_ip_groups: "none"
  rules { name: "r" priority: 1 action: ALLOW domain_groups: "missing" }
}
default_policy: "main"
)");
  test::expect_errors(loaded.errors,
                      {{4, "policies[0].allowed_domain_groups[0]", "unknown domain group \"nope\""},
                       {5, "policies[0].allowed_ip_groups[0]", "unknown ip group \"none\""},
                       {6, "policies[0].rules[0].domain_groups[0]", "unknown domain group \"missing\""}},
                      "rules.textproto");
}

TEST(PolicyRules, RuleFieldsAreChecked) {
  const LoadedPolicy loaded = load(R"(name: "x"
policies {
  name: "main" access_mode: RESTRICTED enforcement: ENFORCE
  rules { name: "a" priority: 10 action: ALLOW domains: "a.example.com" }
  rules { name: "a" priority: 10 action: DENY networks: "198.19.0.1/24" }
  rules { name: "c" priority: 0 domains: "*.com" protocol: ICMP ports: "1" }
  rules { name: "d" priority: 20 action: DENY }
}
default_policy: "main"
)");
  test::expect_errors(loaded.errors,
                      {{5, "policies[0].rules[1].name", "duplicate rule name \"a\""},
                       {5, "policies[0].rules[1].priority", "priority 10 is also rule \"a\"'s (line 4)"},
                       {5, "policies[0].rules[1].networks[0]", "did you mean 198.19.0.0/24?"},
                       {6, "policies[0].rules[2].priority", "priority 0 is not in 1-65000"},
                       {6, "policies[0].rules[2].action", "missing action"},
                       {6, "policies[0].rules[2].domains[0]", "public suffix"},
                       {6, "policies[0].rules[2].ports", "ports do not apply to protocol ICMP"},
                       {7, "policies[0].rules[3]", "names no destination"}},
                      "rules.textproto");
}

TEST(PolicyRules, FullPolicyTakesNoRulesOrGroups) {
  const LoadedPolicy loaded = load(R"(name: "x"
domain_groups { name: "g" domains: "a.example.com" }
policies {
  name: "main" access_mode: FULL enforcement: ENFORCE
  allowed_domain_groups: "g"
  rules { name: "r" priority: 1 action: DENY domains: "b.example.com" }
}
default_policy: "main"
)");
  test::expect_errors(loaded.errors,
                      {{5, "policies[0].allowed_domain_groups", "remove allowed_domain_groups or use RESTRICTED"},
                       {6, "policies[0].rules", "remove rules or use RESTRICTED"}},
                      "rules.textproto");
}

TEST(PolicyRules, UnusedGroupAndShadowedRulesAreWarningsNamingBothLines) {
  const LoadedPolicy loaded = load(R"(name: "x"
domain_groups { name: "unused" domains: "a.example.com" }
policies {
  name: "main" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_domains: ["files.example.com:443", "other.example.net"]
  rules { name: "deny-all-example" priority: 10 action: DENY domains: ".example.com" }
  rules { name: "allow-api" priority: 20 action: ALLOW domains: "api.example.com" protocol: TCP ports: "443" }
  rules { name: "deny-some" priority: 30 action: DENY domains: "x.example.net" protocol: TCP }
  rules { name: "deny-more" priority: 40 action: DENY domains: "x.example.net" protocol: TCP ports: "443" }
  rules { name: "not-shadowed" priority: 50 action: ALLOW domains: "x.example.net" protocol: UDP }
}
default_policy: "main"
)");
  ASSERT_TRUE(loaded.ok()) << test::all_errors(loaded.errors);
  test::expect_errors(loaded.warnings,
                      {{2, "domain_groups[0].name", "domain group \"unused\" is used by no policy"},
                       {5, "policies[0].allowed_domains[0]",
                        "allowed_domains entry \"files.example.com:443\" never allows anything: DENY rule "
                        "\"deny-all-example\" (priority 10) at line 6"},
                       {7, "policies[0].rules[1]",
                        "ALLOW rule \"allow-api\" (priority 20) never allows anything: DENY rule \"deny-all-example\" "
                        "(priority 10) at line 6"},
                       {9, "policies[0].rules[3]",
                        "DENY rule \"deny-more\" (priority 40) never decides anything: DENY rule \"deny-some\" "
                        "(priority 30) at line 8"}},
                      "rules.textproto");
}

TEST(PolicyRules, ExistingPoliciesGetNoWarnings) {
  const LoadedPolicy loaded = load(test::kTestPolicy);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded.warnings.empty()) << test::all_errors(loaded.warnings);
}

class CompiledRules : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = test::compile_text(kRulesPolicy);
    ASSERT_NE(policy_, nullptr);
  }
  NameJudgement name(const char* text, uint8_t protocol, uint16_t port) const {
    return policy_->policies[0].judge_name(text, protocol, port, policy_->scratch[0]);
  }
  NameJudgement any_port(const char* text) const {
    return policy_->policies[0].judge_name_on_any_port(text, policy_->scratch[0]);
  }
  std::string rule_name(const NameJudgement& judgement) const {
    return judgement.rule == kNoRule ? "" : policy_->policies[0].rules[judgement.rule].name;
  }
  const NetworkRuleEntry* address(const char* text, uint8_t protocol, uint16_t port) const {
    const NetworkRuleGroup* group = policy_->networks->lookup(*parse_ip(text));
    return group ? group->deciding_rule(0, protocol, port, policy_->policies[0].rules) : nullptr;
  }
  std::unique_ptr<CompiledPolicy> policy_;
};

TEST_F(CompiledRules, RulesAreInPriorityOrder) {
  const auto& rules = policy_->policies[0].rules;
  ASSERT_EQ(rules.size(), 5u);
  EXPECT_EQ(rules[0].name, "quarantine");
  EXPECT_EQ(rules[1].name, "no-paste");
  EXPECT_EQ(rules[4].name, "partners");
}

TEST_F(CompiledRules, DomainGroupMembersAllowAsAllowedDomains) {
  const NameJudgement pypi = name("pypi.org", kIpProtoTcp, 443);
  EXPECT_TRUE(pypi.allowed);
  EXPECT_EQ(pypi.rule, kNoRule);
  EXPECT_EQ(policy_->policies[0].domain_pattern_group[pypi.pattern], "indexes");
  EXPECT_TRUE(name("files.pythonhosted.org", kIpProtoTcp, 443).allowed);
}

TEST_F(CompiledRules, DenyRuleWinsOverAllowedDomains) {
  // paste.example.org is also under the allowed ".example.org": the DENY rule decides first.
  const NameJudgement paste = name("paste.example.org", kIpProtoTcp, 443);
  EXPECT_TRUE(paste.matched);
  EXPECT_FALSE(paste.allowed);
  EXPECT_EQ(rule_name(paste), "no-paste");
  EXPECT_EQ(policy_->policies[0].domain_patterns[paste.pattern], "paste.example.org");
  EXPECT_TRUE(name("www.example.org", kIpProtoTcp, 443).allowed);
}

TEST_F(CompiledRules, DenyByPriorityOverAllowRuleOnlyOnItsPorts) {
  EXPECT_EQ(rule_name(name("upload.example.com", kIpProtoTcp, 443)), "no-upload");
  EXPECT_FALSE(name("upload.example.com", kIpProtoTcp, 443).allowed);
  // The ALLOW rule only lists 443: nothing allows port 80, and no rule decided.
  EXPECT_FALSE(name("upload.example.com", kIpProtoTcp, 80).matched);
  const NameJudgement other = name("data.example.com", kIpProtoTcp, 443);
  EXPECT_TRUE(other.allowed);
  EXPECT_EQ(rule_name(other), "storage");
  EXPECT_FALSE(name("data.example.com", kIpProtoUdp, 443).allowed);  // the rule is TCP only
}

TEST_F(CompiledRules, DnsAnswerFollowsTheSameRules) {
  EXPECT_TRUE(any_port("data.example.com").allowed);    // rule-only name: resolvable, learnable
  EXPECT_FALSE(any_port("x.pastebin.com").allowed);     // denied on every port: not resolvable
  EXPECT_EQ(rule_name(any_port("x.pastebin.com")), "no-paste");
  EXPECT_FALSE(any_port("paste.example.org").allowed);  // the DENY beats the allow list below it
  EXPECT_TRUE(any_port("upload.example.com").allowed);  // denied on 443 only: the name still resolves
  EXPECT_FALSE(any_port("unknown.example.net").matched);
}

TEST_F(CompiledRules, AddressRulesDecideByPriority) {
  const NetworkRuleEntry* quarantined = address("198.19.50.200", kIpProtoTcp, 443);
  ASSERT_NE(quarantined, nullptr);
  EXPECT_EQ(policy_->policies[0].rules[quarantined->rule].name, "quarantine");
  const NetworkRuleEntry* listed = address("198.19.50.10", kIpProtoTcp, 443);
  ASSERT_NE(listed, nullptr);
  EXPECT_EQ(listed->rule, kNoRule);
  const NetworkRuleEntry* partner = address("198.19.40.7", kIpProtoTcp, 5432);
  ASSERT_NE(partner, nullptr);
  EXPECT_EQ(policy_->policies[0].rules[partner->rule].name, "partners");
  EXPECT_EQ(policy_->policies[0].network_groups[partner->rule_index], "partners");
  EXPECT_EQ(address("198.19.40.7", kIpProtoTcp, 5433), nullptr);  // the member's port narrows the rule
}

}  // namespace
}  // namespace sluice

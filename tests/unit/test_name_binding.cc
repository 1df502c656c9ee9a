// Name-address binding on the packet path: an allowed SNI, Host or QUIC SNI passes only to an
// address a DNS answer the appliance saw gave for a name the policy allows on that port; else
// name_address_mismatch (ENFORCE: dropped, reset, recorded with the name; DRY_RUN: passes,
// recorded), or allowed_unbound_name under the policy's allow_unbound_names. And the one
// priority order of numbered rules over a flow's name and its address (RuleOrderTest), which
// decides when a name needs its binding at all.
#include <gtest/gtest.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "tests/unit/frame_builder.h"
#include "tests/unit/policy_fixture.h"
#include "tests/unit/worker_fixture.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPshAck = 0x18;
constexpr const char* kServer = "198.19.0.80";  // Tcp4's default destination

class NameBindingTest : public test::WorkerFixture {
 protected:
  void SetUp() override {
    bind_default_servers_ = false;  // nothing is bound but what a test binds
    emit_allowed_ = true;
    WorkerFixture::SetUp();
  }
  void adjust(PacketProcessorSetup& setup) override { setup.learned_table = &table_; }

  // Publishes a table holding (policy `slot`, `address`) → `name`, live until `expires_tsc`.
  void learn(const char* address, const std::string& name, uint64_t expires_tsc = ~0ull, uint16_t slot = 0) {
    inputs_.push_back({*parse_ip(address), slot, name, expires_tsc});
    const uint64_t consumed[kMaxLearningWorkers] = {};
    published_ = LearnedAddressTable::build(inputs_, consumed);
    table_.store(published_.get());
  }

  std::vector<Bytes> tls(const std::string& sni, uint16_t port, const char* src = "198.18.1.10",
                         const char* dst = kServer) {
    Tcp4 syn{.src = src, .dst = dst, .src_port = port, .flags = kSyn, .seq = 999, .ack = 0};
    Tcp4 ack{.src = src, .dst = dst, .src_port = port, .flags = kAck};
    Tcp4 hello{.src = src, .dst = dst, .src_port = port, .flags = kPshAck, .payload = test::client_hello(sni)};
    return {test::tcp4_frame(syn), test::tcp4_frame(ack), test::tcp4_frame(hello)};
  }

  void use_policy(const std::string& text) {
    policy_ = test::compile_text(text, ++generation_);  // a new generation: LPM names are process-wide
    ASSERT_NE(policy_, nullptr);
  }

  uint64_t generation_ = 1;
  std::vector<LearnedAddressTable::Input> inputs_;
  std::unique_ptr<LearnedAddressTable> published_;
  std::atomic<const LearnedAddressTable*> table_{nullptr};
};

TEST_F(NameBindingTest, AllowedNameToAnAddressNeverLearnedIsDroppedResetAndRecordedWithTheName) {
  burst(Side::inside, tls("pypi.org", 41000));
  EXPECT_EQ(out_.forward_count, 2);  // SYN and ACK went on; the ClientHello did not
  EXPECT_EQ(out_.reply_count, 1);    // the client's reset
  EXPECT_EQ(dropped(Reason::name_address_mismatch), 1u);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(recorded[0].reason, Reason::name_address_mismatch);
  EXPECT_EQ(recorded[0].destination_type, DestinationType::sni);
  EXPECT_EQ(std::string(recorded[0].name, recorded[0].name_length), "pypi.org");
}

TEST_F(NameBindingTest, DryRunPassesTheUnboundFlowAndRecordsIt) {
  burst(Side::inside, tls("pypi.org", 41001, "198.18.2.10"));
  EXPECT_EQ(out_.forward_count, 3);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_dry_run);
  EXPECT_EQ(recorded[0].reason, Reason::name_address_mismatch);
}

TEST_F(NameBindingTest, AddressLearnedForTheNamePasses) {
  learn(kServer, "pypi.org");
  burst(Side::inside, tls("pypi.org", 41002));
  EXPECT_EQ(out_.forward_count, 3);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::allowed_domain);
}

TEST_F(NameBindingTest, AddressLearnedByAnotherPolicyIsNotBound) {
  learn(kServer, "pypi.org", ~0ull, /*slot=*/2);  // the default policy's, not prod's
  burst(Side::inside, tls("pypi.org", 41003));
  EXPECT_EQ(dropped(Reason::name_address_mismatch), 1u);
}

TEST_F(NameBindingTest, ExpiredEntryNoLongerBinds) {
  learn(kServer, "pypi.org", /*expires_tsc=*/1);  // long past
  burst(Side::inside, tls("pypi.org", 41004));
  EXPECT_EQ(dropped(Reason::name_address_mismatch), 1u);
}

TEST_F(NameBindingTest, SharedCdnAddressLearnedForAnotherAllowedNameBinds) {
  // The table keeps one name an address (the latest answer's); a CDN address learned for one
  // allowed name serves a hello for another (docs/POLICY.md says why this stops nothing less).
  learn(kServer, "api.github.com");
  burst(Side::inside, tls("pypi.org", 41005));
  EXPECT_EQ(out_.forward_count, 3);
  EXPECT_EQ(dropped(Reason::name_address_mismatch), 0u);
}

TEST_F(NameBindingTest, LearnedNameWhoseRuleDoesNotAllowThePortDoesNotBind) {
  const std::string text = R"(
name: "ports"
policies {
  name: "prod" access_mode: RESTRICTED enforcement: ENFORCE
  allowed_domains: "pypi.org:443" allowed_domains: "db.example.com:5432"
}
default_policy: "prod"
)";
  use_policy(text);
  learn(kServer, "db.example.com");  // an answer for a name allowed on 5432 only
  burst(Side::inside, tls("pypi.org", 41006));
  EXPECT_EQ(dropped(Reason::name_address_mismatch), 1u);
}

TEST_F(NameBindingTest, HttpHostIsBoundToo) {
  std::string head = "GET / HTTP/1.1\r\nHost: pypi.org\r\n\r\n";
  burst(Side::inside, {test::tcp4_frame(Tcp4{.src_port = 41007, .dst_port = 80, .payload = Bytes(head.begin(), head.end())})});
  EXPECT_EQ(dropped(Reason::name_address_mismatch), 1u);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].destination_type, DestinationType::http_host);
}

TEST_F(NameBindingTest, DeniedNameStaysDeniedByItsOwnReason) {
  learn(kServer, "pypi.org");
  burst(Side::inside, tls("exfil.example.net", 41008));
  EXPECT_EQ(dropped(Reason::domain_not_allowed), 1u);
  EXPECT_EQ(dropped(Reason::name_address_mismatch), 0u);
}

TEST_F(NameBindingTest, SwitchLetsTheUnboundFlowThroughMarked) {
  std::string text = test::kTestPolicy;
  const std::string from = R"(allowed_proxies: "198.19.30.1:80")";
  text.replace(text.find(from), from.size(), from + " allow_unbound_names: true");
  use_policy(text);
  burst(Side::inside, tls("pypi.org", 41009));
  EXPECT_EQ(out_.forward_count, 3);
  EXPECT_EQ(read(counters_->flow_verdicts[static_cast<int>(Reason::allowed_unbound_name)]), 1u);
  auto recorded = events();  // the flow log's line: never silent
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::allowed);
  EXPECT_EQ(recorded[0].reason, Reason::allowed_unbound_name);
  EXPECT_EQ(std::string(recorded[0].name, recorded[0].name_length), "pypi.org");
  // A bound address is plain allowed_domain even with the switch on.
  learn(kServer, "pypi.org");
  burst(Side::inside, tls("pypi.org", 41010));
  recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::allowed_domain);
}

TEST_F(NameBindingTest, DeniedFlowIsBoundAgainUnderANewGeneration) {
  burst(Side::inside, tls("pypi.org", 41011, "198.18.2.10"));  // DRY_RUN: passes, recorded
  ASSERT_EQ(events().size(), 1u);
  learn(kServer, "pypi.org");
  policy_ = test::compile_text(test::kTestPolicy, ++generation_);
  Tcp4 more{.src = "198.18.2.10", .src_port = 41011, .flags = kPshAck, .payload = Bytes(20, 'x')};
  burst(Side::inside, {test::tcp4_frame(more)});
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);  // the verdict changed: allowed now
  EXPECT_EQ(recorded[0].reason, Reason::allowed_domain);
}

// docs/POLICY.md, "Rules with priorities": the lowest-numbered rule matching the flow's address
// or its name decides; below them an allowed network decides before an allowed name.
constexpr const char* kRuleOrderPolicy = R"(name: "order"
policies {
  name: "main"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_networks { cidr: "198.19.0.0/24" }
  allowed_domains: "pypi.org"
  rules { name: "db-first" priority: 10 action: ALLOW domains: "db.example.com" protocol: TCP ports: "443" }
  rules { name: "no-paste" priority: 20 action: DENY domains: "paste.example.org" protocol: TCP }
  rules { name: "lab" priority: 100 action: DENY networks: "198.19.1.0/24" }
}
default_policy: "main"
)";
constexpr const char* kLab = "198.19.1.5";  // in the DENY rule "lab" (100)

class RuleOrderTest : public NameBindingTest {
 protected:
  void SetUp() override {
    NameBindingTest::SetUp();
    use_policy(kRuleOrderPolicy);
  }
  FlowEvent only_event() {
    auto recorded = events();
    EXPECT_EQ(recorded.size(), 1u);
    return recorded.empty() ? FlowEvent{} : recorded[0];
  }
  std::string rule_of(const FlowEvent& event) const {
    return event.rule_index == kNoRule ? "" : policy_->policies[0].rules[event.rule_index].name;
  }
};

TEST_F(RuleOrderTest, NameRuleNumberedBeforeTheAddressRuleDecides) {
  learn(kLab, "db.example.com");
  burst(Side::inside, tls("db.example.com", 42001, "198.18.1.10", kLab));
  EXPECT_EQ(out_.forward_count, 3);  // the SYN waited for the name: the DENY at 100 is later
  const FlowEvent event = only_event();
  EXPECT_EQ(event.reason, Reason::allowed_domain);
  EXPECT_EQ(rule_of(event), "db-first");
}

TEST_F(RuleOrderTest, AddressRuleDecidesWhenTheNameMatchesNoEarlierRule) {
  learn(kLab, "pypi.org");
  burst(Side::inside, tls("pypi.org", 42002, "198.18.1.10", kLab));  // allowed_domains is below "lab"
  EXPECT_EQ(out_.forward_count, 2);  // SYN and ACK: the ClientHello is dropped
  EXPECT_EQ(dropped(Reason::denied_by_rule), 1u);
  const FlowEvent event = only_event();
  EXPECT_EQ(event.reason, Reason::denied_by_rule);
  EXPECT_EQ(rule_of(event), "lab");
}

TEST_F(RuleOrderTest, DenyNameRuleBeatsAnAllowedNetwork) {
  burst(Side::inside, tls("paste.example.org", 42003));  // kServer is in allowed_networks
  EXPECT_EQ(out_.forward_count, 2);
  const FlowEvent event = only_event();
  EXPECT_EQ(event.reason, Reason::denied_by_rule);
  EXPECT_EQ(rule_of(event), "no-paste");
  EXPECT_EQ(std::string(event.name, event.name_length), "paste.example.org");
}

TEST_F(RuleOrderTest, AllowedNetworkDecidesBelowTheRulesWithoutABinding) {
  burst(Side::inside, tls("anything.example.net", 42004));  // no rule for the name, none bound
  EXPECT_EQ(out_.forward_count, 3);
  const FlowEvent event = only_event();
  EXPECT_EQ(event.reason, Reason::allowed_network);
  EXPECT_EQ(event.rule_index, kNoRule);
}

TEST_F(RuleOrderTest, FlowWithoutANameIsJudgedOnItsAddressAlone) {
  // Another port: the address rule decides at the SYN.
  burst(Side::inside, {test::tcp4_frame(Tcp4{.dst = kLab, .src_port = 42005, .dst_port = 22, .flags = kSyn})});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(rule_of(only_event()), "lab");
  // A TLS port that waited for a name but got none (not TLS): the allowed network decides.
  burst(Side::inside, {test::tcp4_frame(Tcp4{.src_port = 42006, .flags = kSyn, .seq = 999, .ack = 0}),
                       test::tcp4_frame(Tcp4{.src_port = 42006, .payload = Bytes(40, 'x')})});
  EXPECT_EQ(out_.forward_count, 2);
  EXPECT_EQ(only_event().reason, Reason::allowed_network);
}

TEST_F(RuleOrderTest, AddressDecidesAtTheSynWhenNoNameRuleComesFirst) {
  use_policy(R"(name: "order"
policies {
  name: "main"
  access_mode: RESTRICTED
  enforcement: ENFORCE
  allowed_networks { cidr: "198.19.0.0/24" }
  rules { name: "late" priority: 100 action: DENY domains: "paste.example.org" }
  rules { name: "lab" priority: 50 action: DENY networks: "198.19.1.0/24" }
}
default_policy: "main"
)");
  burst(Side::inside, {test::tcp4_frame(Tcp4{.dst = kLab, .src_port = 42007, .flags = kSyn, .seq = 999, .ack = 0})});
  EXPECT_EQ(out_.forward_count, 0);  // "lab" (50) comes before every name rule: no name to wait for
  EXPECT_EQ(rule_of(only_event()), "lab");
  // The allow lists' network is below "late" (100): its TLS flows wait for their name, as above.
  burst(Side::inside, {test::tcp4_frame(Tcp4{.src_port = 42008, .flags = kSyn, .seq = 999, .ack = 0})});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_TRUE(events().empty());
}

TEST_F(RuleOrderTest, FlowDecidedWithoutItsNameKeepsItsAddressVerdictAfterAReload) {
  use_policy(R"(name: "order"
policies { name: "main" access_mode: RESTRICTED enforcement: ENFORCE allowed_networks { cidr: "198.19.0.0/24" } }
default_policy: "main"
)");
  burst(Side::inside, {test::tcp4_frame(Tcp4{.src_port = 42009, .flags = kSyn, .seq = 999, .ack = 0})});
  EXPECT_EQ(only_event().reason, Reason::allowed_network);  // no name rule: decided at the SYN
  // The new generation's name rule (db-first) comes before the allowed network, but this flow's
  // name was never read: its address alone decides again, it is not cut as a name unknown.
  use_policy(kRuleOrderPolicy);
  burst(Side::inside, {test::tcp4_frame(Tcp4{.src_port = 42009, .payload = Bytes(40, 'x')})});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(dropped(Reason::rejudge_name_unknown), 0u);
}

}  // namespace
}  // namespace sluice

#include "cli/explain.h"

#include <atomic>
#include <cstring>
#include <memory>

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "controlplane/policy/cidr.h"
#include "cli/explain_report.h"
#include "dataplane/domain/hostname.h"
#include "dataplane/policy/learned_addresses.h"
#include "cli/offline_eal.h"
#include "controlplane/policy/policy_compiler.h"
#include "cli/probe_frames.h"
#include "cli/probe_quic.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/worker_rig.h"

namespace sluice {

namespace {

namespace pb = sluice::policy;

// Documentation and discard-only addresses (RFC 5737, RFC 6666, RFC 3849): stand-ins for a
// name's address that no real policy is likely to allow by network.
constexpr const char* kStandInsV4[] = {"192.0.2.1", "198.51.100.1", "203.0.113.1"};
constexpr const char* kStandInsV6[] = {"100::1", "2001:db8:ffff:ffff::1"};

bool has_ports(uint8_t protocol) { return protocol == kIpProtoTcp || protocol == kIpProtoUdp; }

// The first stand-in the source's policy does not allow by network for this protocol and port,
// so that the name decides as it would for a destination outside every allowed network. When
// every stand-in is allowed (an allowed 0.0.0.0/0, say), the first is used and the dataplane's
// answer (allowed_network) is the true one for any address.
IpAddress stand_in_destination(const CompiledPolicy& policy, const ExplainQuestion& question) {
  uint16_t policy_index = policy.attachment_for(question.source).policy_index;
  std::optional<IpAddress> first;
  auto try_candidates = [&](const auto& candidates) -> std::optional<IpAddress> {
    for (const char* text : candidates) {
      IpAddress address = *parse_ip(text);
      if (!first) first = address;
      const NetworkRuleGroup* group = policy.networks ? policy.networks->lookup(address) : nullptr;
      if (!group || !group->deciding_rule(policy_index, question.ip_protocol, question.port,
                                          policy.policies[policy_index].rules))
        return address;
    }
    return std::nullopt;
  };
  auto found = question.source.family == 4 ? try_candidates(kStandInsV4) : try_candidates(kStandInsV6);
  return found ? *found : *first;
}

std::string protocol_text(pb::Protocol protocol) {
  switch (protocol) {
    case pb::TCP: return "TCP";
    case pb::UDP: return "UDP";
    case pb::ICMP: return "ICMP";
    default: return "any";
  }
}

ExplainNetworkRule describe_rule(const pb::Policy& policy, uint32_t index) {
  ExplainNetworkRule rule;
  rule.index = index;
  if (index >= static_cast<uint32_t>(policy.allowed_networks_size())) return rule;
  const auto& source = policy.allowed_networks(static_cast<int>(index));
  rule.cidr = source.cidr();
  rule.protocol = protocol_text(source.protocol());
  rule.ports.assign(source.ports().begin(), source.ports().end());
  rule.description = source.description();
  return rule;
}

// Fills what the flow's attachment and policy say, from their indexes in the compiled policy.
void describe_attachment(const CompiledPolicy& policy, const pb::PolicySet& source, uint16_t attachment_index,
                         uint16_t policy_index, ExplainAnswer& answer) {
  const CompiledAttachment& attachment = policy.attachments[attachment_index];
  const CompiledRuleset& rules = policy.policies[policy_index];
  answer.default_attachment = attachment_index == 0;
  answer.source_cidr = attachment.source_cidr;
  answer.source_label = attachment.source_label;
  answer.policy_name = rules.name;
  answer.access_mode = rules.access_mode;
  answer.policy_enforcement = rules.enforcement;
  answer.enforcement = attachment.enforcement;
  // Attachment i of the compiled policy is the set's attachment i - 1 (0 is the default).
  answer.enforcement_overridden =
      attachment_index > 0 && attachment_index <= source.attachments_size() &&
      source.attachments(attachment_index - 1).enforcement_override() != pb::ENFORCEMENT_UNSPECIFIED;
  answer.domain_pattern_count = rules.domain_patterns.size();
  const pb::Policy& written = source.policies(policy_index);
  answer.dns_resolvers.assign(written.dns_resolvers().begin(), written.dns_resolvers().end());
}

// The numbered rule `rule_index` (priority order) of `policy_index`, with its line in the file.
ExplainRule describe_numbered_rule(const CompiledRuleset& rules, const pb::Policy& written, uint16_t policy_index,
                                   uint16_t rule_index, const std::vector<std::vector<int>>* rule_lines) {
  const CompiledRule& rule = rules.rules[rule_index];
  ExplainRule described;
  described.name = rule.name;
  described.priority = rule.priority;
  described.deny = rule.deny;
  for (int i = 0; i < written.rules_size(); ++i)
    if (written.rules(i).name() == rule.name && rule_lines && policy_index < rule_lines->size() &&
        size_t(i) < (*rule_lines)[policy_index].size())
      described.line = (*rule_lines)[policy_index][size_t(i)];
  return described;
}

// Names the rule behind the dataplane's verdict.
void describe_rule_behind(const CompiledPolicy& policy, const pb::PolicySet& source, uint16_t policy_index,
                          uint16_t rule_index, const std::vector<std::vector<int>>* rule_lines,
                          ExplainAnswer& answer) {
  const CompiledRuleset& rules = policy.policies[policy_index];
  const pb::Policy& written = source.policies(policy_index);
  const uint16_t port = has_ports(answer.question.ip_protocol) ? answer.question.port : 0;
  if (rule_index < rules.rules.size())
    answer.deciding_rule = describe_numbered_rule(rules, written, policy_index, rule_index, rule_lines);
  bool name_decided = false;  // the deciding numbered rule matched the name, not the address
  if (!answer.judged_name.empty() && rules.domains) {
    // The pattern that decided, asked as the dataplane asks (CompiledRuleset::judge_name). For
    // a name denied on its port, the lowest pattern the name matches: its ports (in the pattern
    // as written) are what explain_because shows the operator.
    NameJudgement judgement =
        rules.judge_name(answer.judged_name, answer.question.ip_protocol, port, policy.scratch[0]);
    if (!judgement.matched && answer.verdict != FlowVerdict::pending && answer.reason == Reason::domain_not_allowed) {
      const int32_t by_name = rules.domains->match(answer.judged_name, policy.scratch[0]);
      judgement.matched = by_name != kNoDomainMatch;
      judgement.pattern = static_cast<uint32_t>(by_name);
      if (judgement.matched && judgement.pattern < rules.domain_pattern_rule.size())
        judgement.rule = rules.domain_pattern_rule[judgement.pattern];
    }
    if (judgement.matched && judgement.pattern < rules.domain_patterns.size()) {
      const std::string& group = rules.domain_pattern_group[judgement.pattern];
      if (answer.deciding_rule && judgement.rule == rule_index) {
        name_decided = true;
        answer.deciding_rule->member = rules.domain_patterns[judgement.pattern];
        answer.deciding_rule->group = group;
      } else if (judgement.rule == kNoRule) {
        answer.matched_domain_index = judgement.pattern;
        answer.matched_domain = rules.domain_patterns[judgement.pattern];
        answer.matched_group = group;
        answer.matched_storage = judgement.pattern >= rules.first_storage_rule;
      }
    }
  }
  // One priority order over names and addresses: a rule that decided without matching the name
  // (a name read or not) decided on the address.
  const bool by_address = answer.verdict != FlowVerdict::pending &&
                          (answer.reason == Reason::allowed_network ||
                           (answer.reason == Reason::denied_by_rule && !name_decided));
  if (answer.deciding_rule && by_address && policy.networks)
    if (const NetworkRuleGroup* group = policy.networks->lookup(answer.probe_destination))
      if (const NetworkRuleEntry* entry =
              group->deciding_rule(policy_index, answer.question.ip_protocol, port, rules.rules);
          entry && entry->rule_index < rules.network_sources.size()) {
        answer.deciding_rule->member = rules.network_sources[entry->rule_index];
        answer.deciding_rule->group = rules.network_groups[entry->rule_index];
      }
  bool allowed_by_network = answer.verdict != FlowVerdict::pending && answer.reason == Reason::allowed_network;
  // A name's stand-in address says nothing about the name, unless a network let it through.
  if (answer.question.destination_is_name && !allowed_by_network) return;
  const NetworkRuleGroup* group = policy.networks ? policy.networks->lookup(answer.probe_destination) : nullptr;
  if (!group) return;
  for (const auto& rule : group->rules)
    if (rule.policy_index == policy_index && rule.rule == kNoRule &&
        rule.rule_index < static_cast<uint32_t>(written.allowed_networks_size()))
      answer.covering_networks.push_back(describe_rule(written, rule.rule_index));
  if (allowed_by_network && !answer.deciding_rule)
    if (const NetworkRuleEntry* rule = group->deciding_rule(policy_index, answer.question.ip_protocol, port, rules.rules)) {
      answer.matched_network = describe_rule(written, rule->rule_index);
      if (rule->rule_index < rules.network_groups.size()) {
        answer.matched_group = rules.network_groups[rule->rule_index];
        if (!answer.matched_group.empty()) answer.matched_network->cidr = rules.network_sources[rule->rule_index];
      }
    }
}

}  // namespace

ExplainStatus explain_flow(const CompiledPolicy& policy, const pb::PolicySet& source, const ExplainQuestion& question,
                           ExplainAnswer& answer, std::string& error,
                           const std::vector<std::vector<int>>* rule_lines) {
  answer = ExplainAnswer{};
  answer.question = question;
  if (question.ip_protocol == kIpProtoTcp) answer.inspection = policy.port_class[question.port];
  if (question.ip_protocol == kIpProtoUdp) answer.inspection = policy.udp_port_class[question.port];
  if (question.destination_is_name && answer.inspection == PortClass::none) {
    error = question.ip_protocol == kIpProtoUdp
                ? "UDP port " + std::to_string(question.port) +
                      " is not a QUIC port of this policy set (quic_ports), so the dataplane never reads a name on "
                      "it; give the destination's IP address instead"
                : "TCP port " + std::to_string(question.port) +
                      " is neither a TLS nor an HTTP port of this policy set, so the dataplane never reads a name on "
                      "it; give the destination's IP address instead";
    return ExplainStatus::bad_question;
  }
  answer.probe_destination =
      !question.destination_is_name ? question.destination_ip
      : question.name_address       ? *question.name_address
                                    : stand_in_destination(policy, question);

  // The offline stand-in for a worker: a few buffers, a small event ring and flow table.
  WorkerRigOptions rig_options;
  rig_options.name = "xpl";
  rig_options.socket = rig_options.flow_socket = static_cast<int>(rte_socket_id());
  rig_options.mbuf_count = 63;
  rig_options.mbuf_cache = 0;
  rig_options.event_ring_size = 16;
  rig_options.flow_capacity = 64;
  PacketProcessorSetup setup;
  setup.emit_allowed_flows = true;  // an ALLOW is an answer too
  // A name is asked about as a client that resolved it to the probe's address would send it:
  // the address is bound to the name for every policy (name-address binding, docs/POLICY.md),
  // so that the answer is about the policy, not about which DNS answers a daemon happened to see.
  std::atomic<const LearnedAddressTable*> bound{nullptr};
  std::unique_ptr<LearnedAddressTable> bound_table;
  if (question.destination_is_name) {
    char normalized[kMaxHostnameLength];
    size_t length = 0;
    std::vector<LearnedAddressTable::Input> inputs;
    if (normalize_hostname(question.destination, normalized, length) == HostnameStatus::ok)
      for (const auto& ruleset : policy.policies)
        inputs.push_back({answer.probe_destination, ruleset.counter_slot, std::string(normalized, length), ~0ull});
    const uint64_t consumed[kMaxLearningWorkers] = {};
    bound_table = LearnedAddressTable::build(inputs, consumed);
    bound.store(bound_table.get());
    setup.learned_table = &bound;
  }
  WorkerRig rig;
  if (!rig.init(rig_options, setup, error)) return ExplainStatus::platform_failure;
  PacketProcessor& processor = rig.processor();

  std::optional<FlowEvent> event;
  auto send = [&](const Frame& frame) {
    rte_mbuf* mbuf = rte_pktmbuf_alloc(rig.mbufs());
    char* room = mbuf ? rte_pktmbuf_append(mbuf, static_cast<uint16_t>(frame.size())) : nullptr;
    if (!room) {
      if (mbuf) rte_pktmbuf_free(mbuf);
      error = "cannot allocate a packet buffer";
      return false;
    }
    std::memcpy(room, frame.data(), frame.size());
    BurstOutput output;
    processor.process_burst(policy, Side::inside, &mbuf, 1, output);
    if (output.reply_count > 0) (question.ip_protocol == kIpProtoTcp ? answer.tcp_reset : answer.icmp_unreachable) = true;
    for (uint16_t i = 0; i < output.forward_count; ++i) rte_pktmbuf_free(output.forward[i]);
    for (uint16_t i = 0; i < output.reply_count; ++i) rte_pktmbuf_free(output.replies[i]);
    FlowEvent taken;
    while (rte_ring_sc_dequeue_elem(rig.events(), &taken, sizeof taken) == 0) event = taken;
    return true;
  };

  ProbeFlow flow;
  flow.source = question.source;
  flow.destination = answer.probe_destination;
  flow.destination_port = question.port;
  bool sent = true;
  if (question.ip_protocol == kIpProtoTcp) {
    sent = send(tcp_frame(flow, kTcpSyn));
    // The handshake passes while the flow waits; the client's first payload decides.
    if (sent && !event && question.destination_is_name) {
      std::vector<uint8_t> payload = answer.inspection == PortClass::tls ? tls_client_hello(question.destination)
                                                                         : http_request(question.destination);
      sent = send(tcp_frame(flow, kTcpPsh | kTcpAck, payload));
    }
  } else if (question.ip_protocol == kIpProtoUdp && answer.inspection == PortClass::quic) {
    // A QUIC client's first Initial: for a name, the whole ClientHello naming it; for an address,
    // a ClientHello cut short after its handshake header, so that the flow waits for its name as
    // a real one would (unless the address decides first).
    std::vector<uint8_t> hello = tls_client_hello(question.destination_is_name ? question.destination : "probe.invalid");
    std::span<const uint8_t> message(hello.data() + 5, hello.size() - 5);  // QUIC carries no TLS record
    if (!question.destination_is_name) message = message.first(6);
    std::vector<uint8_t> initial = quic_initial_payload(message);
    if (initial.empty()) {
      error = "libcrypto could not protect a QUIC Initial";
      return ExplainStatus::platform_failure;
    }
    sent = send(udp_frame(flow, initial));
  } else if (question.ip_protocol == kIpProtoUdp) {
    sent = send(udp_frame(flow));
  } else {
    sent = send(icmp_echo_frame(flow));
  }
  if (!sent) return ExplainStatus::platform_failure;

  uint16_t attachment_index = 0, policy_index = 0, rule_index = kNoRule;
  if (event) {
    rule_index = event->rule_index;
    attachment_index = event->attachment_index;
    policy_index = event->policy_index;
    answer.verdict = event->verdict;
    answer.reason = event->reason;
    answer.destination_type = event->destination_type;
    answer.judged_name.assign(event->name, event->name_length);
  } else {
    // No verdict yet: an address on a TLS or HTTP port waits for the payload that names it.
    bool found = false;
    rig.flows().for_each([&](const FlowKey&, const FlowEntry& entry) {
      found = true;
      attachment_index = entry.attachment_index;
      policy_index = entry.policy_index;
      answer.verdict = entry.verdict;
      answer.destination_type = entry.inspection == PortClass::http   ? DestinationType::http_host
                                : entry.inspection == PortClass::quic ? DestinationType::quic_sni
                                                                      : DestinationType::sni;
    });
    if (!found || answer.verdict != FlowVerdict::pending) {
      error = "the dataplane reported no verdict for the probe";
      return ExplainStatus::platform_failure;
    }
  }
  describe_attachment(policy, source, attachment_index, policy_index, answer);
  describe_rule_behind(policy, source, policy_index, rule_index, rule_lines, answer);
  return ExplainStatus::answered;
}

int run_explain(const std::string& policy_path, const pb::PolicySet& source, const ExplainQuestion& question,
                bool json, std::ostream& out, std::ostream& err, const std::vector<std::vector<int>>* rule_lines) {
  OfflineEal eal;
  std::string error;
  if (!eal.start(error)) {
    err << "sluicectl explain: " << error << "\n";
    return 1;
  }
  ExplainAnswer answer;
  ExplainStatus status;
  {
    CompileResult compiled = compile_policy(source, 1, 1);
    if (!compiled.policy) {
      err << "sluicectl explain: " << policy_path << ": compile failed: " << compiled.error << "\n";
      return 1;
    }
    status = explain_flow(*compiled.policy, source, question, answer, error, rule_lines);
    answer.policy_file = policy_path;
  }  // the compiled policy's tables go before the EAL
  if (status != ExplainStatus::answered) {
    err << "sluicectl explain: " << error << "\n";
    return status == ExplainStatus::bad_question ? 2 : 1;
  }
  out << (json ? explain_json(answer, policy_path) + "\n" : explain_text(answer));
  return 0;
}

}  // namespace sluice

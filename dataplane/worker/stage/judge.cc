#include "dataplane/worker/stage/judge.h"

#include <cstring>
#include <string_view>

#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/stage/learn.h"

namespace sluice {

namespace {

constexpr uint16_t kDnsPort = 53;

// Verdicts reached on a name, which a new generation can reach again from the stored name; the
// other payload verdicts (no SNI, ECH, not HTTP…) depend on the bytes alone.
bool judged_on_name(Reason reason, const FlowName& name) {
  return reason == Reason::allowed_domain || reason == Reason::domain_not_allowed ||
         reason == Reason::allowed_dns_learned || reason == Reason::allowed_storage_path_style ||
         reason == Reason::storage_path_style_not_allowed || (reason == Reason::denied_by_rule && name.length > 0);
}

const NetworkRuleEntry* deciding_network_rule(const CompiledPolicy& policy, const FlowFacts& facts,
                                              uint16_t policy_index, uint16_t port) {
  const NetworkRuleGroup* group = policy.networks ? policy.networks->lookup(facts.responder) : nullptr;
  return group ? group->deciding_rule(policy_index, facts.protocol, port, policy.policies[policy_index].rules)
               : nullptr;
}

Decision address_decision(const CompiledRuleset& rules, const NetworkRuleEntry& entry) {
  Decision decision;
  decision.decided = true;
  decision.rule = entry.rule;
  decision.allowed = entry.rule == kNoRule || !rules.rules[entry.rule].deny;
  decision.reason = decision.allowed ? Reason::allowed_network : Reason::denied_by_rule;
  return decision;
}

// Whether the flow's name will be read (SNI, Host, QUIC SNI) before it is decided.
bool named_port(const CompiledPolicy& policy, const FlowFacts& facts, uint16_t port) {
  return (facts.protocol == kIpProtoTcp && policy.port_class[port] != PortClass::none) ||
         (facts.protocol == kIpProtoUdp && policy.udp_port_class[port] == PortClass::quic);
}

}  // namespace

Decision Judge::address_rule(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow) const {
  const uint16_t port = has_ports(facts.protocol) ? facts.responder_port : 0;
  const NetworkRuleEntry* entry = deciding_network_rule(policy, facts, flow.policy_index, port);
  return entry ? address_decision(policy.policies[flow.policy_index], *entry) : Decision{};
}

Decision Judge::judge_destination(const CompiledPolicy& policy, const FlowFacts& facts, FlowEntry& flow,
                                  FlowName& name, uint64_t now_tsc) const {
  flow.attachment_index = policy.attachment_index_for(facts.initiator);
  flow.policy_index = policy.attachments[flow.attachment_index].policy_index;
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  uint16_t port = has_ports(facts.protocol) ? facts.responder_port : 0;

  Decision decision;
  decision.decided = true;
  if (rules.access_mode == AccessMode::full) {
    decision.allowed = true;
    decision.reason = Reason::allowed_full_access;
  } else if (const NetworkRuleEntry* entry = deciding_network_rule(policy, facts, flow.policy_index, port);
             entry && !(named_port(policy, facts, port) && rules.name_rule_before(entry->rule, facts.protocol, port))) {
    // The address decides unless a numbered rule before its rule names domains and the flow's
    // name will be read: then the name is read first, and judge_read_name puts both in one
    // priority order (docs/POLICY.md, "Rules with priorities").
    decision = address_decision(rules, *entry);
  } else if (has_ports(facts.protocol) && port == kDnsPort) {
    decision.allowed = rules.allows_resolver(facts.responder);
    decision.reason = decision.allowed ? Reason::allowed_dns_resolver : Reason::dns_resolver_not_allowed;
    decision.type = DestinationType::dns;
  } else if (facts.protocol == kIpProtoTcp && policy.port_class[port] != PortClass::none) {
    // Judged on the ClientHello or request head, even to a learned address: the name the
    // client asks for is more precise than the address it resolved.
    decision.decided = false;
    decision.inspection = policy.port_class[port];
  } else if (facts.protocol == kIpProtoUdp && policy.udp_port_class[port] == PortClass::quic) {
    // Judged on the SNI of the client's QUIC Initials, like TLS over TCP.
    decision.decided = false;
    decision.inspection = PortClass::quic;
  } else {
    decision = judge_learned(policy, facts, flow, name, now_tsc);
  }
  return decision;
}

std::string_view Judge::learned_name(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                                     uint64_t now_tsc) const {
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  if (!setup_.learned_table) return {};
  const LearnedAddressTable* table = setup_.learned_table->load(std::memory_order_acquire);
  if (const LearnedAddressTable::Entry* entry = table ? table->find(rules.counter_slot, facts.responder, now_tsc)
                                                      : nullptr)
    return table->name(*entry);
  return learner_.recent_name(table, rules.counter_slot, facts.responder, now_tsc);
}

// Traffic to an address a DNS answer for an allowed name handed to this policy's hosts.
Decision Judge::judge_learned(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                              FlowName& name, uint64_t now_tsc) const {
  Decision decision;
  decision.decided = true;
  decision.reason = Reason::ip_not_allowed;
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  if (!rules.domains) return decision;
  std::string_view learned = learned_name(policy, facts, flow, now_tsc);
  if (learned.empty()) return decision;
  std::memcpy(name.bytes, learned.data(), learned.size());
  name.length = uint8_t(learned.size());
  uint16_t port = has_ports(facts.protocol) ? facts.responder_port : 0;
  Decision by_name = judge_name(policy, flow, name, DestinationType::ip, port);
  if (by_name.allowed) by_name.reason = Reason::allowed_dns_learned;
  else if (by_name.reason != Reason::denied_by_rule) by_name.reason = Reason::ip_not_allowed;  // learned, but no rule for the name allows this port
  return by_name;
}

// Bound to the policy, not to the one name: the table keeps one name per (policy, address),
// the latest answer's, and CDNs hand one address to many names (pypi.org and
// files.pythonhosted.org, github.com and its asset hosts). A hello naming one allowed name to an
// address learned for another allowed name (on this port) reaches nothing the learned name could
// not reach itself, so requiring the very same name would stop no byte and only break clients
// depending on the order of their answers. docs/POLICY.md, "The name must match the destination".
bool Judge::bound(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow, uint16_t port,
                  uint64_t now_tsc) const {
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  std::string_view learned = learned_name(policy, facts, flow, now_tsc);
  return !learned.empty() &&
         rules.judge_name(learned, flow.protocol, port, policy.scratch[setup_.worker_index]).allowed;
}

Decision Judge::judge_read_name(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                                const FlowName& name, DestinationType type, uint16_t port) const {
  Decision by_name = judge_name(policy, flow, name, type, port);
  // A numbered rule that matched the name is by_name.rule; kNoRule: the allow lists, or none.
  // An address rule numbered no later decides (the allow lists tie: allowed_networks, which
  // needs no binding, as before any name was read).
  Decision by_address = address_rule(policy, facts, flow);
  if (by_address.decided && by_address.rule <= by_name.rule) return by_address;
  return by_name;
}

Decision Judge::judge_bound_name(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                                 const FlowName& name, DestinationType type, uint16_t port, uint64_t now_tsc) const {
  Decision decision = judge_read_name(policy, facts, flow, name, type, port);
  if (!decision.allowed || decision.reason == Reason::allowed_network || bound(policy, facts, flow, port, now_tsc))
    return decision;
  // An address rule below the name's allows the address itself: a binding would add nothing.
  if (Decision by_address = address_rule(policy, facts, flow); by_address.decided && by_address.allowed)
    return by_address;
  if (policy.policies[flow.policy_index].allow_unbound_names) {
    decision.reason = Reason::allowed_unbound_name;
  } else {
    decision.allowed = false;
    decision.reason = Reason::name_address_mismatch;
    decision.rule = kNoRule;  // the rule allowed the name; the missing binding denied it
  }
  return decision;
}

Decision Judge::judge_name(const CompiledPolicy& policy, const FlowEntry& flow, const FlowName& name,
                           DestinationType type, uint16_t port) const {
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  Decision decision;
  decision.decided = true;
  decision.type = type;
  const NameJudgement judgement =
      rules.judge_name({name.bytes, name.length}, flow.protocol, port, policy.scratch[setup_.worker_index]);
  decision.allowed = judgement.allowed;
  decision.rule = judgement.rule;
  decision.reason = judgement.allowed  ? Reason::allowed_domain
                    : judgement.matched ? Reason::denied_by_rule
                                        : Reason::domain_not_allowed;
  if (!decision.allowed || rules.storage_endpoints.empty()) return decision;
  // A storage path-style endpoint names no bucket: under TLS (and to an address learned for
  // it) the bucket cannot be seen, so only the policy's opt-in lets it pass; a plain-HTTP
  // request is judged on its path after this (judge_storage_path).
  if (const auto* endpoint = rules.storage_endpoint_for({name.bytes, name.length}, port, policy.scratch[setup_.worker_index])) {
    decision.storage_endpoint = endpoint->provider;
    decision.storage_path_style_allowed = endpoint->path_style_allowed;
    if (type != DestinationType::http_host) judge_path_style_unseen(decision);
  }
  return decision;
}

void judge_path_style_unseen(Decision& decision) {
  if (decision.storage_path_style_allowed) {
    decision.reason = Reason::allowed_storage_path_style;
  } else {
    decision.allowed = false;
    decision.reason = Reason::storage_path_style_not_allowed;
  }
}

void judge_storage_path(const CompiledRuleset& rules, std::string_view path, Decision& decision) {
  decision.keep_path(path);
  const std::string_view bucket = storage_bucket_in_path(decision.storage_endpoint, path);
  if (rules.storage_bucket_listed(decision.storage_endpoint, bucket)) return;
  decision.allowed = false;
  decision.reason = Reason::storage_bucket_not_allowed;
}

// Allowed when the address was learned from DNS for an allowed domain whose rule allows the
// port, else denied as it was.
Decision Judge::judge_address_instead(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                                      FlowName& name, Reason otherwise, DestinationType type,
                                      uint64_t now_tsc) const {
  Decision decision = judge_learned(policy, facts, flow, name, now_tsc);
  if (!decision.allowed) {
    decision.reason = otherwise;
    decision.type = type;
    name.length = 0;
  }
  return decision;
}

Decision Judge::rejudge(const CompiledPolicy& policy, const FlowFacts& facts, FlowEntry& flow, FlowName& name,
                        uint64_t now_tsc) const {
  const uint16_t port = has_ports(facts.protocol) ? facts.responder_port : 0;
  if (flow.reason == Reason::allowed_dns_learned && flow.verdict != FlowVerdict::pending) {
    // Open flows to a learned address outlive the answer's TTL: judge the name they were
    // allowed for, unless the address is now in an allowed network.
    FlowName kept = name;
    Decision by_address = judge_destination(policy, facts, flow, name, now_tsc);
    name = kept;
    if (by_address.decided && by_address.allowed && by_address.reason != Reason::allowed_dns_learned)
      return by_address;
    Decision by_name = judge_name(policy, flow, name, DestinationType::ip, port);
    if (by_name.reason != Reason::denied_by_rule)
      by_name.reason = by_name.allowed ? Reason::allowed_dns_learned : Reason::domain_not_allowed;
    return by_name;
  }
  Decision decision = judge_destination(policy, facts, flow, name, now_tsc);
  if (decision.decided) return decision;
  if (flow.verdict == FlowVerdict::pending) return decision;  // still waiting for its payload
  // Its address now waits for the name (a name rule comes before its address rule). A flow
  // decided on its address after its name was read is judged on both again; one decided
  // without a name has none to read any more: its address rules alone decide, as for every
  // nameless flow.
  if (name.length > 0 && flow.reason == Reason::allowed_network)
    return judge_read_name(policy, facts, flow, name, flow.destination_type, port);
  if (name.length == 0)
    if (Decision by_address = address_rule(policy, facts, flow); by_address.decided) return by_address;
  // Denied or let through for want of a binding: bound again now (an answer may have come, the
  // switch may have changed). An allowed name stays judged on the name alone: its address was
  // bound when it opened, and an open connection outlives the answer's TTL.
  if (flow.reason == Reason::name_address_mismatch || flow.reason == Reason::allowed_unbound_name)
    return judge_bound_name(policy, facts, flow, name, flow.destination_type, port, now_tsc);
  if (judged_on_name(flow.reason, name)) return judge_read_name(policy, facts, flow, name, flow.destination_type, port);
  if (flow.reason == Reason::allowed_full_access || flow.reason == Reason::allowed_network ||
      flow.reason == Reason::allowed_dns_resolver || flow.reason == Reason::rejudge_name_unknown) {
    // Allowed before without reading its payload; the new policy judges on a name we never saw.
    decision.decided = true;
    decision.reason = Reason::rejudge_name_unknown;
    decision.type = DestinationType::ip;
    return decision;
  }
  // Denied on its bytes (no SNI, ECH, not HTTP…): the same bytes would be denied again.
  decision.decided = true;
  decision.reason = flow.reason;
  decision.type = flow.destination_type;
  return decision;
}

}  // namespace sluice

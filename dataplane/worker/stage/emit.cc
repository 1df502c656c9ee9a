#include "dataplane/worker/stage/emit.h"

#include <algorithm>
#include <cstring>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/worker/packet_processor.h"

namespace sluice {

bool Emitter::apply(const CompiledPolicy& policy, const Decision& decision, const FlowFacts& facts, FlowEntry& flow,
                    const FlowName& name, const HelloFacts& hello, bool is_first_verdict, uint64_t now_tsc) {
  flow.generation = policy.generation;
  if (!decision.decided) {
    if (decision.inspection != PortClass::none) flow.inspection = decision.inspection;
    return false;
  }
  FlowVerdict verdict = FlowVerdict::allowed;
  // A flow SNAT could not translate cannot leave whatever the policy's enforcement: DRY_RUN
  // would only let its packets be dropped one by one in the router.
  if (!decision.allowed)
    verdict = policy.attachments[flow.attachment_index].enforcement == Enforcement::enforce ||
                      decision.reason == Reason::snat_ports_exhausted
                  ? FlowVerdict::denied_enforced
                  : FlowVerdict::denied_dry_run;
  bool changed = verdict != flow.verdict || is_first_verdict;
  flow.verdict = verdict;
  flow.reason = decision.reason;
  flow.destination_type = decision.type;
  if (!changed) return false;

  auto& counters = *setup_.counters;
  uint16_t slot = policy.policies[flow.policy_index].counter_slot;
  if (is_first_verdict) {
    bump(counters.flow_verdicts[static_cast<int>(decision.reason)]);
    if (slot < kMaxPolicies) bump(counters.flows_by_policy[slot][static_cast<int>(verdict)]);
  } else {
    bump(counters.flows_rejudged[static_cast<int>(verdict)]);
  }
  emit_event(flow, facts, name, hello, decision.kept_path(), now_tsc, decision.rule);
  return true;
}

void Emitter::emit_event(const FlowEntry& flow, const FlowFacts& facts, const FlowName& name,
                         const HelloFacts& hello, std::string_view path, uint64_t now_tsc, uint16_t rule) {
  if (flow.verdict == FlowVerdict::allowed && !setup_.emit_allowed_flows) return;
  if (!setup_.events) return;
  FlowEvent event;
  event.flow_id = flow.flow_id;
  event.tsc = flow.last_seen_tsc ? flow.last_seen_tsc : now_tsc;
  event.generation = flow.generation;
  event.src = facts.initiator;
  event.dst = facts.responder;
  event.src_port = facts.initiator_port;
  event.dst_port = facts.responder_port;
  event.attachment_index = flow.attachment_index;
  event.policy_index = flow.policy_index;
  event.protocol = facts.protocol;
  event.verdict = flow.verdict;
  event.reason = flow.reason;
  event.destination_type = flow.destination_type;
  event.rule_index = rule;
  // Learned-address verdicts are IP verdicts that carry the name the address was learned for.
  bool has_name = flow.destination_type != DestinationType::ip || flow.reason == Reason::allowed_dns_learned;
  if (name.length && has_name) {
    event.name_length = name.length;
    std::memcpy(event.name, name.bytes, name.length);
  }
  if ((flow.destination_type == DestinationType::sni || flow.destination_type == DestinationType::quic_sni) &&
      hello.version) {
    event.tls_version = hello.version;
    event.tls_alpn_length = hello.alpn_length;
    std::memcpy(event.tls_alpn, hello.alpn, hello.alpn_length);
  }
  if (!path.empty()) {
    event.path_length = uint8_t(std::min<size_t>(path.size(), sizeof event.path));
    std::memcpy(event.path, path.data(), event.path_length);
  }
  enqueue(event);
}

void Emitter::emit_dns_denial(const FlowEntry& flow, const FlowFacts& facts, std::string_view query_name,
                              Reason reason, FlowVerdict verdict, int8_t rcode, uint64_t now_tsc, uint16_t rule) {
  if (!setup_.events) return;
  FlowEvent event;
  event.flow_id = flow.flow_id;
  event.tsc = now_tsc;
  event.generation = flow.generation;
  event.src = facts.initiator;
  event.dst = facts.responder;
  event.src_port = facts.initiator_port;
  event.dst_port = facts.responder_port;
  event.attachment_index = flow.attachment_index;
  event.policy_index = flow.policy_index;
  event.protocol = facts.protocol;
  event.verdict = verdict;
  event.reason = reason;
  event.destination_type = DestinationType::dns;
  event.name_length = uint8_t(std::min(query_name.size(), sizeof event.name));
  std::memcpy(event.name, query_name.data(), event.name_length);
  event.dns_query = true;
  event.dns_rcode = rcode;
  event.rule_index = rule;
  enqueue(event);
}

void Emitter::emit_pending(const FlowKey& key, const FlowEntry& flow) {
  if (!setup_.emit_allowed_flows || !setup_.events) return;
  FlowEvent event = pending_flow_event(key, flow);
  enqueue(event);
}

void Emitter::emit_denied(const FlowKey& key, const FlowEntry& flow) {
  if (!setup_.events) return;
  FlowEvent event = pending_flow_event(key, flow);
  enqueue(event);
}

void Emitter::enqueue(FlowEvent& event) {
  if (setup_.source_translation) [[unlikely]] {
    // Routed mode with SNAT: the source the flow left with (made when its first packet left,
    // PacketProcessor::translate_new_flow), or, for a verdict that lets it pass now (a QUIC flow
    // whose held Initials leave with it, a flow allowed again by a new policy), the one it is
    // about to leave with. None when its route does not translate.
    const bool leaves = !event.dns_query &&
                        (event.verdict == FlowVerdict::allowed || event.verdict == FlowVerdict::denied_dry_run);
    TranslatedSource translated;
    if (setup_.source_translation->translated_source(event.protocol, event.src, event.src_port, event.dst,
                                                     event.dst_port, leaves,
                                                     translated) == SourceTranslationStatus::translated) {
      event.translated_src = translated.address;
      event.translated_src_port = translated.port;
    }
  }
  if (rte_ring_sp_enqueue_elem(setup_.events, &event, sizeof event) != 0)
    bump(setup_.counters->events_dropped_ring_full);
}

}  // namespace sluice

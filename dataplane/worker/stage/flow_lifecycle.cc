#include "dataplane/worker/stage/flow_lifecycle.h"

#include <algorithm>

#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/stage/emit.h"
#include "dataplane/worker/stage/inspect.h"

namespace sluice {

namespace {

void track_tcp(FlowEntry& flow, const ParsedPacket& parsed, bool from_initiator) {
  const uint8_t flags = parsed.tcp_flags;
  if (flags & kTcpRst) {
    flow.state = FlowState::closed;
    return;
  }
  if (from_initiator) {
    if (is_pure_syn(parsed)) {
      flow.client_next_seq = parsed.tcp_seq + 1;
      flow.tcp_flags_seen |= kSeenClientSyn;
      if (flow.state == FlowState::open) flow.state = FlowState::syn_sent;
    }
    if (flags & kTcpFin) flow.tcp_flags_seen |= kSeenClientFin;
  } else {
    if ((flags & kTcpSyn) && (flags & kTcpAck)) {
      flow.tcp_flags_seen |= kSeenServerSynAck;
      if (flow.state == FlowState::syn_sent || flow.state == FlowState::open) flow.state = FlowState::established;
    }
    if (flags & kTcpFin) flow.tcp_flags_seen |= kSeenServerFin;
  }
  const uint8_t fins = flow.tcp_flags_seen & (kSeenClientFin | kSeenServerFin);
  if (fins == (kSeenClientFin | kSeenServerFin)) flow.state = FlowState::closed;
  else if (fins) flow.state = FlowState::closing;
  else if (flow.state == FlowState::open && !(flags & kTcpSyn)) flow.state = FlowState::established;  // picked up mid-stream
}

}  // namespace

FlowLifecycle::FlowLifecycle(const PacketProcessorSetup& setup, uint64_t tsc_hz, Inspector& inspector)
    : setup_(setup), flows_(*setup.flows), counters_(*setup.counters), inspector_(inspector),
      timeouts_(setup.timeouts, tsc_hz), tsc_hz_(tsc_hz) {
  refused_.init(tsc_hz);
}

int32_t FlowLifecycle::admit(Side ingress, PacketContext& packet, int32_t position, uint64_t now_tsc, bool& is_new,
                             Reason& refused) {
  const auto& parsed = packet.parsed;
  if (position < 0) {
    // Absent at lookup time; it may have been created earlier in this same burst.
    if (ingress == Side::outside) {
      refused = Reason::unsolicited_inbound;
      return -1;
    }
    position = flows_.insert(packet.key);
    if (position < 0) {
      // Every packet of a refused flow is dropped and counted under its reason; the flow once.
      if (refused_.first_refusal(packet.key, now_tsc)) bump(counters_.flows_refused_table_full);
      refused = Reason::flow_table_full;
      return -1;
    }
  }
  FlowEntry& flow = flows_.entry(position);
  // A flow idle past its timeout that the aging sweep has not reached yet is over all the same.
  const bool expired = flow.in_use && idle_past_timeout(flow, now_tsc);
  if (expired) {
    count_expiry(flow);
    if (ingress == Side::outside) {
      flows_.remove(position);
      refused = Reason::unsolicited_inbound;
      return -1;
    }
  }
  const bool from_initiator = flow.in_use && !expired ? packet.source_is_a == flow.initiator_is_a : true;
  packet.from_initiator = from_initiator;
  if (from_initiator && ingress == Side::outside) {
    // An outside host speaking with an inside host's address: never part of a flow we allowed.
    // Refused before anything below changes the flow (a spoofed SYN must not reopen it).
    refused = Reason::unsolicited_inbound;
    return -1;
  }
  // A SYN on the 5-tuple of a closed or reset connection starts a new connection, judged afresh
  // whatever its sequence number: an allowed connection must not lend its verdict (or the place
  // its stream was followed to) to the next one. Only a connection that was never allowed and
  // never answered keeps its verdict for the same SYN again (a retransmission of a SYN that was
  // refused), so that a client's retries make no new records.
  const bool same_syn_again = (flow.tcp_flags_seen & kSeenClientSyn) && parsed.tcp_seq + 1 == flow.client_next_seq &&
                              !(flow.tcp_flags_seen & kSeenServerSynAck) && flow.verdict != FlowVerdict::allowed;
  const bool reused = flow.in_use && !expired && from_initiator && flow.state == FlowState::closed &&
                      parsed.l4_protocol == kIpProtoTcp && is_pure_syn(parsed) && !same_syn_again;
  if (reused) inspector_.release(flow);
  is_new = !flow.in_use || reused || expired;
  if (is_new) {
    flow = FlowEntry{};
    flow.in_use = true;
    flow.initiator_is_a = packet.source_is_a;
    flow.flow_id = (uint64_t(setup_.worker_index) << 40) | next_flow_number_++;
    flow.protocol = parsed.l4_protocol;
    flow.created_tick = flow_tick(now_tsc);
    flows_.name(position).length = 0;
    bump(counters_.flows_created);
  }
  flow.last_seen_tsc = now_tsc;
  if (parsed.l4_protocol == kIpProtoTcp) track_tcp(flow, parsed, from_initiator);
  return position;
}

uint32_t FlowLifecycle::expire_idle(uint32_t budget, uint64_t now_tsc, Emitter& emitter,
                                   const CompiledPolicy* policy) {
  const uint32_t positions = flows_.position_count();
  if (positions == 0) return 0;
  uint32_t expired = 0;
  FlowKey key;
  for (uint32_t i = 0; i < budget && i < positions; ++i) {
    const int32_t position = int32_t(aging_cursor_);
    if (position == 0) finish_pass();
    aging_cursor_ = aging_cursor_ + 1 == positions ? 0 : aging_cursor_ + 1;
    FlowEntry& flow = flows_.entry(position);
    if (!flow.in_use) continue;
    const bool idle = idle_past_timeout(flow, now_tsc);
    // A flow that never sent a byte of a message (a browser's preconnect, a connection opened
    // before a restart) ages out as before (flow log: no payload), whatever headers it still
    // sends: they carry nothing. One mid-message is denied at its deadline.
    if (policy && timeouts_.pending_deadline_passed(flow, now_tsc) && flow.reassembly_slot >= 0 &&
        flows_.key_at(position, key)) {
      deny_at_deadline(*policy, key, flow, emitter);
      continue;
    }
    if (!idle) {
      if (flow.verdict == FlowVerdict::pending)
        pass_oldest_pending_ticks_ =
            std::max(pass_oldest_pending_ticks_, (flow_tick(now_tsc) - flow.created_tick) & kFlowTickMask);
      continue;
    }
    // Only an expired flow's key is read (another cache miss): the sweep costs a busy worker
    // one sequential entry read a position.
    if (!flows_.key_at(position, key)) continue;
    if (flow.verdict == FlowVerdict::pending) emitter.emit_pending(key, flow);
    count_expiry(flow);
    flows_.remove(position);
    ++expired;
  }
  return expired;
}

void FlowLifecycle::finish_pass() {
  const double cycles = double(uint64_t(pass_oldest_pending_ticks_) << kFlowTickShift);
  counters_.oldest_pending_age_ms.store(tsc_hz_ ? uint64_t(cycles * 1000.0 / double(tsc_hz_)) : 0,
                                        std::memory_order_relaxed);
  pass_oldest_pending_ticks_ = 0;
}

void FlowLifecycle::deny_at_deadline(const CompiledPolicy& policy, const FlowKey& key, FlowEntry& flow,
                                     Emitter& emitter) {
  const bool dry_run = flow.attachment_index < policy.attachments.size() &&
                       policy.attachments[flow.attachment_index].enforcement == Enforcement::dry_run;
  flow.verdict = dry_run ? FlowVerdict::denied_dry_run : FlowVerdict::denied_enforced;
  flow.reason = Reason::pending_deadline;
  inspector_.discard_held(flow, Reason::pending_deadline);
  inspector_.release(flow);
  bump(counters_.flow_verdicts[static_cast<int>(Reason::pending_deadline)]);
  emitter.emit_denied(key, flow);
}

void FlowLifecycle::count_expiry(FlowEntry& flow) {
  bump(counters_.flows_expired[static_cast<int>(flow.state)]);
  inspector_.release(flow);
}

}  // namespace sluice

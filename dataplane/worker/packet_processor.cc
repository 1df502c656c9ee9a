// The burst driver: runs a burst through the stages (dataplane/worker/stage/) in order —
// classify every packet, one bulk flow lookup, then per packet in arrival order: the flow's
// lifecycle, judge (and inspect) unless the flow is settled, learn, and act (forward, or reply
// and drop).
#include "dataplane/worker/packet_processor.h"

#include <algorithm>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "dataplane/parse/tcp_checksum.h"
#include "dataplane/parse/tcp_options.h"
#include "dataplane/worker/stage/classify.h"

namespace sluice {

namespace {
// A TTL or hop limit of 1 dies at the next router; the appliance does not know how many more
// hops the server is away, so only this much is certain (docs/POLICY.md, threat model).
constexpr uint8_t kLowestArrivingTtl = 1;

// Before its verdict a TLS/HTTP flow's client may send nothing but the message being judged:
// no data on its SYN (TCP Fast Open) and no TCP option the appliance cannot read. Reason::count
// when the packet is fine.
Reason pending_tcp_shape(std::span<const uint8_t> frame, const ParsedPacket& parsed) {
  if ((parsed.tcp_flags & kTcpSyn) && parsed.payload_length > 0) return Reason::tcp_syn_payload;
  switch (check_tcp_options(frame, parsed)) {
    case TcpOptionsStatus::ok: return Reason::count;
    case TcpOptionsStatus::not_allowed: return Reason::tcp_option_not_allowed;
    case TcpOptionsStatus::malformed: return Reason::tcp_option_malformed;
  }
  return Reason::tcp_option_malformed;
}

DestinationType pending_destination_type(PortClass inspection) {
  if (inspection == PortClass::http) return DestinationType::http_host;
  return inspection == PortClass::quic ? DestinationType::quic_sni : DestinationType::sni;
}
}  // namespace

PacketProcessor::PacketProcessor(const PacketProcessorSetup& setup)
    : setup_(setup),
      tsc_hz_(rte_get_tsc_hz()),
      learner_(setup_, tsc_hz_),
      judge_(setup_, learner_),
      inspector_(setup_, judge_),
      follower_(setup_, inspector_.reassembler(), inspector_.held()),
      emitter_(setup_),
      dns_guard_(setup_, learner_, emitter_),
      replier_(setup_, tsc_hz_),
      lifecycle_(setup_, tsc_hz_, inspector_),
      icmp_errors_(*setup_.flows, lifecycle_) {
  fragments_.init(setup_.fragment_slots, uint64_t(setup_.fragment_lifetime_seconds) * tsc_hz_);
  const uint32_t datagram_bytes = std::max(setup_.tls_max_client_hello_bytes, setup_.http_max_head_bytes) + kMaxL4Header;
  datagrams_.init(setup_.fragment_reassembly_slots, datagram_bytes,
                  uint64_t(setup_.fragment_lifetime_seconds) * tsc_hz_);
  held_fragments_.init(setup_.fragment_reassembly_slots, 2 * datagram_bytes + kMaxDatagramFragments * kMaxL3Header,
                       setup_.fragment_reassembly_slots * kMaxDatagramFragments);
  datagram_frame_.reset(new uint8_t[kMaxL3Header + datagram_bytes]);
}

uint64_t PacketProcessor::now() const { return setup_.external_clock ? clock_tsc_ : rte_rdtsc(); }

void PacketProcessor::process_burst(const CompiledPolicy& policy, Side ingress, rte_mbuf** packets, uint16_t count,
                                    BurstOutput& out) {
  out.forward_count = 0;
  out.reply_count = 0;
  count = std::min(count, kBurstSize);
  burst_tsc_ = now();  // one clock read a burst: its packets arrived together
  auto& counters = *setup_.counters;
  auto side = static_cast<int>(ingress);

  // The burst's buffers and headers are asked for before the first is read (l3fwd does the
  // same): they were written on another core, and one miss at a time would serialise them.
  for (uint16_t i = 0; i < count; ++i) rte_prefetch0(packets[i]);
  for (uint16_t i = 0; i < count; ++i) rte_prefetch0(rte_pktmbuf_mtod(packets[i], const void*));

  // Pass 1 (classify): parse every packet and collect the keys of those that belong in the
  // flow table.
  PacketContext contexts[kBurstSize];
  const FlowKey* keys[kBurstSize];
  uint16_t keyed_index[kBurstSize];
  uint32_t key_count = 0;
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < count; ++i) {
    bytes += rte_pktmbuf_pkt_len(packets[i]);
    if (classify(packets[i], contexts[i])) {
      keys[key_count] = &contexts[i].key;
      keyed_index[key_count] = i;
      ++key_count;
    }
  }
  bump(counters.rx_packets[side], count);
  bump(counters.rx_bytes[side], bytes);

  // Pass 2: one bulk lookup for the burst (it overlaps the buckets' and keys' misses), then the
  // found entries are asked for together, so that the act pass finds them in cache instead of
  // waiting for each in turn.
  int32_t positions[kBurstSize];
  int32_t position_of[kBurstSize];
  std::fill(position_of, position_of + kBurstSize, -1);
  if (key_count) {
    setup_.flows->lookup_bulk(keys, key_count, positions);
    for (uint32_t k = 0; k < key_count; ++k) {
      position_of[keyed_index[k]] = positions[k];
      if (positions[k] >= 0) setup_.flows->prefetch(positions[k]);
    }
  }

  // Pass 3: act, in arrival order.
  for (uint16_t i = 0; i < count; ++i) handle_packet(policy, ingress, contexts[i], position_of[i], out);
}

void PacketProcessor::handle_packet(const CompiledPolicy& policy, Side ingress, PacketContext& packet,
                                    int32_t position, BurstOutput& out) {
  const auto& parsed = packet.parsed;
  if (packet.parse_error != PacketParseError::none) {
    bump(setup_.counters->parse_errors[static_cast<int>(packet.parse_error)]);
    drop(packet.mbuf, reason_for(packet.parse_error));
    return;
  }
  if (packet.ipv4_header_checksum_bad) [[unlikely]] {
    // The next router discards it: what the appliance would judge is not what arrives.
    drop(packet.mbuf, Reason::ipv4_header_checksum_bad);
    return;
  }
  if (parsed.source_routed) [[unlikely]] {
    drop(packet.mbuf, parsed.ip_version == 4 ? Reason::ipv4_source_route : Reason::ipv6_routing_header_type0);
    return;
  }
  if (packet.link_control == LinkLocalIcmpv6::malformed) [[unlikely]] {
    drop(packet.mbuf, Reason::neighbour_discovery_malformed);
    return;
  }
  if (parsed.ip_version == 0 || packet.link_control == LinkLocalIcmpv6::on_link) {
    bump(setup_.counters->infrastructure_packets);
    out.forward[out.forward_count++] = packet.mbuf;
    return;
  }
  if (parsed.is_later_fragment) {
    handle_later_fragment(policy, packet, out);
    return;
  }

  bool is_new = false;
  Reason refused = Reason::unsolicited_inbound;
  position = lifecycle_.admit(ingress, packet, position, burst_tsc_, is_new, refused);
  if (position < 0) {
    if (refused == Reason::unsolicited_inbound && IcmpErrorAdmission::applies(ingress, parsed)) [[unlikely]] {
      // A router's error about a packet an inside host sent (stage/icmp_error.h).
      refused = icmp_errors_.admit(packet, burst_tsc_);
      if (refused == Reason::count) {
        bump(setup_.counters->icmp_errors_forwarded);
        out.forward[out.forward_count++] = packet.mbuf;
        return;
      }
    }
    drop(packet.mbuf, refused);
    return;
  }
  FlowEntry& flow = setup_.flows->entry(position);
  packet.onward_seq = parsed.tcp_seq;
  // A flow settled under this policy generation has nothing to judge or inspect: the common
  // case (established traffic) goes straight on to learning and acting.
  const bool settled = !is_new && flow.verdict != FlowVerdict::pending && flow.generation == policy.generation;
  if (!settled) [[unlikely]] {
    judge(policy, packet, flow, position, is_new, out);
    if (packet.drop_before_judging != Reason::count) {
      drop(packet.mbuf, packet.drop_before_judging);
      return;
    }
  }
  // Every later message of an allowed TLS/HTTP connection is judged too (stage/follow.h).
  if (StreamFollower::follows(flow) && !packet.followed) [[unlikely]] {
    if (!follow(policy, packet, flow, position, out)) return;
  }

  if (flow.destination_type == DestinationType::dns) [[unlikely]] {
    if (!packet.from_initiator && ingress == Side::inside && setup_.sides_known) {
      // The resolver is outside: its address on the inside port is a workload forging answers.
      bump(setup_.counters->dns_answers_from_inside);
      drop(packet.mbuf, Reason::dns_answer_from_inside);
      return;
    }
    if (parsed.payload_length > 0 && flow.verdict == FlowVerdict::allowed &&
        flow.reason == Reason::allowed_dns_resolver) {
      if (!packet.from_initiator) {
        learner_.learn_from_answer(policy, packet, flow, burst_tsc_);
      } else if (DnsQueryOutcome query = dns_guard_.judge_client_packet(policy, packet, flow, burst_tsc_);
                 query.drop) {
        if (parsed.l4_protocol == kIpProtoTcp) {
          // The stream is the resolver's to read whole: a denied message ends the connection
          // (reset to both ends below, like any flow denied on this packet).
          flow.verdict = FlowVerdict::denied_enforced;
          flow.reason = query.reason;
          packet.decided_now = true;
        } else {
          if (query.rcode >= 0) replier_.answer_dns(packet, query.question_end, uint8_t(query.rcode), out);
          drop(packet.mbuf, query.reason);
          return;
        }
      }
    }
  }
  if (parsed.is_fragment) fragments_.remember(parsed, position, flow.flow_id, burst_tsc_);

  switch (flow.verdict) {
    case FlowVerdict::pending:
      if (packet.pending_drop) {
        drop(packet.mbuf, packet.pending_drop_reason);
        return;
      }
      if (packet.first_fragment) {
        take_fragment(policy, packet, position, out);
        return;
      }
      if (packet.hold) {
        // A piece of the message, or a QUIC Initial: it leaves with the verdict (settle_held).
        if (!inspector_.hold(packet, flow)) drop(packet.mbuf, Reason::held_segments_full);
        return;
      }
      [[fallthrough]];
    case FlowVerdict::allowed:
    case FlowVerdict::denied_dry_run:
      if (packet.follow_hold) [[unlikely]] {
        // A piece of a later message: it leaves when that message is judged (stage/follow.h). The
        // follow stage made sure the hold has room.
        if (!inspector_.hold(packet, flow)) drop(packet.mbuf, Reason::held_segments_full);
        return;
      }
      out.forward[out.forward_count++] = packet.mbuf;
      return;
    case FlowVerdict::denied_enforced:
      replier_.tell_endpoints(packet, flow, burst_tsc_, out);
      // Both ends were reset: the connection is over. Closed, it ages out in tcp_closed_seconds,
      // and a new SYN on its 5-tuple (stacks reuse a port at once after a reset) is judged afresh.
      if (parsed.l4_protocol == kIpProtoTcp) flow.state = FlowState::closed;
      drop(packet.mbuf, packet.decided_now ? flow.reason : Reason::flow_denied);
      return;
  }
}

// A new flow, a flow judged under an older policy generation, or one still waiting for the
// name in its first bytes.
void PacketProcessor::judge(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow, int32_t position,
                            bool is_new, BurstOutput& out) {
  FlowName& name = setup_.flows->name(position);
  const auto& parsed = packet.parsed;
  const bool from_initiator = packet.from_initiator;
  FlowFacts facts;
  facts.initiator = from_initiator ? parsed.src : parsed.dst;
  facts.responder = from_initiator ? parsed.dst : parsed.src;
  facts.initiator_port = from_initiator ? parsed.src_port : parsed.dst_port;
  facts.responder_port = from_initiator ? parsed.dst_port : parsed.src_port;
  facts.protocol = parsed.l4_protocol;
  // A followed flow re-judged under a new generation: what its slot holds is the follow stage's
  // (a later message still being gathered), not the first verdict's.
  const bool followed_before = !is_new && StreamFollower::follows(flow);
  ReleasedPieces released;

  if (!is_new && lifecycle_.pending_deadline_passed(flow, burst_tsc_) &&
      (flow.reassembly_slot >= 0 || packet.parsed.payload_length > 0)) {
    // Undecided for too long, mid-message or starting one only now: denied, recorded, its
    // pieces freed. A packet without payload of a flow that never began a message (a
    // preconnect closing) carries nothing: it passes, and the flow ages out unrecorded.
    Decision late;
    late.decided = true;
    late.reason = Reason::pending_deadline;
    late.type = pending_destination_type(flow.inspection);
    packet.decided_now = emitter_.apply(policy, late, facts, flow, name, packet.hello, true, burst_tsc_);
  } else if (is_new) {
    Decision decision = judge_.judge_destination(policy, facts, flow, name, burst_tsc_);
    if (setup_.source_translation) [[unlikely]] translate_new_flow(policy, facts, flow, decision);
    packet.decided_now = emitter_.apply(policy, decision, facts, flow, name, packet.hello, true, burst_tsc_);
  } else if (flow.generation != policy.generation) {
    // A new policy generation: judge the flow again, so that a revoked domain or a move to
    // ENFORCE takes effect on this very packet.
    packet.decided_now = emitter_.apply(policy, judge_.rejudge(policy, facts, flow, name, burst_tsc_), facts, flow,
                                        name, packet.hello, false, burst_tsc_);
  }
  // Before its verdict a flow's client sends nothing the judging does not read: not even in the
  // IP header (options, extension headers), which would reach a destination not judged yet.
  if (flow.verdict == FlowVerdict::pending && from_initiator && parsed.ip_options) {
    packet.drop_before_judging = Reason::ip_options_before_verdict;
    return;
  }
  if (flow.verdict == FlowVerdict::pending && flow.inspection == PortClass::quic) {
    // Every client datagram of a pending QUIC flow is read (an empty one too: it is malformed).
    if (from_initiator) {
      // What is judged must be what the server gets: a datagram with no hop left never arrives.
      if (parsed.ttl <= kLowestArrivingTtl) {
        packet.drop_before_judging = Reason::ttl_too_low;
        return;
      }
      Decision decision = inspector_.inspect_quic_client(policy, packet, flow, name, facts, burst_tsc_);
      packet.decided_now = emitter_.apply(policy, decision, facts, flow, name, packet.hello, true, burst_tsc_);
    } else {
      inspector_.inspect_quic_server(packet, flow);
    }
  } else if (flow.verdict == FlowVerdict::pending && from_initiator && parsed.l4_protocol == kIpProtoTcp) {
    const Reason shape = pending_tcp_shape(packet.frame, parsed);
    if (shape != Reason::count) {
      packet.drop_before_judging = shape;
      return;
    }
    if (parsed.is_fragment && !packet.reassembled) {
      // Its payload is judged once the datagram is whole (the checksum covers all of it).
      packet.first_fragment = true;
      return;
    }
    if (parsed.payload_length > 0) {
      // What is judged must be what the server gets: a segment it would discard (bad checksum)
      // or never receive (no hop left) is neither inspected nor forwarded while undecided.
      if (parsed.ttl <= kLowestArrivingTtl) {
        packet.drop_before_judging = Reason::ttl_too_low;
        return;
      }
      if (!tcp_checksum_ok(packet.frame, parsed)) {
        packet.drop_before_judging = Reason::tcp_checksum_bad;
        return;
      }
      // A piece that could not be held is not read either: what is judged is what is held. When
      // the worker's hold is full the piece is dropped (the client sends it again, perhaps to
      // room); when the flow's own is (a message in more pieces than a hold takes: one-byte
      // segments), waiting cannot help, and the flow is denied at once, with its record.
      const uint32_t frame_bytes = uint32_t(packet.frame.size());
      const bool holdable = inspector_.can_hold(flow, frame_bytes, packet.pieces);
      if (!holdable && !inspector_.flow_hold_full(flow, frame_bytes, packet.pieces)) {
        packet.drop_before_judging = Reason::held_segments_full;
        return;
      }
      const uint32_t held_before = inspector_.bytes_held(flow);
      Decision decision;
      if (holdable) {
        decision = inspector_.inspect_payload(policy, packet, flow, name, facts, burst_tsc_);
      } else {
        decision.decided = true;
        decision.reason = Reason::held_segments_full;
        decision.type = pending_destination_type(flow.inspection);
        // Every piece in the slot is held, none reached the server: its reset points at the base.
        if (flow.reassembly_slot >= 0) packet.onward_seq = inspector_.reassembler().base_seq(flow.reassembly_slot);
      }
      // An allowed first message: what came with it (a pipelined request, a body) is followed now.
      if (decision.decided && decision.allowed && StreamFollower::allowed_on_name(decision.reason))
        decision = follower_.begin(policy, packet, flow, position, name, decision, packet.follow_hold, released);
      packet.decided_now = emitter_.apply(policy, decision, facts, flow, name, packet.hello, true, burst_tsc_);
      settle_released(released, packet, flow, out);
      if (flow.verdict == FlowVerdict::pending) {
        // Still undecided: a piece with new bytes of the message waits in the slot; one without
        // (before the message, or a repeat of held bytes) has nothing it may carry out.
        if (inspector_.bytes_held(flow) > held_before) {
          packet.hold = true;
        } else {
          packet.pending_drop = true;
          packet.pending_drop_reason = Reason::tcp_segment_outside_message;
        }
      }
    }
  }
  if (flow.verdict != FlowVerdict::pending && !(followed_before && StreamFollower::follows(flow))) {
    settle_held(packet, flow, out);
    // A followed flow keeps its slot: it holds the judged message until the server acknowledges it.
    if (!StreamFollower::follows(flow)) inspector_.release(flow);
  }
}

// A packet of a followed flow: false when it was dropped here (a segment beyond a gap, or one the
// server would not take), else on to act under the flow's (possibly new) verdict.
bool PacketProcessor::follow(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow, int32_t position,
                             BurstOutput& out) {
  FlowName& name = setup_.flows->name(position);
  ReleasedPieces released;
  const FollowOutcome outcome = follower_.follow(policy, packet, flow, position, name, released);
  if (outcome.drop != Reason::count) {
    settle_released(released, packet, flow, out);
    drop(packet.mbuf, outcome.drop);
    return false;
  }
  if (!outcome.decision.decided) {
    // A later message allowed: its pieces leave ahead of this packet, which may itself wait.
    settle_released(released, packet, flow, out);
    packet.follow_hold = outcome.hold;
    return true;
  }
  const auto& parsed = packet.parsed;
  const bool from_initiator = packet.from_initiator;
  FlowFacts facts;
  facts.initiator = from_initiator ? parsed.src : parsed.dst;
  facts.responder = from_initiator ? parsed.dst : parsed.src;
  facts.initiator_port = from_initiator ? parsed.src_port : parsed.dst_port;
  facts.responder_port = from_initiator ? parsed.dst_port : parsed.src_port;
  facts.protocol = parsed.l4_protocol;
  // The connection's verdict is now the later message's: a record of its own, counted like a
  // first verdict (docs/METRICS.md).
  packet.decided_now = emitter_.apply(policy, outcome.decision, facts, flow, name, packet.hello, true, burst_tsc_);
  // The denied message's pieces are freed under its reason (released, under DRY_RUN), with what
  // this packet took from the slot before it.
  settle_released(released, packet, flow, out);
  settle_held(packet, flow, out);
  inspector_.release(flow);
  return true;
}

void PacketProcessor::discard_held() {
  inspector_.discard_all_held();
  for (uint32_t slot = 0; slot < setup_.fragment_reassembly_slots; ++slot) {
    const uint16_t freed = held_fragments_.discard(int32_t(slot));
    if (freed) bump(setup_.counters->dropped_packets[static_cast<int>(Reason::held_segment_discarded)], freed);
  }
}

// Pieces the follow stage took out of a slot for this packet (follow.h): they go where a flow's
// held pieces go at its verdict (settle_held).
void PacketProcessor::settle_released(ReleasedPieces& released, const PacketContext& packet, const FlowEntry& flow,
                                      BurstOutput& out) {
  if (released.count == 0) return;
  const bool passes = flow.verdict == FlowVerdict::allowed || flow.verdict == FlowVerdict::denied_dry_run;
  if (passes && packet.from_initiator) {
    for (uint16_t i = 0; i < released.count; ++i) out.forward[out.forward_count++] = released.mbufs[i];
  } else {
    for (uint16_t i = 0; i < released.count; ++i) rte_pktmbuf_free(released.mbufs[i]);
    const Reason reason = passes ? Reason::held_segment_discarded : flow.reason;
    bump(setup_.counters->dropped_packets[static_cast<int>(reason)], released.count);
  }
  released.count = 0;
}

// Routed mode with source NAT: a new flow whose first packet leaves (allowed, passing under
// DRY_RUN, or a SYN forwarded while its name is awaited) gets its translation before its verdict is
// emitted, so that its record carries the source it leaves with. One that cannot get one is
// refused now, with its own reason and record (and its client told at once), instead of its
// packets vanishing one by one in the router.
void PacketProcessor::translate_new_flow(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                                         Decision& decision) {
  // A QUIC flow's first datagrams are held until its verdict (its event reserves then, emit.cc).
  const bool leaves = decision.decided ? decision.allowed ||
                                             policy.attachments[flow.attachment_index].enforcement != Enforcement::enforce
                                       : decision.inspection != PortClass::quic;
  if (!leaves) return;
  TranslatedSource translated;
  if (setup_.source_translation->translated_source(facts.protocol, facts.initiator, facts.initiator_port,
                                                   facts.responder, facts.responder_port, true,
                                                   translated) != SourceTranslationStatus::exhausted)
    return;
  if (!decision.decided && decision.inspection != PortClass::none)
    decision.type = pending_destination_type(decision.inspection);
  decision.decided = true;
  decision.allowed = false;
  decision.reason = Reason::snat_ports_exhausted;
}

// A flow's verdict settles its held pieces: they leave ahead of the packet that decided it when
// the flow passes and that packet came from the client's side (held pieces go where it goes);
// otherwise they are freed — under the flow's reason when denied, as discarded when a server
// packet (a policy reload) allowed it (the client retransmits what the server never acked).
void PacketProcessor::settle_held(const PacketContext& packet, const FlowEntry& flow, BurstOutput& out) {
  const bool passes = flow.verdict == FlowVerdict::allowed || flow.verdict == FlowVerdict::denied_dry_run;
  if (passes && packet.from_initiator) {
    out.forward_count += inspector_.release_held(flow, out.forward + out.forward_count);
    return;
  }
  inspector_.discard_held(flow, passes ? Reason::held_segment_discarded : flow.reason);
}

void PacketProcessor::handle_later_fragment(const CompiledPolicy& policy, PacketContext& packet, BurstOutput& out) {
  int32_t position = -1;
  uint64_t flow_id = 0;
  if (!fragments_.find(packet.parsed, burst_tsc_, position, flow_id)) {
    drop(packet.mbuf, Reason::fragment_without_first);
    return;
  }
  const FlowEntry& flow = setup_.flows->entry(position);
  if (!flow.in_use || flow.flow_id != flow_id) {
    drop(packet.mbuf, Reason::fragment_without_first);  // the flow aged out meanwhile
    return;
  }
  if (flow.protocol == kIpProtoTcp && datagrams_.find(packet.parsed, burst_tsc_) >= 0) {
    // A piece of a datagram under reassembly (or one whose first fragment the flow's verdict
    // overtook): packet_processor_fragments.cc.
    take_fragment(policy, packet, position, out);
    return;
  }
  switch (flow.verdict) {
    case FlowVerdict::pending: drop(packet.mbuf, Reason::fragment_of_undecided_flow); return;
    case FlowVerdict::denied_enforced: drop(packet.mbuf, Reason::flow_denied); return;
    case FlowVerdict::allowed:
    case FlowVerdict::denied_dry_run:
      bump(setup_.counters->fragments_forwarded);
      out.forward[out.forward_count++] = packet.mbuf;
      return;
  }
}

uint32_t PacketProcessor::expire_idle(uint32_t budget, const CompiledPolicy* policy) {
  return lifecycle_.expire_idle(budget, now(), emitter_, policy);
}

void PacketProcessor::drop(rte_mbuf* packet, Reason reason) {
  bump(setup_.counters->dropped_packets[static_cast<int>(reason)]);
  rte_pktmbuf_free(packet);
}

}  // namespace sluice

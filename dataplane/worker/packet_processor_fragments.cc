// IP fragments of a TLS/HTTP flow still waiting for its verdict. A ClientHello or request head
// split by IP fragmentation is put back together (FragmentReassembler), judged as one segment
// through the same judge() as any other, and its fragments follow the verdict: held while the
// flow stays undecided, forwarded in offset order on an allow, freed on a deny. Overlapping
// fragments that disagree, and fragments that contradict their datagram, deny the flow.
// After the verdict, fragments follow the flow's verdict (FragmentTracker), as before; a datagram
// whose reassembly the verdict overtook is settled by its next fragment.
#include <algorithm>
#include <cstring>

#include <rte_mbuf.h>

#include "dataplane/worker/packet_processor.h"

namespace sluice {

namespace {

// The flow as its initiator sees it, from its key (a later fragment carries no ports).
FlowFacts facts_from_key(const FlowKey& key, const FlowEntry& flow) {
  FlowFacts facts;
  facts.initiator.family = facts.responder.family = key.family;
  std::memcpy(facts.initiator.bytes, flow.initiator_is_a ? key.address_a : key.address_b, 16);
  std::memcpy(facts.responder.bytes, flow.initiator_is_a ? key.address_b : key.address_a, 16);
  facts.initiator_port = flow.initiator_is_a ? key.port_a : key.port_b;
  facts.responder_port = flow.initiator_is_a ? key.port_b : key.port_a;
  facts.protocol = key.protocol;
  return facts;
}

}  // namespace

int32_t PacketProcessor::start_datagram(const PacketContext& packet) {
  int32_t slot = datagrams_.start(packet.parsed, burst_tsc_);
  if (slot >= 0) return slot;
  // Every slot taken: one past its lifetime makes room (its fragments never completed).
  const int32_t stale = datagrams_.expired(burst_tsc_);
  if (stale < 0) return kNoFragmentSlot;
  const uint16_t freed = held_fragments_.discard(stale);
  if (freed) bump(setup_.counters->dropped_packets[static_cast<int>(Reason::fragment_reassembly_expired)], freed);
  datagrams_.release(stale);
  return datagrams_.start(packet.parsed, burst_tsc_);
}

void PacketProcessor::take_fragment(const CompiledPolicy& policy, PacketContext& packet, int32_t position,
                                    BurstOutput& out) {
  const auto& parsed = packet.parsed;
  FlowEntry& flow = setup_.flows->entry(position);
  int32_t slot = datagrams_.find(parsed, burst_tsc_);
  if (slot < 0) {
    // Only a first fragment starts a datagram: a later one before it is not reassembled (its
    // sender retransmits the segment, in a new datagram, when no ACK comes).
    if (parsed.is_later_fragment || flow.verdict != FlowVerdict::pending) {
      drop(packet.mbuf, Reason::fragment_of_undecided_flow);
      return;
    }
    slot = start_datagram(packet);
    if (slot < 0) {
      drop(packet.mbuf, Reason::fragment_capacity_exhausted);
      return;
    }
  }
  const uint32_t frame_bytes = rte_pktmbuf_pkt_len(packet.mbuf);
  const size_t data_end = size_t(parsed.payload_offset) + parsed.payload_length;
  const auto bytes = packet.frame.subspan(parsed.l4_offset, data_end - parsed.l4_offset);
  FragmentStatus status = FragmentStatus::malformed;
  if (held_fragments_.fits(slot, frame_bytes) && parsed.l4_offset <= kMaxL3Header)
    status = datagrams_.add(slot, parsed.fragment_offset, bytes, parsed.more_fragments);
  switch (status) {
    case FragmentStatus::incomplete:
    case FragmentStatus::complete:
      held_fragments_.hold(slot, packet.mbuf, parsed.fragment_offset, frame_bytes);
      break;
    case FragmentStatus::conflict:
    case FragmentStatus::malformed:
    case FragmentStatus::too_large: {
      const Reason reason =
          status == FragmentStatus::conflict ? Reason::fragment_overlap_conflict : Reason::fragment_malformed;
      drop(packet.mbuf, reason);
      if (flow.verdict == FlowVerdict::pending) {
        deny_by_fragment(policy, slot, position, reason);
      } else {
        const uint16_t freed = held_fragments_.discard(slot);
        if (freed) bump(setup_.counters->dropped_packets[static_cast<int>(reason)], freed);
        datagrams_.release(slot);
      }
      return;
    }
  }
  if (status == FragmentStatus::incomplete) return;
  if (flow.verdict != FlowVerdict::pending) {
    // The verdict came while this datagram was incomplete: its fragments follow it.
    PacketContext settled;
    settled.from_initiator = true;
    settle_fragments(settled, slot, flow, out);
    return;
  }
  judge_datagram(policy, slot, position, out);
}

// The whole datagram as one frame (the first fragment's headers, marked unfragmented), judged
// like any segment of its flow.
void PacketProcessor::judge_datagram(const CompiledPolicy& policy, int32_t slot, int32_t position,
                                     BurstOutput& out) {
  FlowEntry& flow = setup_.flows->entry(position);
  rte_mbuf* first = held_fragments_.first(slot);
  const auto datagram = datagrams_.datagram(slot);
  ParsedPacket first_parsed;
  const std::span<const uint8_t> first_frame{rte_pktmbuf_mtod(first, const uint8_t*), rte_pktmbuf_data_len(first)};
  if (parse_packet(first_frame, first_parsed) != PacketParseError::none || first_parsed.is_later_fragment) {
    deny_by_fragment(policy, slot, position, Reason::fragment_malformed);
    return;
  }
  const size_t header = first_parsed.l4_offset;
  uint8_t* frame = datagram_frame_.get();
  std::memcpy(frame, first_frame.data(), header);
  std::memcpy(frame + header, datagram.data(), datagram.size());
  const size_t l3 = first_parsed.l3_offset;
  if (first_parsed.ip_version == 4) {
    const size_t total = header - l3 + datagram.size();
    frame[l3 + 2] = uint8_t(total >> 8);
    frame[l3 + 3] = uint8_t(total);
    frame[l3 + 6] = frame[l3 + 7] = 0;  // no longer a fragment (the header checksum is nobody's business here)
  } else {
    const size_t payload = header - l3 - 40 + datagram.size();
    frame[l3 + 4] = uint8_t(payload >> 8);
    frame[l3 + 5] = uint8_t(payload);
    // The fragment header stays, at offset 0 with M clear: the first and last fragment at once.
    frame[header - 8 + 2] = 0;
    frame[header - 8 + 3] = 0;
  }
  PacketContext whole;
  whole.frame = {frame, header + datagram.size()};
  whole.reassembled = true;
  whole.pieces = uint8_t(held_fragments_.held(slot));
  whole.from_initiator = true;
  if (parse_packet(whole.frame, whole.parsed) != PacketParseError::none || whole.parsed.l4_protocol != kIpProtoTcp) {
    deny_by_fragment(policy, slot, position, Reason::fragment_malformed);
    return;
  }
  whole.source_is_a = make_flow_key(whole.parsed, whole.key);
  whole.onward_seq = whole.parsed.tcp_seq;
  judge(policy, whole, flow, position, false, out);
  if (whole.drop_before_judging != Reason::count) {
    const uint16_t freed = held_fragments_.discard(slot);
    bump(setup_.counters->dropped_packets[static_cast<int>(whole.drop_before_judging)], freed);
    datagrams_.release(slot);
    return;
  }
  settle_fragments(whole, slot, flow, out);
  // Both ends were told: the connection is over (as handle_packet does for a deciding segment).
  if (flow.verdict == FlowVerdict::denied_enforced) flow.state = FlowState::closed;
}

// The fragments of a whole datagram after judge(): held with the flow's other pieces while it
// is undecided, forwarded in offset order on an allow (after the pieces judge() released), freed
// on a deny (the endpoints told as for any deciding segment).
void PacketProcessor::settle_fragments(const PacketContext& packet, int32_t slot, const FlowEntry& flow,
                                       BurstOutput& out) {
  rte_mbuf* fragments[kMaxHeldSegments];
  uint16_t count = 0;
  Reason dropped_as = Reason::count;
  switch (flow.verdict) {
    case FlowVerdict::pending:
      if (packet.pending_drop) {
        dropped_as = packet.pending_drop_reason;
        break;
      }
      if (!packet.hold) {  // a datagram without payload carries nothing to hold
        out.forward_count += held_fragments_.release_to(slot, out.forward + out.forward_count);
        break;
      }
      count = held_fragments_.release_to(slot, fragments);
      for (uint16_t i = 0; i < count; ++i)
        if (!inspector_.hold_mbuf(flow, fragments[i], packet.parsed.tcp_seq, rte_pktmbuf_pkt_len(fragments[i])))
          drop(fragments[i], Reason::held_segments_full);
      break;
    case FlowVerdict::allowed:
    case FlowVerdict::denied_dry_run:
      if (packet.follow_hold) {  // the datagram ends inside a later message: it waits for that one
        count = held_fragments_.release_to(slot, fragments);
        for (uint16_t i = 0; i < count; ++i)
          if (!inspector_.hold_mbuf(flow, fragments[i], packet.parsed.tcp_seq, rte_pktmbuf_pkt_len(fragments[i])))
            drop(fragments[i], Reason::held_segments_full);
        break;
      }
      out.forward_count += held_fragments_.release_to(slot, out.forward + out.forward_count);
      break;
    case FlowVerdict::denied_enforced:
      if (packet.reassembled) replier_.tell_endpoints(packet, flow, burst_tsc_, out);
      dropped_as = packet.decided_now ? flow.reason : Reason::flow_denied;
      break;
  }
  if (dropped_as != Reason::count) {
    const uint16_t freed = held_fragments_.discard(slot);
    if (freed) bump(setup_.counters->dropped_packets[static_cast<int>(dropped_as)], freed);
  }
  datagrams_.release(slot);
}

// A fragment that contradicts its datagram denies a pending flow, with its record; the
// datagram's fragments are freed.
void PacketProcessor::deny_by_fragment(const CompiledPolicy& policy, int32_t slot, int32_t position, Reason reason) {
  FlowEntry& flow = setup_.flows->entry(position);
  const uint16_t freed = held_fragments_.discard(slot);
  if (freed) bump(setup_.counters->dropped_packets[static_cast<int>(reason)], freed);
  datagrams_.release(slot);
  FlowKey key;
  if (!setup_.flows->key_at(position, key)) return;
  const FlowFacts facts = facts_from_key(key, flow);
  Decision denial;
  denial.decided = true;
  denial.reason = reason;
  denial.type = flow.inspection == PortClass::http ? DestinationType::http_host : DestinationType::sni;
  HelloFacts no_hello;
  emitter_.apply(policy, denial, facts, flow, setup_.flows->name(position), no_hello, true, burst_tsc_);
  if (flow.verdict != FlowVerdict::pending) {
    inspector_.discard_held(flow, reason);
    inspector_.release(flow);
  }
}

}  // namespace sluice

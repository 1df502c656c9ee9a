// The hold: a pending flow's pieces wait in its slot for the verdict (held_segments.h says why).
// A TCP flow's segments wait by sequence offset in its reassembly slot's hold; a QUIC flow's
// Initial datagrams wait, in arrival order, in the hold of its CRYPTO stream slot (the holds of
// the QUIC slots follow those of the reassembly slots in one HeldSegments, so that both share
// the worker's bound). The burst driver asks here before and after inspecting a packet.
#include <rte_mbuf.h>

#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/stage/inspect.h"

namespace sluice {

int32_t Inspector::held_slot(const FlowEntry& flow) const {
  if (flow.reassembly_slot < 0) return -1;
  return flow.inspection == PortClass::quic ? int32_t(setup_.reassembly_slots) + flow.reassembly_slot
                                            : flow.reassembly_slot;
}

uint32_t Inspector::bytes_held(const FlowEntry& flow) const {
  if (flow.reassembly_slot < 0 || flow.inspection == PortClass::quic) return 0;
  return reassembler_.bytes_held(flow.reassembly_slot);
}

bool Inspector::can_hold(const FlowEntry& flow, uint32_t frame_bytes, uint32_t pieces) const {
  if (flow.reassembly_slot < 0)  // its slot starts empty
    return held_.held_total() + pieces <= setup_.held_segments && pieces <= uint32_t(kMaxHeldSegments);
  return held_.fits(held_slot(flow), frame_bytes, pieces);
}

bool Inspector::hold_mbuf(const FlowEntry& flow, rte_mbuf* mbuf, uint32_t seq, uint32_t frame_bytes) {
  if (flow.reassembly_slot < 0 || flow.inspection == PortClass::quic) return false;
  const int32_t offset = int32_t(seq - reassembler_.base_seq(flow.reassembly_slot));
  return held_.hold(flow.reassembly_slot, mbuf, offset, frame_bytes);
}

bool Inspector::hold(const PacketContext& packet, const FlowEntry& flow) {
  if (flow.reassembly_slot < 0) return false;
  if (flow.inspection == PortClass::quic)  // one offset for all: they leave in arrival order
    return held_.hold(held_slot(flow), packet.mbuf, 0, rte_pktmbuf_pkt_len(packet.mbuf));
  const uint32_t payload_seq = packet.parsed.tcp_seq + ((packet.parsed.tcp_flags & kTcpSyn) ? 1 : 0);
  const int32_t offset = int32_t(payload_seq - reassembler_.base_seq(flow.reassembly_slot));
  return held_.hold(flow.reassembly_slot, packet.mbuf, offset, rte_pktmbuf_pkt_len(packet.mbuf));
}

uint16_t Inspector::release_held(const FlowEntry& flow, rte_mbuf** out) {
  return held_.release_to(held_slot(flow), out);
}

void Inspector::discard_held(const FlowEntry& flow, Reason reason) {
  const uint16_t freed = held_.discard(held_slot(flow));
  if (freed) bump(setup_.counters->dropped_packets[static_cast<int>(reason)], freed);
}

void Inspector::discard_all_held() {
  for (uint32_t slot = 0; slot < setup_.reassembly_slots + setup_.quic_slots; ++slot) {
    const uint16_t freed = held_.discard(int32_t(slot));
    if (freed) bump(setup_.counters->dropped_packets[static_cast<int>(Reason::held_segment_discarded)], freed);
  }
}

}  // namespace sluice

// The hold: a pending TCP flow's pieces wait in its reassembly slot for the verdict
// (held_segments.h says why). The burst driver asks here before and after inspecting a segment.
#include <rte_mbuf.h>

#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/stage/inspect.h"

namespace sluice {

uint32_t Inspector::bytes_held(const FlowEntry& flow) const {
  if (flow.reassembly_slot < 0 || flow.inspection == PortClass::quic) return 0;
  return reassembler_.bytes_held(flow.reassembly_slot);
}

bool Inspector::can_hold(const FlowEntry& flow, uint32_t frame_bytes, uint32_t pieces) const {
  if (flow.reassembly_slot < 0)  // its slot starts empty
    return held_.held_total() + pieces <= setup_.held_segments && pieces <= uint32_t(kMaxHeldSegments);
  return held_.fits(flow.reassembly_slot, frame_bytes, pieces);
}

bool Inspector::hold_mbuf(const FlowEntry& flow, rte_mbuf* mbuf, uint32_t seq, uint32_t frame_bytes) {
  if (flow.reassembly_slot < 0 || flow.inspection == PortClass::quic) return false;
  const int32_t offset = int32_t(seq - reassembler_.base_seq(flow.reassembly_slot));
  return held_.hold(flow.reassembly_slot, mbuf, offset, frame_bytes);
}

bool Inspector::hold(const PacketContext& packet, const FlowEntry& flow) {
  if (flow.reassembly_slot < 0 || flow.inspection == PortClass::quic) return false;
  const uint32_t payload_seq = packet.parsed.tcp_seq + ((packet.parsed.tcp_flags & kTcpSyn) ? 1 : 0);
  const int32_t offset = int32_t(payload_seq - reassembler_.base_seq(flow.reassembly_slot));
  return held_.hold(flow.reassembly_slot, packet.mbuf, offset, rte_pktmbuf_pkt_len(packet.mbuf));
}

uint16_t Inspector::release_held(const FlowEntry& flow, rte_mbuf** out) {
  if (flow.reassembly_slot < 0 || flow.inspection == PortClass::quic) return 0;
  return held_.release_to(flow.reassembly_slot, out);
}

void Inspector::discard_held(const FlowEntry& flow, Reason reason) {
  if (flow.reassembly_slot < 0 || flow.inspection == PortClass::quic) return;
  const uint16_t freed = held_.discard(flow.reassembly_slot);
  if (freed) bump(setup_.counters->dropped_packets[static_cast<int>(reason)], freed);
}

}  // namespace sluice

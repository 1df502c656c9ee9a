// Classify stage: parses a received packet and, when it belongs in the flow table, builds the
// key the burst driver hands to the one bulk lookup of the burst. Inline: it runs for every
// packet and is a handful of tests around the parser.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/parse/ipv4_header_checksum.h"
#include "dataplane/parse/link_local_icmpv6.h"
#include "dataplane/worker/stage/packet_context.h"

namespace sluice {

inline Reason reason_for(PacketParseError error) {
  if (error == PacketParseError::unsupported_ethertype) return Reason::unsupported_ethertype;
  if (error == PacketParseError::bad_arp || error == PacketParseError::arp_trailing_data) return Reason::arp_malformed;
  return Reason::malformed_packet;
}

// Cuts `mbuf` to its first `length` bytes: what follows the L3 packet (Ethernet padding, a
// trailer, segments chained after the first) belongs to no layer the appliance reads, so it
// never leaves. Allocation-free; a frame shorter than the Ethernet minimum is padded with zeros
// by the NIC (or its driver) that sends it.
inline void trim_to_l3_end(rte_mbuf* mbuf, uint16_t length) {
  if (rte_pktmbuf_pkt_len(mbuf) == length && mbuf->next == nullptr) return;  // the common case
  if (mbuf->next != nullptr) {
    // The parser read the first segment only (the L3 packet lies in it): the rest is trailer.
    rte_pktmbuf_free(mbuf->next);
    mbuf->next = nullptr;
    mbuf->nb_segs = 1;
  }
  mbuf->data_len = length;
  mbuf->pkt_len = length;
}

// Fills `packet` from `mbuf`; true when the packet has a flow (its key is then set). A parsed
// frame is cut to its L2 header and L3 packet (trim_to_l3_end) before anything else reads it.
// Not keyed: parse errors, IPv4 with a wrong header checksum (dropped), non-IP and neighbour
// discovery that stays on the link (passed without a flow, or dropped when malformed),
// source-routed packets (dropped), later fragments (they follow their first fragment's flow).
// ND/MLD to an off-link destination is keyed: judged like any ICMPv6.
inline bool classify(rte_mbuf* mbuf, PacketContext& packet) {
  packet.mbuf = mbuf;
  packet.frame = {rte_pktmbuf_mtod(mbuf, const uint8_t*), rte_pktmbuf_data_len(mbuf)};
  packet.parse_error = parse_packet(packet.frame, packet.parsed);
  const auto& parsed = packet.parsed;
  if (packet.parse_error != PacketParseError::none) return false;
  trim_to_l3_end(mbuf, parsed.l3_end);
  packet.frame = packet.frame.first(parsed.l3_end);
  if (!ipv4_header_checksum_ok(packet.frame, parsed)) [[unlikely]] {
    packet.ipv4_header_checksum_bad = true;
    return false;
  }
  if (parsed.ip_version == 0 || parsed.is_later_fragment || parsed.source_routed) return false;
  packet.link_control = classify_link_local_icmpv6(packet.frame, parsed);
  if (packet.link_control == LinkLocalIcmpv6::on_link || packet.link_control == LinkLocalIcmpv6::malformed)
    return false;
  packet.source_is_a = make_flow_key(parsed, packet.key);
  return true;
}

}  // namespace sluice

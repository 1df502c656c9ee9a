// Classify stage: parses a received packet and, when it belongs in the flow table, builds the
// key the burst driver hands to the one bulk lookup of the burst. Inline: it runs for every
// packet and is a handful of tests around the parser.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/worker/stage/packet_context.h"

namespace sluice {

inline bool is_neighbour_discovery(const ParsedPacket& packet) {
  // The link needs these to work at all: router/neighbour solicitation and advertisement and
  // redirect (133-137), and multicast listener discovery (MLD queries, reports, done: 130-132,
  // MLDv2 reports: 143), which every IPv6 host sends when its link comes up.
  if (packet.ip_version != 6 || packet.l4_protocol != kIpProtoIcmpv6) return false;
  const uint8_t type = packet.icmp_type;
  return (type >= 133 && type <= 137) || (type >= 130 && type <= 132) || type == 143;
}

inline Reason reason_for(PacketParseError error) {
  return error == PacketParseError::unsupported_ethertype ? Reason::unsupported_ethertype : Reason::malformed_packet;
}

// Fills `packet` from `mbuf`; true when the packet has a flow (its key is then set). Not keyed:
// parse errors, non-IP and neighbour discovery (passed without a flow), later fragments (they
// follow their first fragment's flow).
inline bool classify(rte_mbuf* mbuf, PacketContext& packet) {
  packet.mbuf = mbuf;
  packet.frame = {rte_pktmbuf_mtod(mbuf, const uint8_t*), rte_pktmbuf_data_len(mbuf)};
  packet.parse_error = parse_packet(packet.frame, packet.parsed);
  const auto& parsed = packet.parsed;
  if (packet.parse_error != PacketParseError::none || parsed.ip_version == 0 || parsed.is_later_fragment ||
      is_neighbour_discovery(parsed))
    return false;
  packet.source_is_a = make_flow_key(parsed, packet.key);
  return true;
}

}  // namespace sluice

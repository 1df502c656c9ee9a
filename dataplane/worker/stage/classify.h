// Classify stage: parses a received packet and, when it belongs in the flow table, builds the
// key the burst driver hands to the one bulk lookup of the burst. Inline: it runs for every
// packet and is a handful of tests around the parser.
#pragma once

#include <rte_mbuf.h>

#include "dataplane/parse/link_local_icmpv6.h"
#include "dataplane/worker/stage/packet_context.h"

namespace sluice {

inline Reason reason_for(PacketParseError error) {
  if (error == PacketParseError::unsupported_ethertype) return Reason::unsupported_ethertype;
  if (error == PacketParseError::bad_arp || error == PacketParseError::arp_trailing_data) return Reason::arp_malformed;
  return Reason::malformed_packet;
}

// Fills `packet` from `mbuf`; true when the packet has a flow (its key is then set). Not keyed:
// parse errors, non-IP and neighbour discovery that stays on the link (passed without a flow, or
// dropped when malformed), source-routed packets (dropped), later fragments (they follow their
// first fragment's flow). ND/MLD to an off-link destination is keyed: judged like any ICMPv6.
inline bool classify(rte_mbuf* mbuf, PacketContext& packet) {
  packet.mbuf = mbuf;
  packet.frame = {rte_pktmbuf_mtod(mbuf, const uint8_t*), rte_pktmbuf_data_len(mbuf)};
  packet.parse_error = parse_packet(packet.frame, packet.parsed);
  const auto& parsed = packet.parsed;
  if (packet.parse_error != PacketParseError::none || parsed.ip_version == 0 || parsed.is_later_fragment ||
      parsed.source_routed)
    return false;
  packet.link_control = classify_link_local_icmpv6(packet.frame, parsed);
  if (packet.link_control == LinkLocalIcmpv6::on_link || packet.link_control == LinkLocalIcmpv6::malformed)
    return false;
  packet.source_is_a = make_flow_key(parsed, packet.key);
  return true;
}

}  // namespace sluice

// IPv6 neighbour discovery (RFC 4861) and multicast listener discovery (RFC 2710, RFC 3810):
// what the link needs passes without a flow, but only when it stays on the link and looks like
// what it claims to be. Pure: no DPDK, reads only the frame it is given.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/parse/packet_parser.h"

namespace sluice {

enum class LinkLocalIcmpv6 : uint8_t {
  not_link_control = 0,  // not ND/MLD at all: judged like any packet
  on_link,               // well-formed ND/MLD to a link-local or link-scope multicast destination,
                         // or an NS/NA to a unicast address that carries no byte of its own
  off_link,              // any other ND/MLD to a destination a router would forward: judged like any ICMPv6
  malformed,             // link-scope, but a wrong hop limit, code, length or option list
};

// ND: router/neighbour solicitation and advertisement and redirect (133-137), hop limit 255,
// to fe80::/10, all-nodes ff02::1, all-routers ff02::2 or a solicited-node ff02::1:ffXX:XXXX.
// MLD: queries, reports, done (130-132) and MLDv2 reports (143), hop limit 1, to fe80::/10 or a
// link-scope group ff02::/16 (MLDv1 reports go to the group they report, MLDv2 to ff02::16).
// Lengths must be exact: an option list that fills the body, MLDv2 records that add up.
// An NS or NA to a routable unicast address (a solicited NA goes to the soliciting address,
// often global; unreachability probes are unicast) passes only when every byte of it is fixed by
// the packet's own addresses: target = destination (NS) or source (NA), reserved bits zero, at
// most the link-layer address option equal to the frame's source MAC.
LinkLocalIcmpv6 classify_link_local_icmpv6(std::span<const uint8_t> frame, const ParsedPacket& packet);

}  // namespace sluice

// IPv6 neighbour discovery (RFC 4861) for routed mode: reading a neighbour solicitation (NS) or
// advertisement (NA) that the appliance itself must act on, and building the solicitations,
// solicited and unsolicited advertisements it sends. The link-scope checks (hop limit 255, code,
// lengths, option list) are classify_link_local_icmpv6's, shared with bridge mode; this file adds
// what a node that answers and learns must check on top (checksum, target, DAD rules, the
// link-layer address option). Pure: no DPDK, no allocation; builders write into the caller's
// buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/ip_address.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/route/mac_address.h"

namespace sluice {

inline constexpr uint8_t kNeighbourSolicitation = 135;
inline constexpr uint8_t kNeighbourAdvertisement = 136;
// Ethernet (14), IPv6 (40), NS/NA (24) and one link-layer address option (8).
inline constexpr size_t kNdFrameLength = 86;

struct NdMessage {
  uint8_t type = 0;  // kNeighbourSolicitation or kNeighbourAdvertisement
  IpAddress source;  // the IPv6 source; :: in a duplicate address detection NS
  IpAddress destination;
  IpAddress target;  // NS: the address asked for; NA: the address advertised
  bool router = false;     // NA flags (RFC 4861 4.4)
  bool solicited = false;
  bool override_flag = false;
  bool has_link_address = false;  // NS: source link-layer address option; NA: target's
  MacAddress link_address;
};

enum class NdCheck : uint8_t {
  ok = 0,
  not_nd,             // not an NS or NA (another ICMPv6 message, or not ICMPv6)
  malformed,          // classify_link_local_icmpv6 did not say on_link: hop limit, code, length, options
  bad_checksum,       // the ICMPv6 checksum does not add up
  bad_target,         // a multicast, unspecified or loopback target
  bad_dad,            // NS from :: that is not to a solicited-node group, or carries a link-layer address
  bad_link_address,   // a link-layer address option not 8 bytes long, repeated, multicast or zero
  bad_solicited_flag, // an NA to a multicast group that says it was solicited
  link_address_mismatch,  // the link-layer address option is not the frame's source MAC
  count  // not a value: the number of values
};

const char* to_string(NdCheck check);

// Reads the NS or NA in `frame`, which parse_packet accepted into `packet`. Only `ok` may be
// answered or learned from.
NdCheck read_nd(std::span<const uint8_t> frame, const ParsedPacket& packet, NdMessage& out);

// The solicited-node multicast group of `address` (ff02::1:ffXX:XXXX) and the Ethernet group
// address of any IPv6 multicast address (33:33 and its last four bytes).
IpAddress solicited_node_group(const IpAddress& address);
MacAddress ipv6_multicast_mac(const IpAddress& group);

// Each returns the frame's length (kNdFrameLength), or 0 when `out` is shorter than that or an
// address is not IPv6. Frames leave with hop limit 255 and a correct checksum.
//
// An NS for `target` from `own_ip` (an address of the port that sends it), to the target's
// solicited-node group, with the source link-layer address option.
size_t build_neighbour_solicitation(std::span<uint8_t> out, const MacAddress& own_mac, const IpAddress& own_ip,
                                    const IpAddress& target);
// The NA that answers `solicitation` (which asked for `own_ip`): solicited, override, router
// (the appliance forwards), with the target link-layer address option; to the solicitation's
// source, or to all nodes (ff02::1, not solicited) when it came from :: (RFC 4861 7.2.4).
// `requester_mac` is the solicitation frame's source MAC.
size_t build_neighbour_advertisement_reply(std::span<uint8_t> out, const MacAddress& own_mac,
                                           const IpAddress& own_ip, const NdMessage& solicitation,
                                           const MacAddress& requester_mac);
// An unsolicited NA for `own_ip` to all nodes (ff02::1): override and router set, solicited
// clear (RFC 4861 7.2.6), so that neighbours update their caches at start.
size_t build_unsolicited_neighbour_advertisement(std::span<uint8_t> out, const MacAddress& own_mac,
                                                 const IpAddress& own_ip);

}  // namespace sluice

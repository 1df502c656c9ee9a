// What a worker does with an ARP or neighbour discovery frame that arrives on a routed port:
// answer a request for one of the port's own addresses (in place, back out of the same port),
// and say which neighbour it showed (sender address and MAC) so the control thread can learn it.
// Everything else is dropped by the caller, by the reason this says. Pure: no DPDK, no
// allocation; the packet path calls it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/ip_address.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/route/mac_address.h"
#include "dataplane/route/routing_tables.h"

namespace sluice {

enum class NeighbourOutcome : uint8_t {
  answered = 0,   // a request for an own address: `reply_length` bytes of `out` go back out
  learned,        // an answer or announcement to learn from, nothing to send
  not_for_us,     // about an address that is not the port's own, or router discovery: ignored
  refused,        // read_arp / read_nd refused it, or it is VLAN-tagged, or it claims an own address
};

struct NeighbourResponse {
  NeighbourOutcome outcome = NeighbourOutcome::refused;
  size_t reply_length = 0;
  bool observed = false;  // `address` was seen at `mac` on this port
  IpAddress address;
  MacAddress mac;
};

// `frame` parsed by parse_packet into `packet` (ARP, or ICMPv6); `own_addresses` are the
// receiving port's; the reply (if any) is written to `out`, which may be `frame`'s own buffer
// (everything the reply needs is read before the first byte is written).
NeighbourResponse respond_to_neighbour_message(std::span<const uint8_t> frame, const ParsedPacket& packet,
                                               const MacAddress& own_mac,
                                               std::span<const OwnAddress> own_addresses, std::span<uint8_t> out);

}  // namespace sluice

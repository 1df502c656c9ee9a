// The ICMP errors a router sends about a packet it cannot forward, in routed mode:
// "time exceeded" (the TTL or hop limit ran out here: traceroute) and "fragmentation needed" /
// "packet too big" (the packet is larger than the outgoing port's MTU: path MTU discovery).
// Pure: no DPDK, no allocation; reads nothing outside `frame`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/ip_address.h"

namespace sluice {

// Both builders take the whole received frame and where its IP header starts (`l3_offset`,
// after Ethernet and any VLAN tags), and `source`, the appliance's own address on the port the
// error leaves by (the family of the packet). The error goes back to the packet's source, with
// the frame's L2 header and MAC addresses swapped (the previous hop), TTL/hop limit 64, quoting
// as much of the packet as keeps the error within 576 bytes (IPv4, RFC 1812 4.3.2.3) or 1280
// (IPv6, RFC 4443 2.4). They return the frame length, or 0 — nothing to send — when:
// the IP header is truncated or inconsistent, the family differs from `source`'s, the packet is
// a non-first IPv4 fragment, its source is unspecified, multicast, broadcast or loopback, or
// it is itself an ICMP error (RFC 1122 3.2.2, RFC 4443 2.4(e)); or `out` is too small.

// IPv4 type 11 code 0; IPv6 type 3 code 0.
size_t build_icmp_time_exceeded(std::span<const uint8_t> frame, size_t l3_offset, const IpAddress& source,
                                std::span<uint8_t> out);

// IPv4 type 3 code 4 with the next-hop MTU (RFC 1191); IPv6 type 2 code 0 with the MTU (RFC 8201).
size_t build_icmp_too_big(std::span<const uint8_t> frame, size_t l3_offset, const IpAddress& source, uint32_t mtu,
                          std::span<uint8_t> out);

}  // namespace sluice

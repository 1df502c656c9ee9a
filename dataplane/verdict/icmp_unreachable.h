// Builds the ICMP "administratively prohibited" error that tells a UDP client at once that its
// datagram was denied, instead of leaving it to time out. Pure: no DPDK, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/packet_parser.h"

namespace sluice {

// IPv4: type 3 (destination unreachable) code 13 (communication administratively prohibited),
// quoting the denied packet's IP header and the first 64 bytes after it (RFC 792 asks for 8;
// more lets the client match its socket under any header options).
// IPv6: type 1 code 1 (communication with destination administratively prohibited), quoting as
// much of the denied packet as keeps the error within the IPv6 minimum MTU of 1280 (RFC 4443).
// The error comes from the denied destination's address, back to the sender, with the L2 header
// of `frame` (VLAN tags kept) and MAC addresses swapped. Returns the frame length, or 0 when
// `packet` is not a first (or whole) IP packet or `out` is too small.
size_t build_icmp_unreachable(std::span<const uint8_t> frame, const ParsedPacket& packet, std::span<uint8_t> out);

}  // namespace sluice

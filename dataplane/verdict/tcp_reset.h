// Builds the TCP resets that tell both ends of a denied connection at once that it is over.
// Pure: no DPDK, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/packet_parser.h"

namespace sluice {

// Writes into `out` a frame answering `packet` (parsed from `frame`) back to its sender:
// the same L2 header (VLAN tags kept) with MAC addresses swapped, addresses and ports swapped,
// flags RST|ACK, seq = the packet's ack (0 when it carries no ACK), ack = its seq + payload
// length (+1 for SYN, +1 for FIN), window 0, TTL/hop limit 64, IPv4 DF set and id 0,
// valid IP and TCP checksums. Returns the frame length, or 0 when `packet` is not TCP or `out`
// is too small.
size_t build_tcp_reset(std::span<const uint8_t> frame, const ParsedPacket& packet, std::span<uint8_t> out);

// Writes into `out` the reset the packet's receiver gets in its place, as if its sender had
// sent it: the same L2 header, addresses and ports as `packet`, flags RST|ACK, seq = `seq`
// (the receiver's next expected byte: RFC 5961 accepts a reset only there), ack = the packet's
// ack. For a denied packet that never arrives, `seq` is usually the packet's own sequence.
// Returns the frame length, or 0 when `packet` is not TCP or carries no ACK (the receiver has
// not completed a handshake it could tear down).
size_t build_tcp_reset_onward(std::span<const uint8_t> frame, const ParsedPacket& packet, uint32_t seq,
                              std::span<uint8_t> out);

}  // namespace sluice

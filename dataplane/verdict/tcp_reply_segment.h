// The TCP segments Sluice writes itself, without options or payload: the resets of a denied
// connection (tcp_reset.h) and the health probe's SYN-ACK (tcp_syn_ack.h) share this writer.
// Pure: no DPDK, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/packet_parser.h"

namespace sluice::reply {

inline constexpr size_t kTcpHeaderLength = 20;

struct TcpSegmentFields {
  const IpAddress* source;
  const IpAddress* destination;
  uint16_t source_port;
  uint16_t destination_port;
  uint32_t seq;
  uint32_t ack;
  uint8_t flags;
  uint16_t window;
};

// True when a segment answering or replacing `packet` (parsed from `frame`) can be written to
// `out`: `packet` is TCP over IPv4/IPv6, not a later fragment, its L2 header lies in `frame`,
// and `out` holds L2 + IP + TCP headers.
bool tcp_segment_fits(std::span<const uint8_t> frame, const ParsedPacket& packet, std::span<uint8_t> out);

// Writes the L2 header of `frame` (MACs swapped when `swap_macs`; VLAN tags kept), an IP
// header of `packet`'s version (TTL/hop limit 64, IPv4 DF set and id 0) and a 20-byte TCP
// header from `fields`, with valid checksums. Call only when tcp_segment_fits. `out` may alias
// `frame`. Returns the frame length.
size_t write_tcp_segment(std::span<const uint8_t> frame, const ParsedPacket& packet, bool swap_macs,
                         const TcpSegmentFields& fields, std::span<uint8_t> out);

}  // namespace sluice::reply

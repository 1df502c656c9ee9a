// Verifies a parsed IPv4 packet's header checksum (RFC 791; the header with its options). Pure,
// inline: the packet path checks every IPv4 packet. A router or host discards a packet whose
// header checksum is wrong, so the bytes of such a packet never reach the server the appliance
// would judge them for; passing it on would let a decoy be judged in place of what arrives.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/parse/packet_parser.h"
#include "dataplane/verdict/internet_checksum.h"

namespace sluice {

// True when `packet` (parsed from `frame` without error) is not IPv4, or its header sums right.
inline bool ipv4_header_checksum_ok(std::span<const uint8_t> frame, const ParsedPacket& packet) {
  if (packet.ip_version != 4) return true;
  // The parser leaves l4_offset at the end of the header (IHL * 4), inside the frame.
  if (packet.l4_offset <= packet.l3_offset || packet.l4_offset > frame.size()) return false;
  return checksum_fold(checksum_sum(frame.data() + packet.l3_offset, packet.l4_offset - packet.l3_offset)) == 0;
}

}  // namespace sluice

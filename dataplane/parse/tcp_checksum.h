// Verifies a parsed TCP segment's checksum (RFC 793/9293 pseudo-header, IPv4 or IPv6). Pure. The
// packet path calls it only for payload segments of flows still waiting for their verdict: a
// segment the server would discard must not be the one that is judged.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/parse/packet_parser.h"

namespace sluice {

// True when the segment's checksum is right. A fragment cannot be checked on its own (its
// checksum covers the whole datagram): true, the caller deals with fragments.
bool tcp_checksum_ok(std::span<const uint8_t> frame, const ParsedPacket& packet);

// The folded Internet checksum of `segment` (TCP or UDP header and payload) under the pseudo-header
// of `source`, `destination` (same family) and `protocol`. Over a segment whose checksum field is
// right it is 0; over one whose field is zero it is the value the field takes (frame builders).
uint16_t l4_checksum(const IpAddress& source, const IpAddress& destination, uint8_t protocol,
                     std::span<const uint8_t> segment);

}  // namespace sluice

// Reads the header of a QUIC long-header packet (RFC 9000 17.2) up to its packet number, which is
// still under header protection. Pure, bounds-checked, no allocation: views point into the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/quic/quic_status.h"

namespace sluice {

constexpr uint32_t kQuicVersion1 = 0x00000001;  // RFC 9000
constexpr uint32_t kQuicVersion2 = 0x6b3343cf;  // RFC 9369
constexpr size_t kQuicMaxConnectionIdLength = 20;
constexpr size_t kQuicRetryIntegrityTagLength = 16;  // RFC 9001 5.8: the last bytes of a Retry

// The packet types of v1 and v2, whatever bits each version spends on them (RFC 9369 3.2 moved them).
enum class QuicPacketType : uint8_t { initial, zero_rtt, handshake, retry };

struct QuicLongHeader {
  uint32_t version = 0;
  QuicPacketType type = QuicPacketType::initial;
  std::span<const uint8_t> destination_connection_id;
  std::span<const uint8_t> source_connection_id;
  // An Initial's token, or a Retry's Retry Token (the bytes before its integrity tag); empty otherwise.
  std::span<const uint8_t> token;
  // Offset of the (protected) packet number from the packet's first byte: the header before it.
  size_t packet_number_offset = 0;
  // The whole packet: the header, the packet number and the protected payload its Length field
  // declares. A datagram's next coalesced packet starts here (RFC 9000 12.2). Zero for a Retry,
  // which has no Length field and so always ends the datagram.
  size_t packet_length = 0;
};

// `data` starts at a packet's first byte and runs to the end of the datagram. ok when it is a long
// header packet of v1 or v2 whose fields all lie within `data`. The version is set for
// unknown_version too, and the connection IDs as far as RFC 8999 (the invariants every version
// keeps) lets them be read. The fixed bit is not checked: RFC 9287 lets a client grease it.
// A Retry with no room for its integrity tag is truncated.
QuicStatus parse_quic_long_header(std::span<const uint8_t> data, QuicLongHeader& out);

// For a Version Negotiation packet (`data` whole, `header` parsed from it with status
// version_negotiation): ok when its Supported Versions list (RFC 9000 17.2.1: what follows the
// Source Connection ID, 4 bytes a version) is well formed and not empty; `lists` says whether
// `version` is among them. truncated otherwise.
QuicStatus read_version_negotiation(std::span<const uint8_t> data, const QuicLongHeader& header, uint32_t version,
                                    bool& lists);

}  // namespace sluice

#include "dataplane/quic/quic_packet_header.h"

#include "dataplane/parse/byte_reader.h"
#include "dataplane/quic/quic_varint.h"

namespace sluice {

namespace {

constexpr uint8_t kLongHeaderBit = 0x80;
// RFC 8999 5.1: any version may use connection IDs up to 255 bytes; v1 and v2 allow 20.
constexpr size_t kVersionLength = 4;

QuicPacketType packet_type(uint32_t version, uint8_t first_byte) {
  const uint8_t bits = (first_byte >> 4) & 0x03;
  if (version == kQuicVersion2) {
    // RFC 9369 3.2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00.
    static constexpr QuicPacketType v2[] = {QuicPacketType::retry, QuicPacketType::initial,
                                            QuicPacketType::zero_rtt, QuicPacketType::handshake};
    return v2[bits];
  }
  // RFC 9000 17.2: Initial 0b00, 0-RTT 0b01, Handshake 0b10, Retry 0b11.
  return QuicPacketType(bits);
}

// Reads a one-byte length and that many bytes at `pos`.
bool read_connection_id(std::span<const uint8_t> data, size_t& pos, std::span<const uint8_t>& id) {
  if (pos >= data.size()) return false;
  const size_t length = data[pos];
  if (length > data.size() - pos - 1) return false;
  id = data.subspan(pos + 1, length);
  pos += 1 + length;
  return true;
}

}  // namespace

QuicStatus parse_quic_long_header(std::span<const uint8_t> data, QuicLongHeader& out) {
  out = QuicLongHeader{};
  if (data.empty()) return QuicStatus::truncated;
  if ((data[0] & kLongHeaderBit) == 0) return QuicStatus::not_long_header;
  if (data.size() < 1 + kVersionLength) return QuicStatus::truncated;
  out.version = load_be32(data.data() + 1);
  size_t pos = 1 + kVersionLength;
  if (!read_connection_id(data, pos, out.destination_connection_id)) return QuicStatus::truncated;
  if (!read_connection_id(data, pos, out.source_connection_id)) return QuicStatus::truncated;
  if (out.version == 0) return QuicStatus::version_negotiation;
  if (out.version != kQuicVersion1 && out.version != kQuicVersion2) return QuicStatus::unknown_version;
  if (out.destination_connection_id.size() > kQuicMaxConnectionIdLength ||
      out.source_connection_id.size() > kQuicMaxConnectionIdLength) {
    return QuicStatus::connection_id_too_long;
  }
  out.type = packet_type(out.version, data[0]);
  if (out.type == QuicPacketType::retry) {
    // No token length and no Length field: the token runs to the integrity tag at the datagram's end.
    if (data.size() - pos < kQuicRetryIntegrityTagLength) return QuicStatus::truncated;
    out.token = data.subspan(pos, data.size() - pos - kQuicRetryIntegrityTagLength);
    return QuicStatus::ok;
  }

  if (out.type == QuicPacketType::initial) {
    uint64_t token_length = 0;
    if (!read_quic_varint(data, pos, token_length)) return QuicStatus::truncated;
    if (token_length > data.size() - pos) return QuicStatus::truncated;
    out.token = data.subspan(pos, size_t(token_length));
    pos += size_t(token_length);
  }
  uint64_t length = 0;
  if (!read_quic_varint(data, pos, length)) return QuicStatus::truncated;
  if (length > data.size() - pos) return QuicStatus::truncated;
  out.packet_number_offset = pos;
  out.packet_length = pos + size_t(length);
  return QuicStatus::ok;
}

QuicStatus read_version_negotiation(std::span<const uint8_t> data, const QuicLongHeader& header, uint32_t version,
                                    bool& lists) {
  lists = false;
  const uint8_t* scid_end = header.source_connection_id.data() + header.source_connection_id.size();
  if (header.version != 0 || scid_end < data.data() || scid_end > data.data() + data.size()) {
    return QuicStatus::truncated;
  }
  const auto versions = data.subspan(size_t(scid_end - data.data()));
  if (versions.empty() || versions.size() % kVersionLength != 0) return QuicStatus::truncated;
  for (size_t i = 0; i < versions.size(); i += kVersionLength) {
    if (load_be32(versions.data() + i) == version) lists = true;
  }
  return QuicStatus::ok;
}

}  // namespace sluice

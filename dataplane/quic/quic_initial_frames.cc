#include "dataplane/quic/quic_initial_frames.h"

#include <cstring>

#include "dataplane/quic/quic_varint.h"

namespace sluice {

namespace {

constexpr uint8_t kFramePadding = 0x00;
constexpr uint8_t kFramePing = 0x01;
constexpr uint8_t kFrameAck = 0x02;
constexpr uint8_t kFrameAckEcn = 0x03;
constexpr uint8_t kFrameCrypto = 0x06;
constexpr uint8_t kFrameConnectionCloseTransport = 0x1c;

// Skips `count` varints; false when they run past the payload.
bool skip_varints(std::span<const uint8_t> payload, size_t& pos, uint64_t count) {
  uint64_t ignored = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (!read_quic_varint(payload, pos, ignored)) return false;
  }
  return true;
}

// RFC 9000 19.3: largest acknowledged, delay, range count, first range, then count (gap, length)
// pairs, then three ECN counts for type 0x03.
bool skip_ack(std::span<const uint8_t> payload, size_t& pos, bool ecn) {
  uint64_t largest = 0, delay = 0, range_count = 0, first_range = 0;
  if (!read_quic_varint(payload, pos, largest) || !read_quic_varint(payload, pos, delay) ||
      !read_quic_varint(payload, pos, range_count) || !read_quic_varint(payload, pos, first_range)) {
    return false;
  }
  // Each range takes at least two bytes: a count beyond that cannot be honest, and bounding it
  // keeps a forged count from looping long.
  if (range_count > (payload.size() - pos) / 2) return false;
  return skip_varints(payload, pos, range_count * 2) && (!ecn || skip_varints(payload, pos, 3));
}

// RFC 9000 19.19: error code, frame type, reason phrase length and phrase.
bool skip_connection_close(std::span<const uint8_t> payload, size_t& pos) {
  uint64_t reason_length = 0;
  if (!skip_varints(payload, pos, 2) || !read_quic_varint(payload, pos, reason_length)) return false;
  if (reason_length > payload.size() - pos) return false;
  pos += size_t(reason_length);
  return true;
}

}  // namespace

QuicStatus read_initial_frames(std::span<const uint8_t> payload, QuicCryptoStream& stream, QuicFrameCounts& counts) {
  // RFC 9000 12.4: a packet holds at least one frame.
  if (payload.empty()) return QuicStatus::frame_malformed;
  size_t pos = 0;
  while (pos < payload.size()) {
    // Frame types are varints, but every type an Initial may carry fits the one-byte form, and
    // RFC 9000 12.4 asks for the shortest encoding: a longer form is not one of ours.
    const uint8_t type = payload[pos++];
    switch (type) {
      case kFramePadding: {
        // Most of a client's first Initial is PADDING (RFC 9000 14.1 pads it to 1200 bytes): skip the
        // run of zero bytes a word at a time.
        size_t end = pos;
        uint64_t word = 0;
        while (payload.size() - end >= sizeof(word)) {
          std::memcpy(&word, payload.data() + end, sizeof(word));
          if (word != 0) break;
          end += sizeof(word);
        }
        while (end < payload.size() && payload[end] == kFramePadding) ++end;
        counts.padding_bytes += uint32_t(1 + end - pos);
        pos = end;
        break;
      }
      case kFramePing: ++counts.ping; break;
      case kFrameAck:
      case kFrameAckEcn:
        if (!skip_ack(payload, pos, type == kFrameAckEcn)) return QuicStatus::frame_malformed;
        ++counts.ack;
        break;
      case kFrameCrypto: {
        uint64_t offset = 0, length = 0;
        if (!read_quic_varint(payload, pos, offset) || !read_quic_varint(payload, pos, length)) {
          return QuicStatus::frame_malformed;
        }
        if (length > payload.size() - pos) return QuicStatus::frame_malformed;
        // RFC 9000 19.6: the stream never reaches 2^62.
        if (offset > kQuicVarintMax - length) return QuicStatus::frame_malformed;
        if (auto status = stream.add(offset, payload.subspan(pos, size_t(length))); status != QuicStatus::ok) {
          return status;
        }
        pos += size_t(length);
        ++counts.crypto;
        break;
      }
      case kFrameConnectionCloseTransport:
        if (!skip_connection_close(payload, pos)) return QuicStatus::frame_malformed;
        ++counts.connection_close;
        break;
      default: return QuicStatus::frame_not_allowed;
    }
  }
  return QuicStatus::ok;
}

}  // namespace sluice

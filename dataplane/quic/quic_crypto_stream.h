// Reassembles the client's Initial CRYPTO stream (RFC 9000 19.6) by offset into memory the caller
// owns, like the TCP stream reassembler but for QUIC: frames come in any order, across packets,
// and may overlap. Bounded: nothing is kept past the caller's buffer. Pure, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/quic/quic_status.h"

namespace sluice {

class QuicCryptoStream {
 public:
  // Bytes of `present` needed to track a stream of `capacity` bytes: one bit a byte.
  static constexpr size_t present_bytes_for(size_t capacity) { return (capacity + 7) / 8; }

  // `data` holds the stream from offset 0; `present` (present_bytes_for(data.size()) bytes or more)
  // records which bytes have arrived. Both are the caller's and must outlive this object.
  QuicCryptoStream(std::span<uint8_t> data, std::span<uint8_t> present);

  // Forgets everything received (a new connection).
  void reset();

  // Adds the CRYPTO frame data `bytes` at stream offset `offset`. crypto_too_large when any of it
  // lies at or past the capacity (nothing is stored then); crypto_conflict when a byte received
  // before differs (the stream is left as it was before this call).
  QuicStatus add(uint64_t offset, std::span<const uint8_t> bytes);

  // Bytes from offset 0 with no gap.
  size_t contiguous() const { return contiguous_; }

  // The first handshake message (1-byte type, 3-byte length, body) once all of it has arrived from
  // offset 0, else empty. In a client's Initials that is the ClientHello, for
  // parse_client_hello_message.
  std::span<const uint8_t> first_handshake_message() const;

  // True when the first handshake message declares a length beyond the capacity: it can never
  // complete here.
  bool first_handshake_message_too_large() const;

 private:
  bool has(size_t i) const { return (present_[i / 8] >> (i % 8)) & 1; }
  void mark(size_t i) { present_[i / 8] |= uint8_t(1u << (i % 8)); }
  size_t first_message_length() const;  // 0 until its 4-byte header has arrived

  std::span<uint8_t> data_;
  std::span<uint8_t> present_;
  size_t contiguous_ = 0;
};

}  // namespace sluice

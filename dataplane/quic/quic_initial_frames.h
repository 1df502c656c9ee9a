// Reads the frames of a decrypted Initial packet (RFC 9000 12.4, 19) and feeds its CRYPTO frames
// to the stream. An Initial may carry only PADDING, PING, ACK, CRYPTO and the transport
// CONNECTION_CLOSE (type 0x1c); any other type is frame_not_allowed. Pure, no allocation.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/quic/quic_crypto_stream.h"
#include "dataplane/quic/quic_status.h"

namespace sluice {

struct QuicFrameCounts {
  uint32_t crypto = 0;
  uint32_t padding_bytes = 0;
  uint32_t ping = 0;
  uint32_t ack = 0;
  uint32_t connection_close = 0;
};

// Adds what `payload` holds to `counts`. Stops at the first failure; CRYPTO frames before it have
// been added to `stream`.
QuicStatus read_initial_frames(std::span<const uint8_t> payload, QuicCryptoStream& stream, QuicFrameCounts& counts);

}  // namespace sluice

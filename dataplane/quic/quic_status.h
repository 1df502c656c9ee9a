// Every way reading a client's QUIC Initial can end, one name each, so that the inspect stage can
// map each to its own drop reason and a record can say which.
#pragma once

#include <cstdint>

namespace sluice {

enum class QuicStatus : uint8_t {
  ok = 0,
  // The datagram and its packets.
  not_long_header,         // the first packet has a short header: not a connection's first flight
  truncated,               // a field or the packet runs past the end of the datagram
  connection_id_too_long,  // a connection ID over 20 bytes (RFC 9000 17.2), in a version we read
  version_negotiation,     // version 0: a Version Negotiation packet (a server sends those)
  unknown_version,         // neither QUIC v1 (RFC 9000) nor v2 (RFC 9369): we cannot read it
  not_initial,             // a v1/v2 long-header packet that is not an Initial (0-RTT, Handshake, Retry)
  no_initial,              // the datagram held no Initial packet we could read
  // Removing the protection.
  packet_too_short,        // too short to hold the header-protection sample (RFC 9001 5.4.2)
  packet_too_long,         // longer than any UDP payload (kQuicMaxDatagramSize): not from a datagram
  decrypt_failed,          // the AEAD tag does not verify: keys from another DCID, or bytes changed
  reserved_bits_set,       // decrypted, but the reserved header bits are not zero (RFC 9000 17.2)
  crypto_unavailable,      // libcrypto refused a context or an operation (not the packet's fault)
  // The frames of a decrypted Initial.
  frame_malformed,         // a frame runs past the payload, an empty payload, or a bad varint use
  frame_not_allowed,       // a frame type an Initial may not carry (RFC 9000 12.4)
  // The CRYPTO stream.
  crypto_conflict,         // bytes at an offset already received differ from what came before
  crypto_too_large,        // CRYPTO data beyond the bound the caller gave
};

const char* to_string(QuicStatus status);

}  // namespace sluice

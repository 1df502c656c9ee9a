// Follows a TLS client's byte stream after its ClientHello, record header by record header
// (RFC 8446 5.1, RFC 5246 6.2), so that a later ClientHello on the same connection is found and
// judged (a HelloRetryRequest's second hello, or an attacker's hello naming another server), and
// bytes that are no TLS at all are refused. Record bodies are skipped, never buffered: the state
// is a few bytes per flow (dataplane/worker/stage/follow.h keeps it). Pure, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sluice {

inline constexpr uint8_t kTlsChangeCipherSpec = 20;
inline constexpr uint8_t kTlsHandshake = 22;
inline constexpr uint32_t kTlsRecordHeaderBytes = 5;
inline constexpr uint32_t kTlsHandshakeHeaderBytes = 4;
// TLS 1.2 lets a protected record hold 2^14 + 2048 bytes (RFC 5246 6.2.3); TLS 1.3 less.
inline constexpr uint32_t kTlsMaxRecordBody = (1u << 14) + 2048;

struct TlsRecordState {
  uint16_t body_remaining = 0;  // bytes of the current record's body still to skip
  uint8_t prefix_bytes = 0;     // bytes of `prefix` read so far (0: at a record boundary)
  bool change_cipher_spec_seen = false;  // the client sent ChangeCipherSpec: its handshake
                                         // records may be encrypted from now on (TLS 1.2)
  // The record header, and for a handshake record the first 4 body bytes (the handshake
  // header), which decide whether the record starts a ClientHello.
  uint8_t prefix[kTlsRecordHeaderBytes + kTlsHandshakeHeaderBytes] = {};
};

enum class TlsRecordStatus : uint8_t {
  more = 0,      // every byte given was read; records go on
  client_hello,  // a record starting a ClientHello: see below
  not_tls,       // a record header that no TLS endpoint sends (content type, version, length)
  handshake_unreadable,  // a plaintext handshake record too short to hold a handshake header
};

// Reads `bytes` from the record boundary or mid-record position the state is at, and sets
// `consumed`. On `client_hello` the record's header and handshake header (the state's 9 prefix
// bytes) are the last bytes consumed: the ClientHello's record starts 9 bytes before the end of
// what was consumed (possibly in an earlier call), and the state is back at a record boundary
// (the caller reads the hello from the record's start and resumes after it).
//
// A handshake record starts a ClientHello when its first body byte is 1 and its 3-byte length
// is the rest of the record, or, before the client's ChangeCipherSpec (its handshake is still
// plaintext), at least the rest of the record (a hello fragmented over records). After the
// ChangeCipherSpec a TLS 1.2 handshake record is ciphertext: only the exact length marks a
// hello there, which random bytes match once in 2^32.
TlsRecordStatus follow_tls_records(TlsRecordState& state, std::span<const uint8_t> bytes, size_t& consumed);

const char* to_string(TlsRecordStatus status);

}  // namespace sluice

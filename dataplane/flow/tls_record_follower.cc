#include "dataplane/flow/tls_record_follower.h"

#include <algorithm>

namespace sluice {

namespace {

constexpr uint8_t kTlsFirstContentType = 20;  // change_cipher_spec
constexpr uint8_t kTlsLastContentType = 24;   // heartbeat
constexpr uint8_t kTlsApplicationData = 23;
constexpr uint8_t kTlsClientHello = 1;
constexpr uint8_t kPrefixBytes = kTlsRecordHeaderBytes + kTlsHandshakeHeaderBytes;

}  // namespace

TlsRecordStatus follow_tls_records(TlsRecordState& state, std::span<const uint8_t> bytes, size_t& consumed) {
  size_t i = 0;
  while (i < bytes.size()) {
    if (state.body_remaining) {
      const size_t take = std::min<size_t>(state.body_remaining, bytes.size() - i);
      i += take;
      state.body_remaining = uint16_t(state.body_remaining - take);
      continue;
    }
    const uint8_t byte = bytes[i++];
    state.prefix[state.prefix_bytes++] = byte;
    // Content types 20-24, versions 3.0 to 3.4 on the record layer: refused at the first byte
    // that no TLS endpoint sends, not when the header is whole.
    if ((state.prefix_bytes == 1 && (byte < kTlsFirstContentType || byte > kTlsLastContentType)) ||
        (state.prefix_bytes == 2 && byte != 3) || (state.prefix_bytes == 3 && byte > 4)) {
      consumed = i;
      return TlsRecordStatus::not_tls;
    }
    if (state.prefix_bytes < kTlsRecordHeaderBytes) continue;
    const uint8_t type = state.prefix[0];
    const uint32_t length = uint32_t(state.prefix[3]) << 8 | state.prefix[4];
    if (state.prefix_bytes == kTlsRecordHeaderBytes) {
      // Only application data may be empty (RFC 8446 5.1).
      if (length > kTlsMaxRecordBody || (length == 0 && type != kTlsApplicationData)) {
        consumed = i;
        return TlsRecordStatus::not_tls;
      }
      if (type == kTlsChangeCipherSpec) state.change_cipher_spec_seen = true;
      if (type == kTlsHandshake && length >= kTlsHandshakeHeaderBytes) continue;  // read its handshake header
      if (type == kTlsHandshake && !state.change_cipher_spec_seen) {
        // A plaintext handshake record too short for a handshake header: a hello cut this fine
        // could not be recognised, and no client sends one.
        consumed = i;
        return TlsRecordStatus::handshake_unreadable;
      }
      state.body_remaining = uint16_t(length);
      state.prefix_bytes = 0;
      continue;
    }
    if (state.prefix_bytes < kPrefixBytes) continue;
    state.prefix_bytes = 0;
    const uint32_t message_length =
        uint32_t(state.prefix[6]) << 16 | uint32_t(state.prefix[7]) << 8 | state.prefix[8];
    const uint32_t rest = length - kTlsHandshakeHeaderBytes;
    if (state.prefix[5] == kTlsClientHello &&
        (message_length == rest || (!state.change_cipher_spec_seen && message_length > rest))) {
      consumed = i;
      return TlsRecordStatus::client_hello;
    }
    state.body_remaining = uint16_t(rest);
  }
  consumed = i;
  return TlsRecordStatus::more;
}

const char* to_string(TlsRecordStatus status) {
  switch (status) {
    case TlsRecordStatus::more: return "more";
    case TlsRecordStatus::client_hello: return "client_hello";
    case TlsRecordStatus::not_tls: return "not_tls";
    case TlsRecordStatus::handshake_unreadable: return "handshake_unreadable";
  }
  return "unknown";
}

}  // namespace sluice

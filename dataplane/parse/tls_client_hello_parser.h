// Reads a TLS ClientHello from the start of a TCP stream (the client's first bytes).
// Pure, bounds-checked, no allocation: views point into the input span, or into the caller's
// scratch memory when the hello had to be joined from several records.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sluice {

enum class ClientHelloStatus : uint8_t {
  ok = 0,
  incomplete,         // a valid prefix: more bytes are needed (the hello spans segments/records)
  not_tls,            // the first record is not a TLS handshake record
  not_client_hello,   // a handshake record, but not a ClientHello
  malformed,          // a length or field that contradicts its container
  too_large,          // the hello spans records and would not fit in the scratch memory given
};

struct ClientHelloInfo {
  uint16_t legacy_version = 0;       // client_version field
  std::string_view server_name;      // first host_name entry, raw bytes as sent (not normalised)
  uint8_t server_name_count = 0;     // host_name entries seen (saturating at 255)
  bool has_server_name_extension = false;
  bool has_encrypted_client_hello = false;  // extension 0xfe0d
  std::string_view first_alpn;       // first ALPN protocol, if any
  uint8_t supported_versions_count = 0;
  uint16_t highest_supported_version = 0;  // from supported_versions, else legacy_version
  // Bytes of the stream up to and including the record that completed the hello (ok only).
  uint32_t stream_bytes_used = 0;
};

// `stream` is the TCP payload from the first byte the client sent. Only the first TLS record is
// read: a ClientHello longer than it (or than `stream`) is `incomplete`. The same as the overload
// below with no scratch memory.
ClientHelloStatus parse_client_hello(std::span<const uint8_t> stream, ClientHelloInfo& out);

// As above, but a ClientHello cut into several handshake records (RFC 8446 5.1 lets a client
// fragment a handshake message across records) is joined in `scratch`, caller-owned memory of up
// to 16 KiB, and the views in `out` then point into it. `incomplete` until the record completing
// the hello has arrived; `malformed` when a later record is not a handshake record or the lengths
// disagree; `too_large` when the hello spans records and is longer than `scratch`. A hello within
// one record is read in place, whatever the size of `scratch`.
ClientHelloStatus parse_client_hello(std::span<const uint8_t> stream, std::span<uint8_t> scratch,
                                     ClientHelloInfo& out);

// QUIC carries the handshake without TLS records (RFC 9001 4): `message` is the CRYPTO stream from
// offset 0, starting with the handshake header (type 1, 3-byte length). The same reading and the
// same statuses as above: `not_client_hello` for another type, `incomplete` for a prefix,
// `malformed` for bytes after the declared length (nothing follows a client's hello until the
// server answers). Views point into `message`; stream_bytes_used is the message's length.
ClientHelloStatus parse_client_hello_message(std::span<const uint8_t> message, ClientHelloInfo& out);

const char* to_string(ClientHelloStatus status);

}  // namespace sluice

// Follows an HTTP/1.x client's byte stream after its request heads: how each head frames the
// body behind it (Content-Length, chunked, nothing), and where that body ends, so that the next
// request head is found where the server will find it and judged too (keep-alive, pipelining).
// Framing the appliance cannot follow exactly the way a server would is refused by a named
// status instead of guessed. Pure, bounds-checked, no allocation; the state is a few bytes per
// flow (dataplane/worker/stage/follow.h keeps it), so a body is never buffered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sluice {

// What a complete request head says about the bytes after it (RFC 9112 6).
enum class HttpFramingStatus : uint8_t {
  ok = 0,
  ambiguous,                      // both Content-Length and Transfer-Encoding, or either twice
  content_length_invalid,         // not 1-18 decimal digits
  transfer_encoding_unsupported,  // a Transfer-Encoding other than exactly "chunked"
};

struct HttpFraming {
  HttpFramingStatus status = HttpFramingStatus::ok;
  bool chunked = false;
  uint64_t content_length = 0;  // when not chunked; 0 without a Content-Length
  bool upgrade = false;         // an Upgrade header: the server may switch protocols after it
  bool connect = false;         // a CONNECT: a tunnel follows if the proxy agrees
};

// `head` is one request head, from its request line through the CRLF CRLF that ends it, already
// accepted by parse_http_request (so its lines are well formed).
HttpFraming read_http_framing(std::span<const uint8_t> head);

// Offset just past the CRLF CRLF that ends the head at the start of `stream`; 0 when absent.
size_t http_head_length(std::span<const uint8_t> stream);

enum class HttpBodyPhase : uint8_t {
  head = 0,         // between requests: the next bytes start a request head
  length,           // `remaining` bytes of a Content-Length body
  chunk_size,       // hex digits of a chunk-size line
  chunk_extension,  // after the digits, up to the CR
  chunk_size_lf,    // the LF after a chunk-size line's CR
  chunk_data,       // `remaining` bytes of chunk data
  chunk_data_cr,    // the CRLF after chunk data
  chunk_data_lf,
  trailer_start,    // the start of a trailer line, or the CR of the empty line ending the body
  trailer_line,
  trailer_line_lf,
  trailer_end_lf,   // the LF of the empty line ending a chunked body
};

struct HttpBodyState {
  uint64_t remaining = 0;  // length, chunk_data: bytes left; chunk_size: the size read so far
  uint16_t line_bytes = 0; // bytes of the current chunk-size or trailer line
  uint8_t digits = 0;      // hex digits of the current chunk size
  HttpBodyPhase phase = HttpBodyPhase::head;
};

// Sets the body state for the bytes after a head framed by `framing` (status ok).
void begin_http_body(HttpBodyState& state, const HttpFraming& framing);

enum class HttpBodyStatus : uint8_t {
  more = 0,        // every byte given was body; the body goes on
  done,            // the body ended after `consumed` bytes; phase is head again
  chunk_malformed, // a chunk-size line, chunk end or trailer that breaks RFC 9112 7.1
};

// Reads body bytes from the start of `bytes` (state.phase != head) and sets `consumed`.
HttpBodyStatus follow_http_body(HttpBodyState& state, std::span<const uint8_t> bytes, size_t& consumed);

inline constexpr uint16_t kMaxChunkLineBytes = 1024;  // a chunk-size line or trailer line
inline constexpr uint8_t kMaxChunkSizeDigits = 15;    // below 2^60: no overflow, no "0000…01" games

const char* to_string(HttpFramingStatus status);
const char* to_string(HttpBodyStatus status);

}  // namespace sluice

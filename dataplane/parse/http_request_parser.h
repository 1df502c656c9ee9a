// Reads an HTTP/1.x request head (request line and headers) for the host the client asks for.
// Pure, bounds-checked, no allocation: views point into the input span.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace sluice {

enum class HttpRequestStatus : uint8_t {
  ok = 0,
  incomplete,      // no end of head ("\r\n\r\n") yet
  not_http,        // the request line is not METHOD SP TARGET SP HTTP/1.x
  malformed,       // a header line without a colon, a control byte, a bad port
  missing_host,
  duplicate_host,
  host_mismatch,   // absolute-form target's host differs from the Host header
};

struct HttpRequestInfo {
  std::string_view method;
  std::string_view target;
  // The target's path: of an origin-form target ("/a/b?q" → "/a/b") or an absolute-form one
  // ("http://h/a/b#f" → "/a/b"); empty for "*", CONNECT, or an absolute-form target with none.
  // Views the input like the rest; a query or fragment is not part of it.
  std::string_view path;
  std::string_view host;  // without port; from an absolute-form or CONNECT target when present
  uint16_t port = 0;      // 0 when none was given
};

HttpRequestStatus parse_http_request(std::span<const uint8_t> stream, HttpRequestInfo& out);

const char* to_string(HttpRequestStatus status);

}  // namespace sluice

#include "dataplane/flow/http_stream_follower.h"

#include <algorithm>
#include <string_view>

namespace sluice {

namespace {

constexpr std::string_view kLineEnd = "\r\n";
constexpr std::string_view kHeadEnd = "\r\n\r\n";
constexpr size_t kMaxContentLengthDigits = 18;  // below 10^18 < 2^63

char to_lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }
bool is_ows(char c) { return c == ' ' || c == '\t'; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Visible ASCII, space and tab: what a chunk extension or trailer line may hold.
bool is_line_byte(uint8_t c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

}  // namespace

size_t http_head_length(std::span<const uint8_t> stream) {
  const std::string_view text(reinterpret_cast<const char*>(stream.data()), stream.size());
  const size_t end = text.find(kHeadEnd);
  return end == std::string_view::npos ? 0 : end + kHeadEnd.size();
}

HttpFraming read_http_framing(std::span<const uint8_t> head) {
  HttpFraming framing;
  const std::string_view text(reinterpret_cast<const char*>(head.data()), head.size());
  size_t line_end = text.find(kLineEnd);
  if (line_end == std::string_view::npos) return framing;
  framing.connect = text.starts_with("CONNECT ");
  int lengths = 0;
  int encodings = 0;
  std::string_view length_value;
  std::string_view encoding_value;
  size_t position = line_end + kLineEnd.size();
  while (position < text.size()) {
    line_end = text.find(kLineEnd, position);
    if (line_end == std::string_view::npos || line_end == position) break;  // the empty line ends the head
    const std::string_view line = text.substr(position, line_end - position);
    position = line_end + kLineEnd.size();
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (equals_ignore_case(name, "content-length")) {
      ++lengths;
      length_value = value;
    } else if (equals_ignore_case(name, "transfer-encoding")) {
      ++encodings;
      encoding_value = value;
    } else if (equals_ignore_case(name, "upgrade")) {
      framing.upgrade = true;
    }
  }
  // A server and the appliance must find the same end of the body; where RFC 9112 6.3 leaves a
  // choice (both headers, a list, repeats), one of them could guess differently.
  if (lengths + encodings > 1) {
    framing.status = HttpFramingStatus::ambiguous;
    return framing;
  }
  if (encodings) {
    if (!equals_ignore_case(encoding_value, "chunked")) framing.status = HttpFramingStatus::transfer_encoding_unsupported;
    else framing.chunked = true;
    return framing;
  }
  if (lengths) {
    if (length_value.empty() || length_value.size() > kMaxContentLengthDigits) {
      framing.status = HttpFramingStatus::content_length_invalid;
      return framing;
    }
    uint64_t value = 0;
    for (char c : length_value) {
      if (c < '0' || c > '9') {
        framing.status = HttpFramingStatus::content_length_invalid;
        return framing;
      }
      value = value * 10 + uint64_t(c - '0');
    }
    framing.content_length = value;
  }
  return framing;
}

void begin_http_body(HttpBodyState& state, const HttpFraming& framing) {
  state = HttpBodyState{};
  if (framing.chunked) {
    state.phase = HttpBodyPhase::chunk_size;
  } else if (framing.content_length) {
    state.phase = HttpBodyPhase::length;
    state.remaining = framing.content_length;
  }
}

HttpBodyStatus follow_http_body(HttpBodyState& state, std::span<const uint8_t> bytes, size_t& consumed) {
  size_t i = 0;
  const auto line_byte = [&state] { return ++state.line_bytes <= kMaxChunkLineBytes; };
  while (i < bytes.size()) {
    const uint8_t c = bytes[i];
    switch (state.phase) {
      case HttpBodyPhase::head:
        consumed = i;
        return HttpBodyStatus::done;
      case HttpBodyPhase::length:
      case HttpBodyPhase::chunk_data: {
        const uint64_t take = std::min<uint64_t>(state.remaining, bytes.size() - i);
        i += size_t(take);
        state.remaining -= take;
        if (state.remaining == 0) {
          state.phase = state.phase == HttpBodyPhase::length ? HttpBodyPhase::head : HttpBodyPhase::chunk_data_cr;
          if (state.phase == HttpBodyPhase::head) {
            consumed = i;
            return HttpBodyStatus::done;
          }
        }
        continue;
      }
      case HttpBodyPhase::chunk_size:
        if (const int digit = hex_value(c); digit >= 0) {
          if (++state.digits > kMaxChunkSizeDigits) break;
          state.remaining = state.remaining * 16 + uint64_t(digit);
          ++state.line_bytes;
          ++i;
          continue;
        }
        if (state.digits == 0) break;
        state.phase = HttpBodyPhase::chunk_extension;  // the byte is read there
        continue;
      case HttpBodyPhase::chunk_extension:
        // chunk-ext = *( BWS ";" ... ): only its bytes are checked, not its grammar; it must start
        // with whitespace or ';' so that "1x" is no size.
        if (c == '\r') {
          state.phase = HttpBodyPhase::chunk_size_lf;
          ++i;
          continue;
        }
        if (!is_line_byte(c) || !line_byte()) break;
        if (state.line_bytes == state.digits + 1 && c != ';' && !is_ows(char(c))) break;
        ++i;
        continue;
      case HttpBodyPhase::chunk_size_lf:
        if (c != '\n') break;
        ++i;
        state.line_bytes = 0;
        state.digits = 0;
        state.phase = state.remaining ? HttpBodyPhase::chunk_data : HttpBodyPhase::trailer_start;
        continue;
      case HttpBodyPhase::chunk_data_cr:
        if (c != '\r') break;
        state.phase = HttpBodyPhase::chunk_data_lf;
        ++i;
        continue;
      case HttpBodyPhase::chunk_data_lf:
        if (c != '\n') break;
        state.phase = HttpBodyPhase::chunk_size;
        ++i;
        continue;
      case HttpBodyPhase::trailer_start:
        ++i;
        if (c == '\r') {
          state.phase = HttpBodyPhase::trailer_end_lf;
          continue;
        }
        // A trailer line is a header field line: no leading whitespace (obs-fold), no colon first.
        if (!is_line_byte(c) || is_ows(char(c)) || c == ':') break;
        state.line_bytes = 1;
        state.phase = HttpBodyPhase::trailer_line;
        continue;
      case HttpBodyPhase::trailer_line:
        ++i;
        if (c == '\r') {
          state.phase = HttpBodyPhase::trailer_line_lf;
          continue;
        }
        if (!is_line_byte(c) || !line_byte()) break;
        continue;
      case HttpBodyPhase::trailer_line_lf:
        if (c != '\n') break;
        ++i;
        state.line_bytes = 0;
        state.phase = HttpBodyPhase::trailer_start;
        continue;
      case HttpBodyPhase::trailer_end_lf:
        if (c != '\n') break;
        ++i;
        state = HttpBodyState{};
        consumed = i;
        return HttpBodyStatus::done;
    }
    consumed = i;
    return HttpBodyStatus::chunk_malformed;  // every `break` above
  }
  consumed = i;
  if (state.phase == HttpBodyPhase::head) return HttpBodyStatus::done;
  return HttpBodyStatus::more;
}

const char* to_string(HttpFramingStatus status) {
  switch (status) {
    case HttpFramingStatus::ok: return "ok";
    case HttpFramingStatus::ambiguous: return "ambiguous";
    case HttpFramingStatus::content_length_invalid: return "content_length_invalid";
    case HttpFramingStatus::transfer_encoding_unsupported: return "transfer_encoding_unsupported";
  }
  return "unknown";
}

const char* to_string(HttpBodyStatus status) {
  switch (status) {
    case HttpBodyStatus::more: return "more";
    case HttpBodyStatus::done: return "done";
    case HttpBodyStatus::chunk_malformed: return "chunk_malformed";
  }
  return "unknown";
}

}  // namespace sluice

#include "controlplane/records/json_appender.h"

#include <array>

namespace sluice {

namespace {

// True for the bytes a JSON string cannot hold as they are (or that this log never writes raw).
constexpr std::array<bool, 256> kEscaped = [] {
  std::array<bool, 256> escaped{};
  for (int c = 0; c < 256; ++c) escaped[c] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\';
  return escaped;
}();

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"': out.append("\\\""); return;
    case '\\': out.append("\\\\"); return;
    case '\n': out.append("\\n"); return;
    case '\r': out.append("\\r"); return;
    case '\t': out.append("\\t"); return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const char escaped[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0x0f]};
  out.append(escaped, sizeof escaped);
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  const char* run = text.data();
  const char* const end = text.data() + text.size();
  for (const char* at = run; at != end; ++at) {
    const auto c = static_cast<unsigned char>(*at);
    if (!kEscaped[c]) continue;
    out.append(run, static_cast<size_t>(at - run));  // the plain bytes before it, in one piece
    append_escape(out, c);
    run = at + 1;
  }
  out.append(run, static_cast<size_t>(end - run));
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_json_escaped(out, text);
  return out;
}

}  // namespace sluice

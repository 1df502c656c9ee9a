#include "dataplane/parse/http_request_parser.h"

namespace sluice {

namespace {

constexpr std::string_view kLineEnd = "\r\n";
constexpr std::string_view kHeadEnd = "\r\n\r\n";
constexpr size_t kMaxMethodLength = 20;
constexpr size_t kMaxPortDigits = 5;

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_ows(char c) { return c == ' ' || c == '\t'; }
char to_lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

// Visible ASCII and obs-text: what a request target may hold; space ends it.
bool is_target_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f;
}

bool is_control(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

// RFC 9110 tchar: header names are tokens.
bool is_token_char(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

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

struct RequestLine {
  std::string_view method;
  std::string_view target;
  bool http_1_0 = false;
};

// `complete` says whether `line` is the whole request line (CRLF seen). When it is not, the bytes
// so far are judged as a prefix, so that a stream that can never become HTTP is refused at once
// instead of being "incomplete" forever.
HttpRequestStatus parse_request_line(std::string_view line, bool complete, RequestLine& out) {
  // With the CR, so that a prefix cut just after it is still recognised.
  constexpr std::string_view kVersions[] = {"HTTP/1.0\r", "HTTP/1.1\r"};
  const auto wait_or_refuse = [complete] {
    return complete ? HttpRequestStatus::not_http : HttpRequestStatus::incomplete;
  };
  size_t i = 0;
  while (i < line.size() && i <= kMaxMethodLength && is_upper(line[i])) ++i;
  if (i > kMaxMethodLength) return HttpRequestStatus::not_http;
  if (i == line.size()) return wait_or_refuse();
  if (i == 0 || line[i] != ' ') return HttpRequestStatus::not_http;
  out.method = line.substr(0, i);

  const size_t target_start = ++i;
  while (i < line.size() && is_target_byte(line[i])) ++i;
  if (i == line.size()) return wait_or_refuse();
  if (i == target_start || line[i] != ' ') return HttpRequestStatus::not_http;
  out.target = line.substr(target_start, i - target_start);

  const std::string_view version = line.substr(i + 1);
  for (auto candidate : kVersions) {
    if (complete && version == candidate.substr(0, candidate.size() - 1)) {
      out.http_1_0 = candidate == kVersions[0];
      return HttpRequestStatus::ok;
    }
    if (!complete && candidate.starts_with(version)) return HttpRequestStatus::incomplete;
  }
  return HttpRequestStatus::not_http;
}

struct Authority {
  std::string_view host;
  uint16_t port = 0;
};

bool parse_port(std::string_view digits, uint16_t& port) {
  if (digits.empty() || digits.size() > kMaxPortDigits) return false;
  uint32_t value = 0;
  for (char c : digits) {
    if (!is_digit(c)) return false;
    value = value * 10 + uint32_t(c - '0');
  }
  if (value == 0 || value > 65535) return false;
  port = uint16_t(value);
  return true;
}

// host[:port] or [ipv6-literal][:port]. Anything we cannot read unambiguously is refused, because
// the firewall and the server must agree on which host is meant.
bool parse_authority(std::string_view text, bool port_required, Authority& out) {
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    out.host = text.substr(1, close - 1);
    for (char c : out.host) {
      if (!is_hex(c) && c != ':' && c != '.') return false;
    }
    // Brackets hold an IPv6 literal only; "[example.com]" must not pass as example.com.
    if (out.host.find(':') == std::string_view::npos) return false;
    rest = text.substr(close + 1);
  } else {
    const size_t colon = text.find(':');
    out.host = text.substr(0, colon);
    if (colon != std::string_view::npos) rest = text.substr(colon);
  }
  if (out.host.empty()) return false;
  out.port = 0;
  if (rest.empty()) return !port_required;
  return rest.front() == ':' && parse_port(rest.substr(1), out.port);
}

enum class TargetForm : uint8_t { origin, absolute, authority };

// Reads the host a target names, if any. `form` is absolute for "scheme://authority/...".
HttpRequestStatus parse_target(std::string_view method, std::string_view target, TargetForm& form,
                               Authority& authority, std::string_view& path) {
  const auto path_of = [](std::string_view rest) { return rest.substr(0, rest.find_first_of("?#")); };
  if (method == "CONNECT") {
    form = TargetForm::authority;
    return parse_authority(target, true, authority) ? HttpRequestStatus::ok : HttpRequestStatus::malformed;
  }
  if (target.front() == '/' || target == "*") {
    form = TargetForm::origin;
    if (target.front() == '/') path = path_of(target);
    return HttpRequestStatus::ok;
  }
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), matched case-insensitively by nature.
  size_t i = 0;
  while (i < target.size() && (is_alpha(target[i]) || (i > 0 && (is_digit(target[i]) || target[i] == '+' ||
                                                                   target[i] == '-' || target[i] == '.')))) {
    ++i;
  }
  if (i == 0 || target.substr(i, 3) != "://") return HttpRequestStatus::malformed;
  form = TargetForm::absolute;
  std::string_view rest = target.substr(i + 3);
  const std::string_view text = rest.substr(0, rest.find_first_of("/?#"));
  path = path_of(rest.substr(text.size()));
  // userinfo ("allowed.example@other.example") is deprecated for http and only serves to confuse.
  if (text.find('@') != std::string_view::npos) return HttpRequestStatus::malformed;
  return parse_authority(text, false, authority) ? HttpRequestStatus::ok : HttpRequestStatus::malformed;
}

struct HostHeader {
  int count = 0;
  std::string_view value;
};

HttpRequestStatus parse_headers(std::string_view headers, HostHeader& host) {
  // Every line, the last included, ends in CRLF: the head was cut just after it.
  size_t position = 0;
  while (position < headers.size()) {
    const size_t line_end = headers.find(kLineEnd, position);
    const std::string_view line = headers.substr(position, line_end - position);
    position = line_end + kLineEnd.size();
    // obs-fold continues a value on the next line; servers disagree on it, so we refuse it.
    if (is_ows(line.front())) return HttpRequestStatus::malformed;
    for (char c : line) {
      if (is_control(c)) return HttpRequestStatus::malformed;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return HttpRequestStatus::malformed;
    const std::string_view name = line.substr(0, colon);
    // Includes "Host : x": whitespace before the colon is an old smuggling trick (RFC 9112 5.1).
    for (char c : name) {
      if (!is_token_char(c)) return HttpRequestStatus::malformed;
    }
    if (!equals_ignore_case(name, "host")) continue;
    if (host.count == 0) host.value = trim_ows(line.substr(colon + 1));
    ++host.count;
  }
  return HttpRequestStatus::ok;
}

}  // namespace

HttpRequestStatus parse_http_request(std::span<const uint8_t> stream, HttpRequestInfo& out) {
  out = HttpRequestInfo{};
  const std::string_view text(reinterpret_cast<const char*>(stream.data()), stream.size());
  const size_t line_end = text.find(kLineEnd);
  const size_t head_end = text.find(kHeadEnd);
  RequestLine request;
  if (head_end == std::string_view::npos) {
    const bool line_complete = line_end != std::string_view::npos;
    const auto status = parse_request_line(text.substr(0, line_end), line_complete, request);
    return status == HttpRequestStatus::ok ? HttpRequestStatus::incomplete : status;
  }
  if (auto status = parse_request_line(text.substr(0, line_end), true, request); status != HttpRequestStatus::ok) {
    return status;
  }
  out.method = request.method;
  out.target = request.target;

  HostHeader host_header;
  // From after the request line to the CRLF that ends the last header line.
  const std::string_view headers = text.substr(line_end + kLineEnd.size(), head_end - line_end);
  if (auto status = parse_headers(headers, host_header); status != HttpRequestStatus::ok) return status;
  if (host_header.count > 1) return HttpRequestStatus::duplicate_host;

  TargetForm form = TargetForm::origin;
  Authority target_authority;
  if (auto status = parse_target(request.method, request.target, form, target_authority, out.path);
      status != HttpRequestStatus::ok) {
    return status;
  }

  if (host_header.count == 0) {
    // HTTP/1.1 requires Host always (RFC 9112 3.2); CONNECT and an HTTP/1.0 absolute-form target
    // name the host themselves.
    const bool target_names_host =
        form == TargetForm::authority || (form == TargetForm::absolute && request.http_1_0);
    if (!target_names_host) return HttpRequestStatus::missing_host;
    out.host = target_authority.host;
    out.port = target_authority.port;
    return HttpRequestStatus::ok;
  }

  if (host_header.value.empty() && form == TargetForm::origin) return HttpRequestStatus::missing_host;
  Authority header_authority;
  if (!host_header.value.empty() && !parse_authority(host_header.value, false, header_authority)) {
    return HttpRequestStatus::malformed;
  }
  if (form == TargetForm::origin) {
    out.host = header_authority.host;
    out.port = header_authority.port;
    return HttpRequestStatus::ok;
  }
  // The target's host is the one a proxy or server acts on, so it wins; a Host naming another
  // host would let the client show the firewall one name and the server another.
  if (!equals_ignore_case(header_authority.host, target_authority.host)) return HttpRequestStatus::host_mismatch;
  out.host = target_authority.host;
  out.port = target_authority.port;
  return HttpRequestStatus::ok;
}

const char* to_string(HttpRequestStatus status) {
  switch (status) {
    case HttpRequestStatus::ok: return "ok";
    case HttpRequestStatus::incomplete: return "incomplete";
    case HttpRequestStatus::not_http: return "not_http";
    case HttpRequestStatus::malformed: return "malformed";
    case HttpRequestStatus::missing_host: return "missing_host";
    case HttpRequestStatus::duplicate_host: return "duplicate_host";
    case HttpRequestStatus::host_mismatch: return "host_mismatch";
  }
  return "unknown";
}

}  // namespace sluice

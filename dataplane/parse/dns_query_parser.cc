#include "dataplane/parse/dns_query_parser.h"

#include <string_view>

#include "dataplane/parse/byte_reader.h"

namespace sluice {

namespace {

constexpr size_t kQuestionFixedLength = 4;  // type, class
constexpr size_t kOptFixedLength = 10;      // type, class (UDP size), ttl (flags), rdlength
constexpr uint16_t kFlagResponse = 0x8000;
constexpr uint16_t kTypeOpt = 41;
constexpr uint8_t kLabelTypeMask = 0xc0;

// The question's name as text, labels joined by dots. Compression needs an earlier name to
// point at, and the question is the first name of a query: a pointer there is refused.
DnsQueryStatus read_question_name(std::span<const uint8_t> message, size_t& position, char* text,
                                  size_t& length, bool& dot_in_label) {
  length = 0;
  for (;;) {
    if (position >= message.size()) return DnsQueryStatus::truncated;
    const uint8_t label = message[position++];
    if (label & kLabelTypeMask) return DnsQueryStatus::bad_label;
    if (label == 0) return DnsQueryStatus::ok;
    if (message.size() - position < label) return DnsQueryStatus::truncated;
    const size_t separator = length == 0 ? 0 : 1;
    if (length + separator + label > kMaxHostnameLength) return DnsQueryStatus::bad_label;
    if (separator) text[length++] = '.';
    for (size_t i = 0; i < label; ++i) {
      const char c = char(message[position + i]);
      // "a.b" as one label would read as two labels: a name nobody can resolve as written.
      if (c == '.') dot_in_label = true;
      text[length++] = c;
    }
    position += label;
  }
}

bool is_decimal_octet(std::string_view label) {
  if (label.empty() || label.size() > 3 || (label.size() > 1 && label[0] == '0')) return false;
  unsigned value = 0;
  for (char c : label) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + unsigned(c - '0');
  }
  return value <= 255;
}

bool is_nibble(std::string_view label) {
  return label.size() == 1 && ((label[0] >= '0' && label[0] <= '9') || (label[0] >= 'a' && label[0] <= 'f'));
}

}  // namespace

DnsQueryStatus parse_dns_query(std::span<const uint8_t> message, DnsQueryInfo& out) {
  out = DnsQueryInfo{};
  if (message.size() < kDnsHeaderLength) return DnsQueryStatus::truncated;
  const uint8_t* header = message.data();
  out.id = load_be16(header);
  out.flags = load_be16(header + 2);
  const uint8_t opcode = uint8_t((out.flags >> 11) & 0x0f);
  if ((out.flags & kFlagResponse) || opcode != 0) return DnsQueryStatus::not_query;
  if (load_be16(header + 4) != 1) return DnsQueryStatus::not_one_question;
  if (load_be16(header + 6) != 0 || load_be16(header + 8) != 0) return DnsQueryStatus::unexpected_records;
  const unsigned additional = load_be16(header + 10);
  if (additional > 1) return DnsQueryStatus::unexpected_records;

  size_t position = kDnsHeaderLength;
  char raw[kMaxHostnameLength];
  size_t raw_length = 0;
  bool dot_in_label = false;
  if (auto status = read_question_name(message, position, raw, raw_length, dot_in_label);
      status != DnsQueryStatus::ok)
    return status;
  if (message.size() - position < kQuestionFixedLength) return DnsQueryStatus::truncated;
  out.query_type = load_be16(message.data() + position);
  out.query_class = load_be16(message.data() + position + 2);
  position += kQuestionFixedLength;
  out.question_end = position;
  size_t length = 0;
  if (dot_in_label || normalize_hostname({raw, raw_length}, out.name, length) != HostnameStatus::ok)
    return DnsQueryStatus::invalid_name;
  out.name_length = uint8_t(length);

  if (additional == 1) {
    // EDNS(0): the root name (one zero byte), type OPT, then its options in rdata.
    if (position >= message.size()) return DnsQueryStatus::truncated;
    if (message[position] != 0) return DnsQueryStatus::unexpected_records;
    ++position;
    if (message.size() - position < kOptFixedLength) return DnsQueryStatus::truncated;
    if (load_be16(message.data() + position) != kTypeOpt) return DnsQueryStatus::unexpected_records;
    const size_t rdlength = load_be16(message.data() + position + 8);
    position += kOptFixedLength;
    if (message.size() - position < rdlength) return DnsQueryStatus::truncated;
    position += rdlength;
  }
  if (position != message.size()) return DnsQueryStatus::trailing_bytes;
  return DnsQueryStatus::ok;
}

bool is_reverse_lookup_name(std::string_view name) {
  constexpr std::string_view kV4 = ".in-addr.arpa";
  constexpr std::string_view kV6 = ".ip6.arpa";
  const bool v4 = name.ends_with(kV4);
  if (!v4 && !name.ends_with(kV6)) return false;
  std::string_view labels = name.substr(0, name.size() - (v4 ? kV4 : kV6).size());
  const size_t most = v4 ? 4 : 32;
  size_t count = 0;
  while (!labels.empty()) {
    const size_t dot = labels.find('.');
    const std::string_view label = labels.substr(0, dot);
    if (++count > most || !(v4 ? is_decimal_octet(label) : is_nibble(label))) return false;
    labels = dot == std::string_view::npos ? std::string_view{} : labels.substr(dot + 1);
    if (dot != std::string_view::npos && labels.empty()) return false;
  }
  return count > 0;
}

const char* to_string(DnsQueryStatus status) {
  switch (status) {
    case DnsQueryStatus::ok: return "ok";
    case DnsQueryStatus::truncated: return "truncated";
    case DnsQueryStatus::not_query: return "not_query";
    case DnsQueryStatus::not_one_question: return "not_one_question";
    case DnsQueryStatus::unexpected_records: return "unexpected_records";
    case DnsQueryStatus::bad_label: return "bad_label";
    case DnsQueryStatus::invalid_name: return "invalid_name";
    case DnsQueryStatus::trailing_bytes: return "trailing_bytes";
  }
  return "unknown";
}

}  // namespace sluice

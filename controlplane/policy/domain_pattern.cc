#include "controlplane/policy/domain_pattern.h"

#include <algorithm>

#include "controlplane/policy/cidr.h"
#include "dataplane/domain/hostname.h"
#include "controlplane/policy/quoted_text.h"

namespace sluice {

namespace {

constexpr uint32_t kMaxPort = 65535;

std::string describe_hostname_problem(HostnameStatus status) {
  switch (status) {
    case HostnameStatus::ok:
      return "";
    case HostnameStatus::empty:
      return "no domain name";
    case HostnameStatus::too_long:
      return "name longer than " + std::to_string(kMaxHostnameLength) + " characters";
    case HostnameStatus::bad_label_length:
      return "empty label (\"..\") or a label longer than 63 characters";
    case HostnameStatus::invalid_byte:
      return "character not allowed in a host name (letters, digits, '-' and '_' only)";
  }
  return "not a host name";
}


// Digits only (from_chars alone would take "+80"). A number too long for a port is reported as
// out of range, not as garbage: the operator wrote a number.
enum class PortNumber : uint8_t { ok, not_a_number, out_of_range };

PortNumber parse_port_number(std::string_view text, uint16_t& port) {
  if (text.empty()) return PortNumber::not_a_number;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return PortNumber::not_a_number;
  uint32_t value = 0;
  for (char c : text) {
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > kMaxPort) return PortNumber::out_of_range;
  }
  if (value < 1) return PortNumber::out_of_range;
  port = static_cast<uint16_t>(value);
  return PortNumber::ok;
}

std::string parse_port_item(std::string_view item, DomainPortRange& range) {
  const size_t dash = item.find('-');
  const std::string_view first_text = item.substr(0, dash);
  const std::string_view last_text = dash == std::string_view::npos ? first_text : item.substr(dash + 1);
  const PortNumber first = parse_port_number(first_text, range.first);
  const PortNumber last = parse_port_number(last_text, range.last);
  if (first == PortNumber::not_a_number || last == PortNumber::not_a_number)
    return quoted_text(item) + " is not a port or PORT-PORT range (as in \"443\" or \"8000-8100\")";
  if (first == PortNumber::out_of_range) return "port " + std::string(first_text) + " is not in 1-65535";
  if (last == PortNumber::out_of_range) return "port " + std::string(last_text) + " is not in 1-65535";
  if (range.first > range.last) return "range " + quoted_text(item) + " starts above its end";
  return "";
}

}  // namespace

std::string parse_domain_ports(std::string_view text, std::vector<DomainPortRange>& out) {
  if (text.empty())
    return "empty port list after ':' (as in \"example.com:443,8000-8100\"; no ':' allows every port)";
  std::vector<DomainPortRange> ranges;
  for (size_t start = 0;;) {
    const size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) return "empty entry in the port list " + quoted_text(text);
    DomainPortRange range;
    if (std::string problem = parse_port_item(item, range); !problem.empty()) return problem;
    ranges.push_back(range);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(ranges.begin(), ranges.end());
  std::vector<DomainPortRange> merged;
  for (const DomainPortRange& range : ranges) {
    if (!merged.empty() && static_cast<uint32_t>(range.first) <= static_cast<uint32_t>(merged.back().last) + 1) {
      merged.back().last = std::max(merged.back().last, range.last);
    } else {
      merged.push_back(range);
    }
  }
  out = std::move(merged);
  return "";
}

std::string parse_domain_pattern(std::string_view text, DomainPattern& out) {
  if (text.empty()) return "empty domain pattern";
  if (text.find("://") != std::string_view::npos)
    return "a URL, not a domain pattern; write the host name alone, as in \"example.com\"";
  // An IPv6 literal is full of ':'; say what it is rather than misreading a port list.
  if (parse_ip(text)) return "an IP address, not a domain; list it under allowed_networks";

  const size_t colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  if (name.empty()) return "no domain name before the port list";

  DomainPatternKind kind = DomainPatternKind::exact;
  std::string_view base = name;
  if (name.starts_with("*.")) {
    kind = DomainPatternKind::strict_subdomains;
    base.remove_prefix(2);
  } else if (name.starts_with(".")) {
    kind = DomainPatternKind::apex_and_subdomains;
    base.remove_prefix(1);
  }

  if (base.find('*') != std::string_view::npos) {
    return "'*' is accepted only as the whole first label, as in \"*.example.com\"";
  }
  if (base.empty() || base == ".") {
    return kind == DomainPatternKind::exact ? "empty domain pattern"
                                            : "no domain name after the leading \"" +
                                                  std::string(name.substr(0, name.size() - base.size())) + "\"";
  }

  char buffer[kMaxHostnameLength];
  size_t length = 0;
  const HostnameStatus status = normalize_hostname(base, buffer, length);
  if (status != HostnameStatus::ok) return describe_hostname_problem(status);

  // Every name "*.base" matches is at least two bytes longer than base; refuse a pattern that
  // could never match rather than compile it silently.
  if (kind == DomainPatternKind::strict_subdomains && length + 2 > kMaxHostnameLength) {
    return "no name below this one fits in " + std::to_string(kMaxHostnameLength) + " characters";
  }
  std::string normalized(buffer, length);
  // A literal address is a destination IP, and allowed_networks judges that without trusting
  // what the client wrote in its SNI or Host.
  if (parse_ip(normalized)) return "an IP address, not a domain; list it under allowed_networks";

  std::vector<DomainPortRange> ports;
  if (colon != std::string_view::npos) {
    if (std::string problem = parse_domain_ports(text.substr(colon + 1), ports); !problem.empty()) return problem;
  }

  out.kind = kind;
  out.base = std::move(normalized);
  out.ports = std::move(ports);
  return "";
}

}  // namespace sluice

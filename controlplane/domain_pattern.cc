#include "controlplane/domain_pattern.h"

#include "controlplane/cidr.h"
#include "dataplane/domain/hostname.h"

namespace sluice {

namespace {

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

}  // namespace

std::string parse_domain_pattern(std::string_view text, DomainPattern& out) {
  if (text.empty()) return "empty domain pattern";

  DomainPatternKind kind = DomainPatternKind::exact;
  std::string_view base = text;
  if (text.starts_with("*.")) {
    kind = DomainPatternKind::strict_subdomains;
    base.remove_prefix(2);
  } else if (text.starts_with(".")) {
    kind = DomainPatternKind::apex_and_subdomains;
    base.remove_prefix(1);
  }

  if (base.find('*') != std::string_view::npos) {
    return "'*' is accepted only as the whole first label, as in \"*.example.com\"";
  }
  if (base.empty() || base == ".") {
    return kind == DomainPatternKind::exact ? "empty domain pattern"
                                            : "no domain name after the leading \"" +
                                                  std::string(text.substr(0, text.size() - base.size())) + "\"";
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

  out.kind = kind;
  out.base = std::move(normalized);
  return "";
}

}  // namespace sluice

#include "cli/explain_question.h"

#include "controlplane/policy/cidr.h"
#include "controlplane/config/cli_args.h"
#include "dataplane/domain/hostname.h"
#include "dataplane/parse/packet_parser.h"
#include "controlplane/policy/quoted_text.h"

namespace sluice {

namespace {


bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

}  // namespace

bool looks_numeric(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return false;
  for (char c : name)
    if (c != '.' && (c < '0' || c > '9')) return false;
  return true;
}

std::string parse_explain_question(std::string_view source, std::string_view destination,
                                   std::optional<std::string_view> port, std::optional<std::string_view> protocol,
                                   ExplainQuestion& out) {
  out = ExplainQuestion{};
  auto source_ip = parse_ip(source);
  if (!source_ip) return "SRC_IP " + quoted_text(source) + " is not an IPv4 or IPv6 address";
  out.source = *source_ip;
  out.destination = std::string(destination);

  if (auto destination_ip = parse_ip(destination)) {
    if (destination_ip->family != out.source.family)
      return "SRC_IP " + quoted_text(source) + " and DEST " + quoted_text(destination) + " are not of the same IP family";
    out.destination_ip = *destination_ip;
  } else {
    char normalized[kMaxHostnameLength];
    size_t length = 0;
    HostnameStatus status = normalize_hostname(destination, normalized, length);
    if (status != HostnameStatus::ok)
      return "DEST " + quoted_text(destination) + " is neither an IP address nor a host name (" + to_string(status) + ")";
    if (looks_numeric(destination))
      return "DEST " + quoted_text(destination) + " is not a valid IP address, and a number is not a host name";
    out.destination_is_name = true;
  }

  std::string_view protocol_text = protocol.value_or("tcp");
  if (equals_ignoring_case(protocol_text, "tcp")) {
    out.ip_protocol = kIpProtoTcp;
  } else if (equals_ignoring_case(protocol_text, "udp")) {
    out.ip_protocol = kIpProtoUdp;
  } else if (equals_ignoring_case(protocol_text, "icmp")) {
    out.ip_protocol = out.source.family == 6 ? kIpProtoIcmpv6 : kIpProtoIcmp;
  } else {
    return "--protocol must be tcp, udp or icmp, not " + quoted_text(protocol_text);
  }
  if (out.destination_is_name && out.ip_protocol != kIpProtoTcp && out.ip_protocol != kIpProtoUdp)
    return "a host name is only judged over TCP (TLS SNI or HTTP Host) or QUIC (UDP); give an IP address for " +
           std::string(protocol_text);

  if (out.ip_protocol == kIpProtoIcmp || out.ip_protocol == kIpProtoIcmpv6) {
    if (port) return "ICMP has no ports: --port does not apply";
    out.port = 0;
  } else if (port) {
    auto number = parse_uint32(*port);
    if (!number || *number == 0 || *number > 65535)
      return "--port needs a number from 1 to 65535, not " + quoted_text(*port);
    out.port = static_cast<uint16_t>(*number);
  }
  return "";
}

}  // namespace sluice

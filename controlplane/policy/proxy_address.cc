#include "controlplane/policy/proxy_address.h"

#include "controlplane/policy/cidr.h"

namespace sluice {

std::string parse_proxy_address(std::string_view text, ProxyAddress& out) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return "is not ADDRESS:PORT (an IPv6 address goes in brackets: \"[2001:db8::9]:3128\")";
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon)
      return "is not ADDRESS:PORT (\"198.18.9.9:3128\", \"[2001:db8::9]:3128\")";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto address = parse_ip(host);
  if (!address) return "names no IP address (a proxy is named by its address and port)";
  if (text.front() == '[' && address->family != 6) return "has an IPv4 address in brackets";
  uint32_t value = 0;
  if (port.empty() || port.size() > 5) return "has no port in 1-65535";
  for (char c : port) {
    if (c < '0' || c > '9') return "has no port in 1-65535";
    value = value * 10 + uint32_t(c - '0');
  }
  if (value < 1 || value > 65535) return "has no port in 1-65535";
  out.address = *address;
  out.port = uint16_t(value);
  return "";
}

}  // namespace sluice

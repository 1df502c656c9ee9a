// An allowed proxy as a policy names it: "ADDRESS:PORT" ("198.18.9.9:3128",
// "[2001:db8::9]:3128"). An address, not a host name: a CONNECT is judged on the address the
// client's TCP connection goes to, and names are not yet bound to addresses (docs/POLICY.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/parse/ip_address.h"

namespace sluice {

struct ProxyAddress {
  IpAddress address;
  uint16_t port = 0;
};

// "" when `text` is a proxy address (then `out` holds it), else why it is not.
std::string parse_proxy_address(std::string_view text, ProxyAddress& out);

}  // namespace sluice

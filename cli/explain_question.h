// The question `sluicectl explain POLICY SRC_IP DEST [--port N] [--protocol P]` asks, checked
// before anything is loaded: a malformed question is the operator's mistake (exit 2), never a
// verdict.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dataplane/parse/ip_address.h"

namespace sluice {

inline constexpr uint16_t kExplainDefaultPort = 443;

struct ExplainQuestion {
  IpAddress source;
  std::string destination;          // as the operator wrote it
  bool destination_is_name = false;
  IpAddress destination_ip;         // when !destination_is_name
  uint8_t ip_protocol = 6;          // TCP, UDP, or ICMP/ICMPv6 by the source's family
  uint16_t port = kExplainDefaultPort;  // 0 for ICMP
  // Where a name's probe goes instead of a stand-in address (explain.cc): `sluicectl diff
  // --flows` judges a logged flow at the address it really went to. Unset for explain.
  std::optional<IpAddress> name_address;
};

// Fills `out` and returns "", or returns what is wrong with the question. `port` and `protocol`
// are the option values when given.
std::string parse_explain_question(std::string_view source, std::string_view destination,
                                   std::optional<std::string_view> port, std::optional<std::string_view> protocol,
                                   ExplainQuestion& out);

// True for "1.2.3" or "10.0.0.256": host-name syntax, but meant as an address. A TLS server name
// is never an address (RFC 6066), so such a DEST is refused rather than judged as a name.
bool looks_numeric(std::string_view name);

}  // namespace sluice

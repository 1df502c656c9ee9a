// An Ethernet MAC address as the routed-mode code sees it: six bytes, no DPDK type, so that the
// parsers and tables that use it stay pure.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

struct MacAddress {
  uint8_t bytes[6] = {};

  bool operator==(const MacAddress& other) const { return std::memcmp(bytes, other.bytes, sizeof bytes) == 0; }
  bool is_zero() const { return *this == MacAddress{}; }
  bool is_multicast() const { return bytes[0] & 1; }  // broadcast included
};

// "12:34:56:78:9a:bc" (either case); nullopt for anything else. Allocates nothing.
std::optional<MacAddress> parse_mac(std::string_view text);
// Lower-case, colon-separated; allocates, so never on the packet path.
std::string format_mac(const MacAddress& mac);

}  // namespace sluice

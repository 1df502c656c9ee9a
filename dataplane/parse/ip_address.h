// An IPv4 or IPv6 address as the parsers and the flow table see it: 16 bytes, IPv4 in the first 4.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace sluice {

struct IpAddress {
  uint8_t family = 0;  // 4 or 6; 0 = unset
  uint8_t bytes[16] = {};

  bool operator==(const IpAddress& other) const {
    return family == other.family && std::memcmp(bytes, other.bytes, sizeof bytes) == 0;
  }
  // rte_lpm wants the IPv4 address in host byte order.
  uint32_t v4_host_order() const {
    return (uint32_t(bytes[0]) << 24) | (uint32_t(bytes[1]) << 16) | (uint32_t(bytes[2]) << 8) | bytes[3];
  }
};

// "198.18.0.1" or "2001:db8::1"; allocates, so never on the packet path.
std::string format_ip(const IpAddress& address);

}  // namespace sluice

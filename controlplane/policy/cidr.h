// Address and prefix text, as operators write them in policies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dataplane/parse/ip_address.h"

namespace sluice {

struct Cidr {
  IpAddress address;  // host bits are zero
  uint8_t prefix_length = 0;
};

std::optional<IpAddress> parse_ip(std::string_view text);

enum class CidrError : uint8_t { none, syntax, prefix_out_of_range, host_bits_set };

// "198.18.0.0/15", "2001:db8::/32"; a bare address is a /32 or /128.
CidrError parse_cidr(std::string_view text, Cidr& out);
const char* describe(CidrError error);

std::string format_cidr(const Cidr& cidr);

}  // namespace sluice

#include "controlplane/policy/cidr.h"

#include <arpa/inet.h>

#include <charconv>

namespace sluice {

namespace {

// Longer than any address inet_pton accepts; anything longer is refused before copying.
constexpr size_t kMaxAddressText = INET6_ADDRSTRLEN;

bool parse_prefix_length(std::string_view text, unsigned& out) {
  // from_chars would accept nothing but digits anyway; the explicit check also refuses "+8" and
  // " 8", and the length bound keeps "/000000000024" from looking like 24.
  if (text.empty() || text.size() > 3) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

bool host_bits_zero(const IpAddress& address, unsigned prefix_length) {
  const unsigned total_bytes = address.family == 4 ? 4 : 16;
  for (unsigned byte = 0; byte < total_bytes; ++byte) {
    const unsigned first_bit = byte * 8;
    uint8_t host_mask = 0xff;
    if (first_bit + 8 <= prefix_length) {
      host_mask = 0;
    } else if (first_bit < prefix_length) {
      host_mask = uint8_t(0xff >> (prefix_length - first_bit));
    }
    if (address.bytes[byte] & host_mask) return false;
  }
  return true;
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= kMaxAddressText) return std::nullopt;
  // inet_pton wants a terminated string; the view may point into the middle of "addr/len".
  char buffer[kMaxAddressText] = {};
  text.copy(buffer, text.size());
  if (std::string_view(buffer, text.size()).find('\0') != std::string_view::npos) return std::nullopt;

  IpAddress address;
  const bool v6 = text.find(':') != std::string_view::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, buffer, address.bytes) != 1) return std::nullopt;
  address.family = v6 ? 6 : 4;
  return address;
}

CidrError parse_cidr(std::string_view text, Cidr& out) {
  const size_t slash = text.find('/');
  const std::optional<IpAddress> address = parse_ip(text.substr(0, slash));
  if (!address) return CidrError::syntax;

  const unsigned max_length = address->family == 4 ? 32 : 128;
  unsigned prefix_length = max_length;
  if (slash != std::string_view::npos) {
    if (!parse_prefix_length(text.substr(slash + 1), prefix_length)) return CidrError::syntax;
    if (prefix_length > max_length) return CidrError::prefix_out_of_range;
  }
  if (!host_bits_zero(*address, prefix_length)) return CidrError::host_bits_set;

  out.address = *address;
  out.prefix_length = uint8_t(prefix_length);
  return CidrError::none;
}

const char* describe(CidrError error) {
  switch (error) {
    case CidrError::none:
      return "valid";
    case CidrError::syntax:
      return "not an address or ADDRESS/PREFIX (as in 198.18.0.0/15 or 2001:db8::/32)";
    case CidrError::prefix_out_of_range:
      return "prefix length out of range (0-32 for IPv4, 0-128 for IPv6)";
    case CidrError::host_bits_set:
      return "host bits set after the prefix length";
  }
  return "unknown error";
}

std::string format_cidr(const Cidr& cidr) {
  return format_ip(cidr.address) + "/" + std::to_string(cidr.prefix_length);
}

}  // namespace sluice

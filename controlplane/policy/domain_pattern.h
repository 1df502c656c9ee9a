// The allowed-domain pattern language of policies (docs/POLICY.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

enum class DomainPatternKind : uint8_t {
  exact,                 // "example.com": that name only
  strict_subdomains,     // "*.example.com": every name below, not the apex
  apex_and_subdomains,   // ".example.com": the apex and every name below
};

// An inclusive range of destination ports; a single port is first == last.
struct DomainPortRange {
  uint16_t first = 0;
  uint16_t last = 0;
  friend bool operator==(const DomainPortRange&, const DomainPortRange&) = default;
  friend auto operator<=>(const DomainPortRange&, const DomainPortRange&) = default;
};

struct DomainPattern {
  DomainPatternKind kind = DomainPatternKind::exact;
  std::string base;  // normalised (lower case, no trailing dot), without "*." or "."
  // The destination ports of an optional ":PORTS" suffix ("example.com:443,8000-8100"), sorted
  // and merged (overlapping or adjacent ranges become one), so that two spellings of one port
  // set compare equal. Empty = every port (no suffix).
  std::vector<DomainPortRange> ports;
};

// Returns an empty string and fills `out`, or returns what is wrong in words.
// Accepts "NAME" or "NAME:PORTS", PORTS a comma list of ports ("443") or inclusive ranges
// ("8000-8100"), each in 1-65535.
// Over-broad patterns (wildcards over a public suffix) are the validator's concern, not this one's.
std::string parse_domain_pattern(std::string_view text, DomainPattern& out);

// "443,8000-8100": the port list of a suffix (without the ':'), sorted and merged into `out`.
// Returns an empty string, or what is wrong in words.
std::string parse_domain_ports(std::string_view text, std::vector<DomainPortRange>& out);

}  // namespace sluice

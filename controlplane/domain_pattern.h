// The allowed-domain pattern language of policies (docs/POLICY.md).
#pragma once

#include <string>
#include <string_view>

namespace sluice {

enum class DomainPatternKind : uint8_t {
  exact,                 // "example.com": that name only
  strict_subdomains,     // "*.example.com": every name below, not the apex
  apex_and_subdomains,   // ".example.com": the apex and every name below
};

struct DomainPattern {
  DomainPatternKind kind = DomainPatternKind::exact;
  std::string base;  // normalised (lower case, no trailing dot), without "*." or "."
};

// Returns an empty string and fills `out`, or returns what is wrong in words.
// Over-broad patterns (wildcards over a public suffix) are the validator's concern, not this one's.
std::string parse_domain_pattern(std::string_view text, DomainPattern& out);

}  // namespace sluice

// One allowed-domain pattern as the matchers take it: a normalised base name and how names
// relate to it. The policy compiler numbers them; the matchers report those numbers.
#pragma once

#include <cstdint>
#include <string>

namespace sluice {

enum class DomainMatchKind : uint8_t {
  exact,                // example.com
  strict_subdomains,    // *.example.com
  apex_and_subdomains,  // .example.com
};

struct DomainRule {
  DomainMatchKind kind = DomainMatchKind::exact;
  std::string base;  // normalised: lower case, no trailing dot
  uint32_t id = 0;   // returned by match() and visited by for_each_match(): the rule's index in the policy
};

inline constexpr int32_t kNoDomainMatch = -1;

}  // namespace sluice

// Matches a normalised host name against one policy's allowed-domain patterns.
//
// Exact, "*." and "." patterns whose base is a host name (every pattern the policy compiler
// makes) go into a hash table of names (name_suffix_table.h): a match is one lookup per suffix
// of the name at a dot, plus the name itself. Anything else would go into a Hyperscan literal
// database (literal_name_matcher.h), compiled only when such a pattern exists; the answers are
// those of the literal database over every pattern, which the differential tests check.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <hs/hs.h>

#include "dataplane/domain/domain_rule.h"
#include "dataplane/domain/hyperscan_cache.h"
#include "dataplane/domain/literal_name_matcher.h"
#include "dataplane/domain/name_suffix_table.h"

namespace sluice {

class DomainMatcher {
 public:
  // Compiles `rules`; an empty list gives a matcher that matches nothing. With a `cache`, a
  // matcher compiled before from the same rules is loaded instead, and a new one is stored.
  // Returns nullptr and sets `error` when Hyperscan refuses the patterns.
  static std::unique_ptr<DomainMatcher> compile(const std::vector<DomainRule>& rules, std::string& error,
                                                HyperscanCache* cache = nullptr);
  DomainMatcher(const DomainMatcher&) = delete;
  DomainMatcher& operator=(const DomainMatcher&) = delete;

  // `name` must be normalised (normalize_hostname). Returns the lowest matching rule id or
  // kNoDomainMatch. Packet path: no allocation; `scratch` belongs to the calling worker and was
  // sized with reserve_scratch() (unused when every pattern is in the suffix table).
  int32_t match(std::string_view name, hs_scratch_t* scratch) const;

  // Called with each matching rule id; returns true to stop the scan there.
  using RuleVisitor = bool (*)(uint32_t rule_id, void* context);

  // Calls `visitor` once for every rule matching `name` (normalised), in no particular order,
  // until it returns true. Returns true when the visitor stopped the scan, false when every
  // matching rule was visited (or none matched, or the scan failed). Packet path: no allocation;
  // `scratch` as for match().
  bool for_each_match(std::string_view name, hs_scratch_t* scratch, RuleVisitor visitor, void* context) const;

  // The same with any callable `bool(uint32_t rule_id)` (a lambda with captures, say); no allocation.
  template <typename Visit>
  bool for_each_match(std::string_view name, hs_scratch_t* scratch, Visit&& visit) const {
    using Callable = std::remove_reference_t<Visit>;
    return for_each_match(
        name, scratch,
        [](uint32_t rule_id, void* context) { return static_cast<bool>((*static_cast<Callable*>(context))(rule_id)); },
        const_cast<void*>(static_cast<const void*>(&visit)));
  }

  // Grows `scratch` (or allocates it when null) so that it can scan the Hyperscan database, if
  // there is one. Control thread only: Hyperscan allocates.
  bool reserve_scratch(hs_scratch_t** scratch) const;

  size_t pattern_count() const { return pattern_count_; }
  // Patterns left to Hyperscan (not host names); 0 means no database.
  size_t hyperscan_pattern_count() const { return hyperscan_pattern_count_; }
  bool from_cache() const { return from_cache_; }
  // The matcher's compiled size: the suffix table's memory plus the Hyperscan database.
  size_t database_bytes() const;

 private:
  DomainMatcher() = default;
  // Whether an entry for `rule_id` is among the table's first `limit` hits on `name`: a rule
  // reported once only, when ids repeat across rules or the name holds \x02 (several pieces).
  bool table_hits_before(std::string_view name, size_t limit, uint32_t rule_id) const;
  // The cache's bytes: the table's length, the table, then the Hyperscan database if any.
  std::string to_bytes() const;
  bool from_bytes(std::string_view bytes);

  NameSuffixTable names_;
  std::unique_ptr<LiteralNameMatcher> others_;
  size_t pattern_count_ = 0;
  size_t hyperscan_pattern_count_ = 0;
  bool ids_unique_ = true;  // no two rules share an id: a table hit then never repeats a Hyperscan one
  bool from_cache_ = false;
};

}  // namespace sluice

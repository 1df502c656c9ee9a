#include "dataplane/domain/domain_matcher.h"

#include <algorithm>
#include <cstring>

#include "dataplane/domain/hostname.h"

namespace sluice {

namespace {

bool ids_unique(const std::vector<DomainRule>& rules) {
  std::vector<uint32_t> ids;
  ids.reserve(rules.size());
  for (const DomainRule& rule : rules) ids.push_back(rule.id);
  std::sort(ids.begin(), ids.end());
  return std::adjacent_find(ids.begin(), ids.end()) == ids.end();
}

// What the matcher is built from, exactly: the cache's key and its check on load.
std::string canonical(const std::vector<const DomainRule*>& table_rules,
                      const std::vector<const DomainRule*>& hyperscan_rules) {
  std::string text = "suffix-table\n";
  for (const DomainRule* rule : table_rules)
    text += std::to_string(static_cast<int>(rule->kind)) + ":" + std::to_string(rule->id) + ":" +
            std::to_string(rule->base.size()) + ":" + rule->base + "\n";
  text += "hyperscan\n";
  return text + LiteralNameMatcher::canonical(hyperscan_rules);
}

void put_length(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace

std::unique_ptr<DomainMatcher> DomainMatcher::compile(const std::vector<DomainRule>& rules, std::string& error,
                                                      HyperscanCache* cache) {
  std::unique_ptr<DomainMatcher> matcher(new DomainMatcher());
  if (rules.empty()) return matcher;
  matcher->pattern_count_ = rules.size();
  matcher->ids_unique_ = ids_unique(rules);

  std::vector<const DomainRule*> table_rules, hyperscan_rules;
  for (const DomainRule& rule : rules) (NameSuffixTable::holds(rule.base) ? table_rules : hyperscan_rules).push_back(&rule);
  matcher->hyperscan_pattern_count_ = hyperscan_rules.size();

  std::string key;
  if (cache) {
    key = canonical(table_rules, hyperscan_rules);
    if (cache->load(key, [&](std::string_view bytes) { return matcher->from_bytes(bytes); })) {
      matcher->from_cache_ = true;
      return matcher;
    }
  }
  matcher->names_ = NameSuffixTable(table_rules);
  if (!hyperscan_rules.empty()) {
    matcher->others_ = LiteralNameMatcher::compile(hyperscan_rules, error);
    if (!matcher->others_) return nullptr;
  }
  if (cache) cache->store(key, matcher->to_bytes());
  return matcher;
}

std::string DomainMatcher::to_bytes() const {
  std::string table = names_.to_bytes();
  std::string out;
  put_length(out, table.size());
  out += table;
  if (others_) out += others_->to_bytes();
  return out;
}

bool DomainMatcher::from_bytes(std::string_view bytes) {
  if (bytes.size() < 8) return false;
  uint64_t table_length = 0;
  for (int i = 0; i < 8; ++i) table_length |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (table_length > bytes.size() - 8) return false;
  if (!NameSuffixTable::from_bytes(bytes.substr(8, table_length), names_)) return false;
  const std::string_view rest = bytes.substr(8 + table_length);
  if (hyperscan_pattern_count_ == 0) return rest.empty();
  others_ = LiteralNameMatcher::from_bytes(rest);
  return others_ != nullptr;
}

bool DomainMatcher::table_hits_before(std::string_view name, size_t limit, uint32_t rule_id) const {
  size_t seen = 0;
  bool found = false;
  names_.for_each_hit(name, [&](const NameSuffixTable::Entry& entry) {
    if (seen++ >= limit) return true;
    found = entry.id == rule_id;
    return found;
  });
  return found;
}

int32_t DomainMatcher::match(std::string_view name, hs_scratch_t* scratch) const {
  if (name.empty() || name.size() > kMaxHostnameLength) return kNoDomainMatch;
  int64_t best = others_ ? others_->match(name, scratch) : kNoDomainMatch;
  names_.for_each_hit(name, [&](const NameSuffixTable::Entry& entry) {
    if (best == kNoDomainMatch || entry.id < best) best = entry.id;
    return false;
  });
  return static_cast<int32_t>(best);
}

bool DomainMatcher::for_each_match(std::string_view name, hs_scratch_t* scratch, RuleVisitor visitor,
                                   void* context) const {
  if (name.empty() || name.size() > kMaxHostnameLength) return false;
  // A rule can be hit twice only when ids repeat or the name is cut in pieces at \x02; the
  // literal database reports each id once, so those hits are checked against earlier ones.
  const bool may_repeat = !ids_unique_ || std::memchr(name.data(), '\x02', name.size()) != nullptr;
  size_t ordinal = 0;
  const bool stopped = names_.for_each_hit(name, [&](const NameSuffixTable::Entry& entry) {
    const size_t mine = ordinal++;
    if (may_repeat && table_hits_before(name, mine, entry.id)) return false;
    return visitor(entry.id, context);
  });
  if (stopped || !others_) return stopped;
  struct Rest {
    const DomainMatcher* self;
    std::string_view name;
    RuleVisitor visitor;
    void* context;
  } rest{this, name, visitor, context};
  return others_->for_each_match(
      name, scratch,
      [](uint32_t rule_id, void* context) {
        auto* state = static_cast<Rest*>(context);
        if (!state->self->ids_unique_ && state->self->table_hits_before(state->name, SIZE_MAX, rule_id)) return false;
        return state->visitor(rule_id, state->context);
      },
      &rest);
}

bool DomainMatcher::reserve_scratch(hs_scratch_t** scratch) const {
  if (!others_) return true;
  return others_->reserve_scratch(scratch);
}

size_t DomainMatcher::database_bytes() const {
  return names_.memory_bytes() + (others_ ? others_->database_bytes() : 0);
}

}  // namespace sluice

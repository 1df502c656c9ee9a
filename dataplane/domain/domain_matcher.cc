#include "dataplane/domain/domain_matcher.h"

#include <cstring>

#include "dataplane/domain/hostname.h"

namespace sluice {

namespace {

constexpr char kNameStart = '\x01';
constexpr char kNameEnd = '\x02';

struct MatchState {
  int32_t best = kNoDomainMatch;
};

int on_match(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* context) {
  auto* state = static_cast<MatchState*>(context);
  if (state->best == kNoDomainMatch || static_cast<int32_t>(id) < state->best) state->best = static_cast<int32_t>(id);
  return 0;  // keep scanning: the lowest rule id wins, so `explain` is stable
}

struct VisitState {
  DomainMatcher::RuleVisitor visitor;
  void* context;
  bool stopped = false;
};

int on_visit(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* context) {
  auto* state = static_cast<VisitState*>(context);
  if (!state->visitor(id, state->context)) return 0;
  state->stopped = true;
  return 1;  // non-zero halts hs_scan (HS_SCAN_TERMINATED)
}

}  // namespace

std::unique_ptr<DomainMatcher> DomainMatcher::compile(const std::vector<DomainRule>& rules, std::string& error,
                                                      HyperscanCache* cache) {
  std::unique_ptr<DomainMatcher> matcher(new DomainMatcher());
  if (rules.empty()) return matcher;

  std::vector<std::string> literals;
  std::vector<unsigned int> ids;
  for (const auto& rule : rules) {
    switch (rule.kind) {
      case DomainMatchKind::exact:
        literals.push_back(kNameStart + rule.base + kNameEnd);
        ids.push_back(rule.id);
        break;
      case DomainMatchKind::strict_subdomains:
        literals.push_back("." + rule.base + kNameEnd);
        ids.push_back(rule.id);
        break;
      case DomainMatchKind::apex_and_subdomains:
        literals.push_back(kNameStart + rule.base + kNameEnd);
        ids.push_back(rule.id);
        literals.push_back("." + rule.base + kNameEnd);
        ids.push_back(rule.id);
        break;
    }
  }
  // What the database is compiled from, exactly: the cache's key and its check on load.
  std::string canonical;
  if (cache) {
    for (size_t i = 0; i < literals.size(); ++i)
      canonical += std::to_string(ids[i]) + ":" + std::to_string(literals[i].size()) + ":" + literals[i] + "\n";
    if ((matcher->database_ = cache->load(canonical))) {
      matcher->pattern_count_ = rules.size();
      matcher->from_cache_ = true;
      return matcher;
    }
  }
  std::vector<const char*> expressions;
  std::vector<size_t> lengths;
  std::vector<unsigned int> flags(literals.size(), HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH);
  for (const auto& literal : literals) {
    expressions.push_back(literal.data());
    lengths.push_back(literal.size());
  }
  hs_compile_error_t* compile_error = nullptr;
  hs_error_t status = hs_compile_lit_multi(expressions.data(), flags.data(), ids.data(), lengths.data(),
                                           static_cast<unsigned>(literals.size()), HS_MODE_BLOCK, nullptr,
                                           &matcher->database_, &compile_error);
  if (status != HS_SUCCESS) {
    error = compile_error && compile_error->message ? compile_error->message : "hyperscan compile failed";
    if (compile_error) {
      if (compile_error->expression >= 0 && static_cast<size_t>(compile_error->expression) < rules.size())
        error += " (pattern #" + std::to_string(compile_error->expression) + ")";
      hs_free_compile_error(compile_error);
    }
    return nullptr;
  }
  matcher->pattern_count_ = rules.size();
  if (cache) cache->store(canonical, matcher->database_);
  return matcher;
}

DomainMatcher::~DomainMatcher() {
  if (database_) hs_free_database(database_);
}

bool DomainMatcher::scan(std::string_view name, hs_scratch_t* scratch, match_event_handler handler,
                         void* context) const {
  if (!database_ || name.empty() || name.size() > kMaxHostnameLength) return false;
  char framed[kMaxHostnameLength + 2];
  framed[0] = kNameStart;
  std::memcpy(framed + 1, name.data(), name.size());
  framed[name.size() + 1] = kNameEnd;
  const hs_error_t status =
      hs_scan(database_, framed, static_cast<unsigned>(name.size() + 2), 0, scratch, handler, context);
  return status == HS_SUCCESS || status == HS_SCAN_TERMINATED;
}

int32_t DomainMatcher::match(std::string_view name, hs_scratch_t* scratch) const {
  MatchState state;
  if (!scan(name, scratch, on_match, &state)) return kNoDomainMatch;
  return state.best;
}

bool DomainMatcher::for_each_match(std::string_view name, hs_scratch_t* scratch, RuleVisitor visitor,
                                   void* context) const {
  VisitState state{visitor, context};
  if (!scan(name, scratch, on_visit, &state)) return false;
  return state.stopped;
}

bool DomainMatcher::reserve_scratch(hs_scratch_t** scratch) const {
  if (!database_) return true;
  return hs_alloc_scratch(database_, scratch) == HS_SUCCESS;
}

size_t DomainMatcher::database_bytes() const {
  size_t bytes = 0;
  if (database_) hs_database_size(database_, &bytes);
  return bytes;
}

}  // namespace sluice

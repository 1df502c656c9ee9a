#include "dataplane/domain/literal_name_matcher.h"

#include <cstdlib>
#include <cstring>

#include "dataplane/domain/hostname.h"

namespace sluice {

namespace {

constexpr char kNameStart = '\x01';
constexpr char kNameEnd = '\x02';

struct Literals {
  std::vector<std::string> text;
  std::vector<unsigned int> ids;
};

Literals literals_of(const std::vector<const DomainRule*>& rules) {
  Literals out;
  auto add = [&](std::string literal, uint32_t id) {
    out.text.push_back(std::move(literal));
    out.ids.push_back(id);
  };
  for (const DomainRule* rule : rules) {
    switch (rule->kind) {
      case DomainMatchKind::exact: add(kNameStart + rule->base + kNameEnd, rule->id); break;
      case DomainMatchKind::strict_subdomains: add("." + rule->base + kNameEnd, rule->id); break;
      case DomainMatchKind::apex_and_subdomains:
        add(kNameStart + rule->base + kNameEnd, rule->id);
        add("." + rule->base + kNameEnd, rule->id);
        break;
    }
  }
  return out;
}

struct MatchState {
  int32_t best = kNoDomainMatch;
};

int on_match(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* context) {
  auto* state = static_cast<MatchState*>(context);
  if (state->best == kNoDomainMatch || static_cast<int32_t>(id) < state->best) state->best = static_cast<int32_t>(id);
  return 0;  // keep scanning: the lowest rule id wins, so `explain` is stable
}

struct VisitState {
  LiteralNameMatcher::RuleVisitor visitor;
  void* context;
  bool stopped = false;
};

int on_visit(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* context) {
  auto* state = static_cast<VisitState*>(context);
  if (!state->visitor(id, state->context)) return 0;
  state->stopped = true;
  return 1;  // non-zero halts hs_scan (HS_SCAN_TERMINATED)
}

std::vector<const DomainRule*> pointers(const std::vector<DomainRule>& rules) {
  std::vector<const DomainRule*> out;
  for (const DomainRule& rule : rules) out.push_back(&rule);
  return out;
}

}  // namespace

std::string LiteralNameMatcher::canonical(const std::vector<const DomainRule*>& rules) {
  const Literals literals = literals_of(rules);
  std::string text;
  for (size_t i = 0; i < literals.text.size(); ++i)
    text += std::to_string(literals.ids[i]) + ":" + std::to_string(literals.text[i].size()) + ":" + literals.text[i] + "\n";
  return text;
}

std::unique_ptr<LiteralNameMatcher> LiteralNameMatcher::compile(const std::vector<DomainRule>& rules,
                                                                std::string& error) {
  return compile(pointers(rules), error);
}

std::unique_ptr<LiteralNameMatcher> LiteralNameMatcher::compile(const std::vector<const DomainRule*>& rules,
                                                                std::string& error) {
  std::unique_ptr<LiteralNameMatcher> matcher(new LiteralNameMatcher());
  const Literals literals = literals_of(rules);
  std::vector<const char*> expressions;
  std::vector<size_t> lengths;
  std::vector<unsigned int> flags(literals.text.size(), HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH);
  for (const auto& literal : literals.text) {
    expressions.push_back(literal.data());
    lengths.push_back(literal.size());
  }
  hs_compile_error_t* compile_error = nullptr;
  hs_error_t status = hs_compile_lit_multi(expressions.data(), flags.data(), literals.ids.data(), lengths.data(),
                                           static_cast<unsigned>(literals.text.size()), HS_MODE_BLOCK, nullptr,
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
  return matcher;
}

std::string LiteralNameMatcher::to_bytes() const {
  char* bytes = nullptr;
  size_t length = 0;
  if (hs_serialize_database(database_, &bytes, &length) != HS_SUCCESS) return {};
  std::string out(bytes, length);
  std::free(bytes);  // hs_serialize_database allocates with the misc allocator: malloc by default
  return out;
}

std::unique_ptr<LiteralNameMatcher> LiteralNameMatcher::from_bytes(std::string_view bytes) {
  std::unique_ptr<LiteralNameMatcher> matcher(new LiteralNameMatcher());
  if (bytes.empty() || hs_deserialize_database(bytes.data(), bytes.size(), &matcher->database_) != HS_SUCCESS)
    return nullptr;
  return matcher;
}

LiteralNameMatcher::~LiteralNameMatcher() {
  if (database_) hs_free_database(database_);
}

bool LiteralNameMatcher::scan(std::string_view name, hs_scratch_t* scratch, match_event_handler handler,
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

int32_t LiteralNameMatcher::match(std::string_view name, hs_scratch_t* scratch) const {
  MatchState state;
  if (!scan(name, scratch, on_match, &state)) return kNoDomainMatch;
  return state.best;
}

bool LiteralNameMatcher::for_each_match(std::string_view name, hs_scratch_t* scratch, RuleVisitor visitor,
                                        void* context) const {
  VisitState state{visitor, context};
  if (!scan(name, scratch, on_visit, &state)) return false;
  return state.stopped;
}

bool LiteralNameMatcher::reserve_scratch(hs_scratch_t** scratch) const {
  return hs_alloc_scratch(database_, scratch) == HS_SUCCESS;
}

size_t LiteralNameMatcher::database_bytes() const {
  size_t bytes = 0;
  hs_database_size(database_, &bytes);
  return bytes;
}

}  // namespace sluice

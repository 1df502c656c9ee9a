// libFuzzer target: the suffix-table DomainMatcher against the Hyperscan literal database over
// every pattern (LiteralNameMatcher), on patterns and names from the input; and the table's
// cache form read from arbitrary bytes.
//
// Input: the first byte picks the mode. Differential (even): lines up to an empty line are
// patterns (first byte: kind and id, the rest the base), the lines after it are names.
// Cache form (odd): the rest is handed to NameSuffixTable::from_bytes.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/domain/domain_matcher.h"
#include "dataplane/domain/literal_name_matcher.h"
#include "dataplane/domain/name_suffix_table.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

constexpr size_t kMaxPatterns = 48;
constexpr size_t kMaxNames = 32;

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::map<uint32_t, int> visits(const DomainMatcher& matcher, std::string_view name, hs_scratch_t* scratch) {
  std::map<uint32_t, int> seen;
  const bool stopped = matcher.for_each_match(name, scratch, [&](uint32_t id) {
    ++seen[id];
    return false;
  });
  FUZZ_CHECK(!stopped);
  return seen;
}

std::map<uint32_t, int> visits(const LiteralNameMatcher& matcher, std::string_view name, hs_scratch_t* scratch) {
  std::map<uint32_t, int> seen;
  matcher.for_each_match(
      name, scratch,
      [](uint32_t id, void* context) {
        ++(*static_cast<std::map<uint32_t, int>*>(context))[id];
        return false;
      },
      &seen);
  return seen;
}

void differential(std::string_view text) {
  const std::vector<std::string_view> lines = lines_of(text);
  std::vector<DomainRule> rules;
  size_t i = 0;
  for (; i < lines.size() && !lines[i].empty() && rules.size() < kMaxPatterns; ++i) {
    const unsigned char head = static_cast<unsigned char>(lines[i][0]);
    std::string_view base = lines[i].substr(1);
    if (base.empty()) continue;  // an empty literal base is not a pattern anyone writes
    rules.push_back({static_cast<DomainMatchKind>(head % 3), std::string(base), uint32_t(head / 3 % 24)});
  }
  while (i < lines.size() && !lines[i].empty()) ++i;  // patterns past the limit
  if (rules.empty()) return;
  std::string error;
  auto reference = LiteralNameMatcher::compile(rules, error);
  if (!reference) return;
  auto matcher = DomainMatcher::compile(rules, error);
  FUZZ_CHECK(matcher != nullptr);
  hs_scratch_t* reference_scratch = nullptr;
  hs_scratch_t* scratch = nullptr;
  FUZZ_CHECK(reference->reserve_scratch(&reference_scratch));
  FUZZ_CHECK(matcher->reserve_scratch(&scratch));
  FUZZ_CHECK((scratch != nullptr) == (matcher->hyperscan_pattern_count() != 0));
  size_t names = 0;
  for (++i; i < lines.size() && names < kMaxNames; ++i, ++names) {
    const std::string_view name = lines[i];
    FUZZ_CHECK(matcher->match(name, scratch) == reference->match(name, reference_scratch));
    const std::map<uint32_t, int> expected = visits(*reference, name, reference_scratch);
    FUZZ_CHECK(visits(*matcher, name, scratch) == expected);
    FUZZ_CHECK(matcher->for_each_match(name, scratch, [](uint32_t) { return true; }) == !expected.empty());
  }
  hs_free_scratch(reference_scratch);
  if (scratch) hs_free_scratch(scratch);
}

void cache_form(std::string_view bytes) {
  NameSuffixTable table;
  if (!NameSuffixTable::from_bytes(bytes, table)) return;
  // Whatever was accepted is what to_bytes writes, and lookups stay inside it.
  FUZZ_CHECK(table.to_bytes() == bytes);
  for (std::string_view name : {std::string_view("a"), std::string_view("example.com"), std::string_view("x.y.z"),
                                std::string_view("\x02.a\x01" "b")})
    table.for_each_hit(name, [](const NameSuffixTable::Entry&) { return false; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > 8192) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) differential(rest);
  else cache_form(rest);
  return 0;
}

// The suffix-table matcher against the Hyperscan literal database it replaced: on randomized
// pattern sets and names (normalised ones, and bytes no normaliser lets through), both must give
// the same lowest id and visit the same ids the same number of times. Also what goes where
// (host names to the table, anything else to Hyperscan) and the table's cache form.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>

#include "dataplane/domain/domain_matcher.h"
#include "dataplane/domain/literal_name_matcher.h"
#include "dataplane/domain/name_suffix_table.h"

namespace sluice {
namespace {

// Labels that overlap on purpose: "ab" ends in "b", "x-y" and "_s" are legal host-name bytes.
const std::vector<std::string> kLabels = {"a", "b", "ab", "x-y", "_s", "com", "example", "c0"};

std::string random_name(std::mt19937& rng, size_t max_labels) {
  std::string name;
  const size_t labels = 1 + rng() % max_labels;
  for (size_t i = 0; i < labels; ++i) {
    if (i) name += '.';
    name += kLabels[rng() % kLabels.size()];
  }
  return name;
}

// Names a hostile peer could send if nothing normalised them: case, stray dots, boundary bytes.
std::string mangle(std::string name, std::mt19937& rng) {
  const int edits = int(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const size_t at = name.empty() ? 0 : rng() % (name.size() + 1);
    static const char kBytes[] = {'.', '\x01', '\x02', '*', 'A', 'X', '\xff', ' ', '\0'};
    switch (rng() % 4) {
      case 0: name.insert(name.begin() + long(at), kBytes[rng() % sizeof kBytes]); break;
      case 1:
        if (!name.empty()) name.erase(name.begin() + long(std::min(at, name.size() - 1)));
        break;
      case 2:
        for (char& c : name)
          if (rng() % 2 && c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
        break;
      case 3: name.insert(at, random_name(rng, 2) + (rng() % 2 ? "\x02" : "\x01")); break;
    }
  }
  return name;
}

DomainMatchKind random_kind(std::mt19937& rng) { return static_cast<DomainMatchKind>(rng() % 3); }

struct Pair {
  std::unique_ptr<DomainMatcher> table;
  std::unique_ptr<LiteralNameMatcher> reference;
  hs_scratch_t* table_scratch = nullptr;
  hs_scratch_t* reference_scratch = nullptr;
  ~Pair() {
    if (table_scratch) hs_free_scratch(table_scratch);
    if (reference_scratch) hs_free_scratch(reference_scratch);
  }
};

void build(Pair& pair, const std::vector<DomainRule>& rules) {
  std::string error;
  pair.table = DomainMatcher::compile(rules, error);
  ASSERT_NE(pair.table, nullptr) << error;
  ASSERT_TRUE(pair.table->reserve_scratch(&pair.table_scratch));
  pair.reference = LiteralNameMatcher::compile(rules, error);
  ASSERT_NE(pair.reference, nullptr) << error;
  ASSERT_TRUE(pair.reference->reserve_scratch(&pair.reference_scratch));
}

std::map<uint32_t, int> visits_of_table(const Pair& pair, std::string_view name) {
  std::map<uint32_t, int> seen;
  EXPECT_FALSE(pair.table->for_each_match(name, pair.table_scratch, [&](uint32_t id) {
    ++seen[id];
    return false;
  }));
  return seen;
}

std::map<uint32_t, int> visits_of_reference(const Pair& pair, std::string_view name) {
  std::map<uint32_t, int> seen;
  pair.reference->for_each_match(
      name, pair.reference_scratch,
      [](uint32_t id, void* context) {
        ++(*static_cast<std::map<uint32_t, int>*>(context))[id];
        return false;
      },
      &seen);
  return seen;
}

std::string printable(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f) out += char(c);
    else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

void expect_same(const Pair& pair, std::string_view name) {
  SCOPED_TRACE("name \"" + printable(name) + "\"");
  EXPECT_EQ(pair.table->match(name, pair.table_scratch), pair.reference->match(name, pair.reference_scratch));
  const std::map<uint32_t, int> expected = visits_of_reference(pair, name);
  EXPECT_EQ(visits_of_table(pair, name), expected);
  // A visitor that stops at once stops the scan exactly when something matches.
  EXPECT_EQ(pair.table->for_each_match(name, pair.table_scratch, [](uint32_t) { return true; }), !expected.empty());
}

std::vector<DomainRule> random_rules(std::mt19937& rng, size_t count, bool repeat_ids) {
  std::vector<DomainRule> rules;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t id = repeat_ids ? uint32_t(rng() % (count / 2 + 1)) : uint32_t(i);
    rules.push_back({random_kind(rng), random_name(rng, 3), id});
  }
  std::shuffle(rules.begin(), rules.end(), rng);  // ids out of order, as a cache would not care
  return rules;
}

TEST(DomainMatcherDifferential, RandomPatternSetsAndNormalisedNamesAgree) {
  std::mt19937 rng(1507);
  for (int round = 0; round < 60; ++round) {
    Pair pair;
    ASSERT_NO_FATAL_FAILURE(build(pair, random_rules(rng, 1 + rng() % 40, false)));
    EXPECT_EQ(pair.table->hyperscan_pattern_count(), 0u);
    for (int n = 0; n < 200; ++n) expect_same(pair, random_name(rng, 5));
  }
}

TEST(DomainMatcherDifferential, RepeatedIdsAreVisitedOnceAsHyperscanDoes) {
  std::mt19937 rng(42);
  for (int round = 0; round < 40; ++round) {
    Pair pair;
    ASSERT_NO_FATAL_FAILURE(build(pair, random_rules(rng, 2 + rng() % 30, true)));
    for (int n = 0; n < 200; ++n) expect_same(pair, random_name(rng, 5));
  }
}

TEST(DomainMatcherDifferential, MalformedNamesAgree) {
  std::mt19937 rng(7);
  for (int round = 0; round < 40; ++round) {
    Pair pair;
    ASSERT_NO_FATAL_FAILURE(build(pair, random_rules(rng, 1 + rng() % 30, round % 2 == 1)));
    for (int n = 0; n < 300; ++n) expect_same(pair, mangle(random_name(rng, 5), rng));
    for (std::string_view odd : {std::string_view(""), std::string_view("."), std::string_view(".."),
                                 std::string_view("a."), std::string_view(".a"), std::string_view("\x01"),
                                 std::string_view("\x02"), std::string_view("a\x02"), std::string_view("\x02" "a"),
                                 std::string_view("a\x01" "b"), std::string_view("com\x02x.com\x02.com")})
      expect_same(pair, odd);
    expect_same(pair, std::string(253, 'a'));
    expect_same(pair, std::string(254, 'a'));
    expect_same(pair, std::string(251, 'a') + ".a");
  }
}

TEST(DomainMatcherDifferential, PiecesCutAtBoundaryBytesMatchLikeTheLiteralScan) {
  // "\x01github.com\x02x.github.com\x02" holds both of rule 0's literals: one visit, as Hyperscan.
  Pair pair;
  ASSERT_NO_FATAL_FAILURE(build(pair, {{DomainMatchKind::apex_and_subdomains, "github.com", 0},
                                       {DomainMatchKind::exact, "pypi.org", 1}}));
  std::map<uint32_t, int> once = {{0, 1}};
  EXPECT_EQ(visits_of_table(pair, std::string_view("github.com\x02x.github.com")), once);
  // After \x01 a piece starts a name again; after \x02 it does not.
  EXPECT_EQ(pair.table->match(std::string_view("junk\x01pypi.org"), pair.table_scratch), 1);
  EXPECT_EQ(pair.table->match(std::string_view("junk\x02pypi.org"), pair.table_scratch), kNoDomainMatch);
  EXPECT_EQ(pair.table->match(std::string_view("pypi.org\x02junk"), pair.table_scratch), 1);
  expect_same(pair, std::string_view("github.com\x02x.github.com"));
  expect_same(pair, std::string_view("junk\x01pypi.org"));
  expect_same(pair, std::string_view("junk\x02pypi.org"));
}

TEST(DomainMatcherDifferential, PatternsThatAreNotHostNamesStayInHyperscan) {
  const std::vector<DomainRule> rules = {{DomainMatchKind::exact, "pypi.org", 0},
                                         {DomainMatchKind::exact, "bad..name", 1},
                                         {DomainMatchKind::strict_subdomains, "trailing.dot.", 2},
                                         {DomainMatchKind::apex_and_subdomains, "sp ace.net", 3},
                                         {DomainMatchKind::apex_and_subdomains, "Mixed.Case.org", 4}};
  Pair pair;
  ASSERT_NO_FATAL_FAILURE(build(pair, rules));
  EXPECT_EQ(pair.table->hyperscan_pattern_count(), 3u);
  EXPECT_EQ(pair.table->pattern_count(), 5u);
  EXPECT_NE(pair.table_scratch, nullptr);  // a database to scan, so a scratch for it
  EXPECT_EQ(pair.table->match("bad..name", pair.table_scratch), 1);
  EXPECT_EQ(pair.table->match("x.trailing.dot.", pair.table_scratch), 2);
  EXPECT_EQ(pair.table->match("a.sp ace.net", pair.table_scratch), 3);
  EXPECT_EQ(pair.table->match("mixed.case.org", pair.table_scratch), 4);
  std::mt19937 rng(99);
  for (const std::string name : {"pypi.org", "bad..name", "x.bad..name", "trailing.dot.", "a.trailing.dot.",
                                 "sp ace.net", "q.sp ace.net", "MIXED.case.ORG", "w.mixed.case.org"}) {
    expect_same(pair, name);
    for (int n = 0; n < 20; ++n) expect_same(pair, mangle(name, rng));
  }
}

TEST(DomainMatcherDifferential, RepeatedIdsAcrossTableAndHyperscanAreVisitedOnce) {
  Pair pair;
  ASSERT_NO_FATAL_FAILURE(build(pair, {{DomainMatchKind::exact, "a.example", 7},
                                       {DomainMatchKind::strict_subdomains, "exa*mple", 7},
                                       {DomainMatchKind::apex_and_subdomains, "example", 7}}));
  expect_same(pair, "a.example");
  expect_same(pair, "b.exa*mple");
  expect_same(pair, std::string_view("a.example\x02q.exa*mple"));
}

TEST(DomainMatcherDifferential, HostNamesAloneNeedNoHyperscanScratch) {
  std::string error;
  auto matcher = DomainMatcher::compile({{DomainMatchKind::apex_and_subdomains, "github.com", 3}}, error);
  ASSERT_NE(matcher, nullptr) << error;
  hs_scratch_t* scratch = nullptr;
  ASSERT_TRUE(matcher->reserve_scratch(&scratch));
  EXPECT_EQ(scratch, nullptr);
  EXPECT_EQ(matcher->match("api.github.com", nullptr), 3);
  EXPECT_GT(matcher->database_bytes(), 0u);
}

// ---- the table's cache form ---------------------------------------------------------------

TEST(NameSuffixTable, BytesReadBackIntoTheSameAnswers) {
  std::mt19937 rng(5);
  std::vector<DomainRule> rules = random_rules(rng, 50, false);
  std::vector<const DomainRule*> pointers;
  for (const DomainRule& rule : rules) pointers.push_back(&rule);
  NameSuffixTable table(pointers), copy;
  ASSERT_TRUE(NameSuffixTable::from_bytes(table.to_bytes(), copy));
  EXPECT_EQ(copy.key_count(), table.key_count());
  EXPECT_EQ(copy.to_bytes(), table.to_bytes());
  for (int n = 0; n < 200; ++n) {
    const std::string name = random_name(rng, 4);
    std::vector<uint32_t> a, b;
    table.for_each_hit(name, [&](const NameSuffixTable::Entry& e) { a.push_back(e.id); return false; });
    copy.for_each_hit(name, [&](const NameSuffixTable::Entry& e) { b.push_back(e.id); return false; });
    EXPECT_EQ(a, b) << name;
  }
}

TEST(NameSuffixTable, DamagedBytesAreRefused) {
  std::vector<DomainRule> rules = {{DomainMatchKind::exact, "pypi.org", 0}, {DomainMatchKind::strict_subdomains, "example.com", 1}};
  std::vector<const DomainRule*> pointers = {&rules[0], &rules[1]};
  const std::string bytes = NameSuffixTable(pointers).to_bytes();
  NameSuffixTable table;
  for (size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(NameSuffixTable::from_bytes(std::string_view(bytes).substr(0, cut), table)) << "cut at " << cut;
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::string flipped = bytes;
    flipped[at] = char(flipped[at] ^ 0x10);
    EXPECT_FALSE(NameSuffixTable::from_bytes(flipped, table)) << "byte " << at;
  }
  EXPECT_FALSE(NameSuffixTable::from_bytes(bytes + "x", table));
}

TEST(NameSuffixTable, HoldsOnlyHostNames) {
  EXPECT_TRUE(NameSuffixTable::holds("example.com"));
  EXPECT_TRUE(NameSuffixTable::holds("Example.COM"));  // letters fold, as Hyperscan's caseless flag
  EXPECT_TRUE(NameSuffixTable::holds("_dmarc.x-y.example"));
  EXPECT_FALSE(NameSuffixTable::holds(""));
  EXPECT_FALSE(NameSuffixTable::holds("example.com."));
  EXPECT_FALSE(NameSuffixTable::holds("a..b"));
  EXPECT_FALSE(NameSuffixTable::holds(".a"));
  EXPECT_FALSE(NameSuffixTable::holds("exa*mple.com"));
  EXPECT_FALSE(NameSuffixTable::holds(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(NameSuffixTable::holds(std::string_view("a\x01" "b")));
}

TEST(DomainMatcherCache, TableAndHyperscanPartsComeBackFromTheCache) {
  const auto directory = std::filesystem::temp_directory_path() / ("hs-cache-diff-" + std::to_string(::getpid()));
  std::filesystem::remove_all(directory);
  const std::vector<DomainRule> rules = {{DomainMatchKind::exact, "pypi.org", 0},
                                         {DomainMatchKind::strict_subdomains, "exa*mple", 1}};
  HyperscanCache cache(directory.string());
  std::string error;
  auto first = DomainMatcher::compile(rules, error, &cache);
  ASSERT_NE(first, nullptr) << error;
  auto second = DomainMatcher::compile(rules, error, &cache);
  ASSERT_NE(second, nullptr) << error;
  EXPECT_TRUE(second->from_cache());
  EXPECT_EQ(second->hyperscan_pattern_count(), 1u);
  hs_scratch_t* scratch = nullptr;
  ASSERT_TRUE(second->reserve_scratch(&scratch));
  EXPECT_EQ(second->match("pypi.org", scratch), 0);
  EXPECT_EQ(second->match("a.exa*mple", scratch), 1);
  hs_free_scratch(scratch);
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace sluice

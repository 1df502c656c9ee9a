// Domain-pattern semantics on the real Hyperscan: exact, "*." (strictly below) and "." (apex
// and below), case-insensitive, and no match across label boundaries.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>

#include "dataplane/domain/domain_matcher.h"

namespace sluice {
namespace {

class DomainMatcherTest : public ::testing::Test {
 protected:
  void compile(const std::vector<DomainRule>& rules) {
    std::string error;
    matcher_ = DomainMatcher::compile(rules, error);
    ASSERT_NE(matcher_, nullptr) << error;
    ASSERT_TRUE(matcher_->reserve_scratch(&scratch_));
  }
  void TearDown() override {
    if (scratch_) hs_free_scratch(scratch_);
  }
  int32_t match(std::string_view name) { return matcher_->match(name, scratch_); }

  std::unique_ptr<DomainMatcher> matcher_;
  hs_scratch_t* scratch_ = nullptr;
};

TEST_F(DomainMatcherTest, ExactMatchesOnlyThatName) {
  compile({{DomainMatchKind::exact, "pypi.org", 0}});
  EXPECT_EQ(match("pypi.org"), 0);
  EXPECT_EQ(match("www.pypi.org"), kNoDomainMatch);
  EXPECT_EQ(match("pypi.org.evil.net"), kNoDomainMatch);
  EXPECT_EQ(match("notpypi.org"), kNoDomainMatch);
  EXPECT_EQ(match("pypi.or"), kNoDomainMatch);
}

TEST_F(DomainMatcherTest, StarDotMatchesBelowButNotApex) {
  compile({{DomainMatchKind::strict_subdomains, "blob.core.windows.net", 0}});
  EXPECT_EQ(match("acct.blob.core.windows.net"), 0);
  EXPECT_EQ(match("a.b.blob.core.windows.net"), 0);
  EXPECT_EQ(match("blob.core.windows.net"), kNoDomainMatch);
  EXPECT_EQ(match("evilblob.core.windows.net"), kNoDomainMatch);
  EXPECT_EQ(match("acct.blob.core.windows.net.evil.io"), kNoDomainMatch);
}

TEST_F(DomainMatcherTest, LeadingDotMatchesApexAndBelow) {
  compile({{DomainMatchKind::apex_and_subdomains, "github.com", 0}});
  EXPECT_EQ(match("github.com"), 0);
  EXPECT_EQ(match("api.github.com"), 0);
  EXPECT_EQ(match("notgithub.com"), kNoDomainMatch);
  EXPECT_EQ(match("github.com.evil.io"), kNoDomainMatch);
}

TEST_F(DomainMatcherTest, MatchingIgnoresCase) {
  compile({{DomainMatchKind::exact, "pypi.org", 0}});
  EXPECT_EQ(match("PyPI.ORG"), 0);
}

TEST_F(DomainMatcherTest, LowestRuleIdWinsWhenSeveralMatch) {
  compile({{DomainMatchKind::apex_and_subdomains, "example.com", 7}, {DomainMatchKind::exact, "a.example.com", 3}});
  EXPECT_EQ(match("a.example.com"), 3);
  EXPECT_EQ(match("b.example.com"), 7);
}

TEST_F(DomainMatcherTest, EmptyRuleListMatchesNothing) {
  compile({});
  EXPECT_EQ(match("anything.example"), kNoDomainMatch);
  EXPECT_EQ(matcher_->pattern_count(), 0u);
}

TEST_F(DomainMatcherTest, EmptyAndOverlongNamesNeverMatch) {
  compile({{DomainMatchKind::strict_subdomains, "example.com", 0}});
  EXPECT_EQ(match(""), kNoDomainMatch);
  std::string overlong(300, 'a');
  overlong += ".example.com";
  EXPECT_EQ(match(overlong), kNoDomainMatch);
}

TEST_F(DomainMatcherTest, ManyPatternsCompileAndMatch) {
  std::vector<DomainRule> rules;
  for (uint32_t i = 0; i < 5000; ++i) rules.push_back({DomainMatchKind::exact, "host" + std::to_string(i) + ".example.org", i});
  compile(rules);
  EXPECT_EQ(match("host4999.example.org"), 4999);
  EXPECT_EQ(match("host5000.example.org"), kNoDomainMatch);
  EXPECT_GT(matcher_->database_bytes(), 0u);
}

// ---- for_each_match: every matching rule, for the port check of the caller -------------------

std::vector<uint32_t> sorted(std::vector<uint32_t> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST_F(DomainMatcherTest, ForEachMatchVisitsEveryMatchingRuleOnce) {
  // Two rules for one name (a port list each, kept by the caller) and overlapping forms.
  compile({{DomainMatchKind::exact, "db.example.com", 0},
           {DomainMatchKind::exact, "db.example.com", 1},
           {DomainMatchKind::strict_subdomains, "example.com", 2},
           {DomainMatchKind::apex_and_subdomains, "example.com", 3},
           {DomainMatchKind::exact, "other.example.org", 4}});
  std::vector<uint32_t> seen;
  EXPECT_FALSE(matcher_->for_each_match("DB.example.com", scratch_, [&](uint32_t id) {
    seen.push_back(id);
    return false;
  }));
  EXPECT_EQ(sorted(seen), (std::vector<uint32_t>{0, 1, 2, 3}));

  seen.clear();
  EXPECT_FALSE(matcher_->for_each_match("example.com", scratch_, [&](uint32_t id) {
    seen.push_back(id);
    return false;
  }));
  EXPECT_EQ(seen, std::vector<uint32_t>{3});  // the apex: not "*.", once for "."
  // match() still answers the lowest id.
  EXPECT_EQ(match("db.example.com"), 0);
  EXPECT_EQ(match("x.example.com"), 2);
}

TEST_F(DomainMatcherTest, ForEachMatchStopsWhenTheVisitorSaysSo) {
  compile({{DomainMatchKind::exact, "db.example.com", 0},
           {DomainMatchKind::exact, "db.example.com", 1},
           {DomainMatchKind::apex_and_subdomains, "example.com", 2}});
  int calls = 0;
  EXPECT_TRUE(matcher_->for_each_match("db.example.com", scratch_, [&](uint32_t) {
    ++calls;
    return true;
  }));
  EXPECT_EQ(calls, 1);

  // Stop at one chosen rule, wherever Hyperscan reports it.
  calls = 0;
  EXPECT_TRUE(matcher_->for_each_match("db.example.com", scratch_, [&](uint32_t id) {
    ++calls;
    return id == 2;
  }));
  EXPECT_GE(calls, 1);
  EXPECT_LE(calls, 3);
}

TEST_F(DomainMatcherTest, ForEachMatchWithoutAMatchVisitsNothing) {
  compile({{DomainMatchKind::exact, "db.example.com", 0}});
  int calls = 0;
  auto count = [&](uint32_t) {
    ++calls;
    return true;
  };
  EXPECT_FALSE(matcher_->for_each_match("example.com", scratch_, count));
  EXPECT_FALSE(matcher_->for_each_match("", scratch_, count));
  EXPECT_FALSE(matcher_->for_each_match(std::string(300, 'a'), scratch_, count));
  EXPECT_EQ(calls, 0);
}

TEST_F(DomainMatcherTest, ForEachMatchOnAnEmptyRuleList) {
  compile({});
  int calls = 0;
  EXPECT_FALSE(matcher_->for_each_match("anything.example", scratch_, [&](uint32_t) {
    ++calls;
    return true;
  }));
  EXPECT_EQ(calls, 0);
}

struct Tally {
  uint32_t sum = 0;
  uint32_t calls = 0;
};

bool tally_visit(uint32_t rule_id, void* context) {
  auto* tally = static_cast<Tally*>(context);
  tally->sum += rule_id;
  ++tally->calls;
  return false;
}

TEST_F(DomainMatcherTest, ForEachMatchWithAPlainFunctionAndContext) {
  compile({{DomainMatchKind::exact, "a.example.com", 5}, {DomainMatchKind::strict_subdomains, "example.com", 7}});
  Tally tally;
  EXPECT_FALSE(matcher_->for_each_match("a.example.com", scratch_, tally_visit, &tally));
  EXPECT_EQ(tally.calls, 2u);
  EXPECT_EQ(tally.sum, 12u);
}

TEST_F(DomainMatcherTest, ForEachMatchAcceptsAConstCallable) {
  compile({{DomainMatchKind::exact, "a.example.com", 5}});
  const auto stop = [](uint32_t id) { return id == 5; };
  EXPECT_TRUE(matcher_->for_each_match("a.example.com", scratch_, stop));
}

}  // namespace
}  // namespace sluice

#include <filesystem>
#include <fstream>

namespace sluice {
namespace {

class HyperscanCacheTest : public DomainMatcherTest {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() / ("hs-cache-" + std::to_string(::getpid()));
    std::filesystem::remove_all(directory_);
  }
  void TearDown() override {
    DomainMatcherTest::TearDown();
    std::filesystem::remove_all(directory_);
  }
  std::unique_ptr<DomainMatcher> compile_cached(const std::vector<DomainRule>& rules, HyperscanCache& cache) {
    std::string error;
    auto matcher = DomainMatcher::compile(rules, error, &cache);
    EXPECT_NE(matcher, nullptr) << error;
    return matcher;
  }
  std::filesystem::path directory_;
};

TEST_F(HyperscanCacheTest, UnchangedRulesLoadTheStoredDatabase) {
  std::vector<DomainRule> rules = {{DomainMatchKind::exact, "pypi.org", 0},
                                   {DomainMatchKind::strict_subdomains, "blob.core.windows.net", 1}};
  HyperscanCache cache(directory_.string());
  auto first = compile_cached(rules, cache);
  EXPECT_FALSE(first->from_cache());
  auto second = compile_cached(rules, cache);
  ASSERT_TRUE(second->from_cache());
  EXPECT_EQ(cache.hits(), 1u);
  ASSERT_TRUE(second->reserve_scratch(&scratch_));
  EXPECT_EQ(second->match("pypi.org", scratch_), 0);
  EXPECT_EQ(second->match("acct.blob.core.windows.net", scratch_), 1);
  EXPECT_EQ(second->match("blob.core.windows.net", scratch_), kNoDomainMatch);
}

TEST_F(HyperscanCacheTest, ChangedRulesAreCompiledAgain) {
  HyperscanCache cache(directory_.string());
  compile_cached({{DomainMatchKind::exact, "pypi.org", 0}}, cache);
  auto changed = compile_cached({{DomainMatchKind::exact, "pypi.org", 0}, {DomainMatchKind::exact, "github.com", 1}}, cache);
  EXPECT_FALSE(changed->from_cache());
  ASSERT_TRUE(changed->reserve_scratch(&scratch_));
  EXPECT_EQ(changed->match("github.com", scratch_), 1);
}

TEST_F(HyperscanCacheTest, TwoRulesForOneNameAreCachedWithTheirIds) {
  // "db.example.com:5432" and "db.example.com:443": one literal twice, under two ids.
  std::vector<DomainRule> rules = {{DomainMatchKind::exact, "db.example.com", 0},
                                   {DomainMatchKind::exact, "db.example.com", 1}};
  HyperscanCache cache(directory_.string());
  compile_cached(rules, cache);
  auto second = compile_cached(rules, cache);
  ASSERT_TRUE(second->from_cache());
  ASSERT_TRUE(second->reserve_scratch(&scratch_));
  std::vector<uint32_t> seen;
  second->for_each_match("db.example.com", scratch_, [&](uint32_t id) {
    seen.push_back(id);
    return false;
  });
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<uint32_t>{0, 1}));
}

TEST_F(HyperscanCacheTest, ADamagedCacheFileCostsOnlyARecompile) {
  std::vector<DomainRule> rules = {{DomainMatchKind::apex_and_subdomains, "github.com", 0}};
  HyperscanCache cache(directory_.string());
  compile_cached(rules, cache);
  for (const auto& file : std::filesystem::directory_iterator(directory_)) {
    auto size = std::filesystem::file_size(file.path());
    std::filesystem::resize_file(file.path(), size - 40);  // the database cut short
  }
  auto matcher = compile_cached(rules, cache);
  EXPECT_FALSE(matcher->from_cache());
  EXPECT_EQ(cache.misses(), 2u);  // the first compile, then the damaged file
  ASSERT_TRUE(matcher->reserve_scratch(&scratch_));
  EXPECT_EQ(matcher->match("api.github.com", scratch_), 0);
}

}  // namespace
}  // namespace sluice

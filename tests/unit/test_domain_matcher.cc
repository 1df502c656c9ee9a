// Domain-pattern semantics on the real Hyperscan: exact, "*." (strictly below) and "." (apex
// and below), case-insensitive, and no match across label boundaries.
#include <gtest/gtest.h>

#include <unistd.h>

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

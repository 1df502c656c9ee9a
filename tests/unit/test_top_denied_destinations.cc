#include "controlplane/records/top_denied_destinations.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cmath>
#include <map>
#include <random>
#include <string>

namespace sluice {
namespace {

using Ranked = std::vector<std::pair<std::string, uint64_t>>;

std::string distinct_name(uint64_t i) { return "scan-" + std::to_string(i) + ".denied.example.net"; }

size_t allocated_bytes() { return mallinfo2().uordblks; }

TEST(TopDeniedDestinations, ExactWhileFewerNamesThanCounters) {
  TopDeniedDestinations top;
  for (int i = 0; i < 3; ++i) top.count("b.example");
  for (int i = 0; i < 3; ++i) top.count("a.example");
  top.count("c.example");
  for (int i = 0; i < 5; ++i) top.count("d.example");
  EXPECT_EQ(top.top(3), (Ranked{{"d.example", 5}, {"a.example", 3}, {"b.example", 3}}));  // ties by name
  EXPECT_EQ(top.top(10).size(), 4u);
  EXPECT_EQ(top.total(), 12u);
  EXPECT_EQ(top.max_error(), 0u);
}

// The fault it replaces: one map entry per distinct denied name, forever (95 → 315 MB of RSS
// after 400k names). Now memory stops growing once the counters are in use, and the clear
// heavy hitters among a scan of 400k distinct names are still reported exactly.
TEST(TopDeniedDestinations, FourHundredThousandDistinctNamesLeaveMemoryFlat) {
  TopDeniedDestinations top;
  const std::vector<std::pair<std::string, uint64_t>> heavy = {
      {"exfil.example.com", 4000}, {"pastebin.example.org", 2000}, {"mirror.example.io", 1000}};
  std::map<std::string, uint64_t> truth;
  constexpr uint64_t kDistinct = 400000;
  size_t after_first_10k = 0;
  for (uint64_t i = 0; i < kDistinct; ++i) {
    top.count(distinct_name(i));
    for (const auto& [name, total] : heavy) {
      if (i % (kDistinct / total) == 0) {  // spread evenly over the whole scan
        top.count(name);
        ++truth[name];
      }
    }
    if (i + 1 == 10000) after_first_10k = allocated_bytes();
  }
  const size_t growth = allocated_bytes() - std::min(allocated_bytes(), after_first_10k);
  // The map grew by ~100 bytes a name: 390k more names were ~39 MB. The counters' strings may
  // grow to the longest name seen and the hash nodes are reused: a few KiB at most.
  EXPECT_LT(growth, 64u * 1024) << "allocated bytes grew by " << growth << " after the first 10k names";
  EXPECT_EQ(top.tracked(), TopDeniedDestinations::kCapacity);

  const Ranked ranked = top.top(3);
  ASSERT_EQ(ranked.size(), 3u);
  for (size_t i = 0; i < heavy.size(); ++i) {
    EXPECT_EQ(ranked[i].first, heavy[i].first);
    EXPECT_EQ(ranked[i].second, truth[heavy[i].first]);  // exact: they never lost their counter
  }
  // The documented bound: the least counter, at most N / capacity.
  EXPECT_LE(top.max_error(), top.total() / TopDeniedDestinations::kCapacity);
}

// On a skewed stream with far more names than counters, every reported figure is a lower
// bound within N / capacity of the truth, and every name above N / capacity is reported.
TEST(TopDeniedDestinations, ReportedCountsAreWithinTheDocumentedBound) {
  TopDeniedDestinations top;
  std::map<std::string, uint64_t> truth;
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (uint64_t i = 0; i < 300000; ++i) {
    // Half a scan of names denied once; half a power law: a few names denied often, a tail of
    // names denied a few times.
    auto rank = static_cast<uint64_t>(1.0 / std::pow(uniform(random) + 1e-9, 1.5));
    std::string name = i % 2 ? distinct_name(1'000'000'000 + i) : distinct_name(rank);
    top.count(name);
    ++truth[name];
  }
  ASSERT_GT(truth.size(), TopDeniedDestinations::kCapacity);
  const uint64_t bound = top.total() / TopDeniedDestinations::kCapacity;
  const Ranked ranked = top.top(TopDeniedDestinations::kCapacity);
  std::map<std::string, uint64_t> reported(ranked.begin(), ranked.end());
  for (const auto& [name, count] : ranked) {
    EXPECT_LE(count, truth[name]) << name;
    EXPECT_LE(truth[name] - count, bound) << name;
  }
  size_t above_bound = 0;
  for (const auto& [name, count] : truth)
    if (count > bound) {
      ++above_bound;
      EXPECT_TRUE(reported.contains(name)) << name << " denied " << count << " times";
    }
  EXPECT_GT(above_bound, 5u);  // the stream has heavy hitters to find
}

}  // namespace
}  // namespace sluice

// SNAT ports in use per destination: counted as translations are made and released (quarantine
// still holds its port), the fullest few kept by a bounded sweep, a bound on the destinations
// tracked (the rest counted untracked, never wrong), deletion that keeps every lookup right
// (checked against a plain map), and the top handed from the worker to readers and merged.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>

#include "dataplane/nat/snat_destinations.h"
#include "dataplane/nat/snat_table.h"
#include "tests/unit/snat_frames.h"

namespace sluice {
namespace {

using test::ip;

const IpAddress kClient = ip("198.18.1.10");
const IpAddress kServer = ip("198.19.0.80");
const IpAddress kOtherServer = ip("198.19.0.81");
const IpAddress kSnat = ip("198.18.100.1");

NatKey key(const IpAddress& server, uint16_t server_port, uint16_t client_port = 40000, uint8_t protocol = 6) {
  return make_nat_key(protocol, kClient, client_port, server, server_port);
}

// Sweeps until a pass ends (a pass is at most the table's slots).
const SnatTopDestinations& finished_top(SnatDestinationCounts& counts) {
  while (!counts.sweep(7)) {
  }
  return counts.top();
}

TEST(SnatDestinations, TranslationsAreCountedPerDestinationUntilReleased) {
  SnatTableSettings settings;
  settings.capacity = 64;
  settings.addresses = {kSnat};
  settings.ports = {20000, 20999};
  settings.quarantine_ticks = 10;
  settings.hash_seed = 9;
  SnatTable table;
  ASSERT_TRUE(table.init(settings));
  int32_t first = -1;
  for (uint16_t client = 0; client < 5; ++client) {
    const SnatAllocation allocation = table.allocate(key(kServer, 443, 40000 + client), 1);
    ASSERT_EQ(allocation.status, SnatAllocationStatus::ok);
    if (first < 0) first = allocation.index;
  }
  ASSERT_EQ(table.allocate(key(kOtherServer, 443), 1).status, SnatAllocationStatus::ok);
  ASSERT_EQ(table.allocate(key(kServer, 80), 1).status, SnatAllocationStatus::ok);
  EXPECT_EQ(table.destinations().ports_in_use(key(kServer, 443)), 5u);
  EXPECT_EQ(table.destinations().ports_in_use(key(kServer, 80)), 1u);
  EXPECT_EQ(table.destinations().ports_in_use(key(kServer, 443, 40000, 17)), 0u);  // UDP is another destination

  const SnatTopDestinations& top = finished_top(table.destinations());
  ASSERT_EQ(top.count, 3);
  EXPECT_TRUE(top.entries[0].address == kServer);
  EXPECT_EQ(top.entries[0].port, 443);
  EXPECT_EQ(top.entries[0].protocol, 6);
  EXPECT_EQ(top.entries[0].ports_in_use, 5u);
  EXPECT_EQ(format_destination(top.entries[0]), "198.19.0.80:443/tcp");

  // An ended translation keeps its port through quarantine, and gives it back after.
  table.end(first, 2);
  EXPECT_EQ(table.destinations().ports_in_use(key(kServer, 443)), 5u);
  table.age(100, SnatIdleTimeouts{~0ull / 4, ~0ull / 4, ~0ull / 4}, 64);
  EXPECT_EQ(table.destinations().ports_in_use(key(kServer, 443)), 4u);
  EXPECT_EQ(finished_top(table.destinations()).entries[0].ports_in_use, 4u);
}

TEST(SnatDestinations, TheTopKeepsTheFullestTenFullestFirst) {
  SnatDestinationCounts counts;
  counts.init(64, 3);
  for (uint16_t port = 1; port <= 20; ++port)
    for (uint16_t n = 0; n < port; ++n) ASSERT_TRUE(counts.add(key(kServer, port, n)));
  const SnatTopDestinations& top = finished_top(counts);
  ASSERT_EQ(top.count, kSnatTopDestinations);
  for (int i = 0; i < kSnatTopDestinations; ++i) {
    EXPECT_EQ(top.entries[i].port, 20 - i);
    EXPECT_EQ(top.entries[i].ports_in_use, uint32_t(20 - i));
  }
}

TEST(SnatDestinations, DestinationsBeyondTheBoundAreCountedUntracked) {
  SnatDestinationCounts counts;
  counts.init(2, 3);
  EXPECT_TRUE(counts.add(key(kServer, 1)));
  EXPECT_TRUE(counts.add(key(kServer, 2)));
  EXPECT_FALSE(counts.add(key(kServer, 3)));  // a third destination: not tracked
  EXPECT_TRUE(counts.add(key(kServer, 1, 40001)));  // a tracked one still counts
  EXPECT_EQ(counts.untracked_bindings(), 1u);
  EXPECT_EQ(counts.ports_in_use(key(kServer, 1)), 2u);
  EXPECT_EQ(counts.ports_in_use(key(kServer, 3)), 0u);
  counts.remove(key(kServer, 3), false);
  EXPECT_EQ(counts.untracked_bindings(), 0u);
  counts.remove(key(kServer, 2), true);
  EXPECT_EQ(counts.tracked(), 1u);
  EXPECT_TRUE(counts.add(key(kServer, 3)));  // room again
}

TEST(SnatDestinations, CountsMatchAPlainMapThroughAddsAndRemoves) {
  SnatDestinationCounts counts;
  counts.init(512, 11);  // 1,024 slots; a few hundred destinations crowd the probe runs
  std::map<std::tuple<uint8_t, uint16_t>, std::pair<uint32_t, std::vector<bool>>> reference;
  std::mt19937 random(5);
  for (int step = 0; step < 20000; ++step) {
    const uint16_t port = uint16_t(random() % 600);
    const uint8_t protocol = random() % 2 ? 6 : 17;
    auto& [count, tracked] = reference[{protocol, port}];
    const NatKey k = key(kServer, port, 40000, protocol);
    if (count > 0 && random() % 2) {
      counts.remove(k, tracked.back());
      tracked.pop_back();
      --count;
    } else {
      tracked.push_back(counts.add(k));
      ++count;
    }
  }
  uint32_t untracked = 0;
  for (const auto& [destination, entry] : reference) {
    const auto& [count, tracked] = entry;
    uint32_t tracked_count = 0;
    for (bool counted : tracked) {
      if (counted) ++tracked_count;
      else ++untracked;
    }
    EXPECT_EQ(counts.ports_in_use(key(kServer, std::get<1>(destination), 40000, std::get<0>(destination))), tracked_count);
  }
  EXPECT_EQ(counts.untracked_bindings(), untracked);
}

TEST(SnatDestinations, TheTopReachesReadersWholeAndWorkersMerge) {
  SnatTopDestinations worker_a;
  worker_a.offer({kServer, 443, 6, 30});
  worker_a.offer({kOtherServer, 443, 6, 10});
  SnatTopDestinations worker_b;
  worker_b.offer({kOtherServer, 443, 6, 25});
  worker_b.offer({ip("2001:db8:9::80"), 53, 17, 5});
  SnatTopDestinationsSlot slot_a, slot_b;
  publish_top_destinations(slot_a, worker_a, 2);
  publish_top_destinations(slot_b, worker_b, 1);
  SnatTopDestinations read;
  uint32_t untracked = 0;
  ASSERT_TRUE(read_top_destinations(slot_a, read, untracked));
  ASSERT_EQ(read.count, 2);
  EXPECT_TRUE(read.entries[0].address == kServer);
  EXPECT_EQ(read.entries[0].ports_in_use, 30u);
  EXPECT_EQ(untracked, 2u);
  const SnatTopDestinations merged = merge_top_destinations({&slot_a, &slot_b}, untracked);
  ASSERT_EQ(merged.count, 3);
  EXPECT_EQ(format_destination(merged.entries[0]), "198.19.0.81:443/tcp");  // 10 + 25
  EXPECT_EQ(merged.entries[0].ports_in_use, 35u);
  EXPECT_EQ(format_destination(merged.entries[2]), "[2001:db8:9::80]:53/udp");
  EXPECT_EQ(untracked, 3u);
}

}  // namespace
}  // namespace sluice

#include "dataplane/flow/stream_reassembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;
using test::operator+;

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes held(const StreamReassembler& r, int32_t slot) {
  std::span<const uint8_t> c = r.contiguous(slot);
  return Bytes(c.begin(), c.end());
}

// A deterministic message whose bytes differ from their neighbours.
Bytes message(size_t length, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  Bytes b(length);
  for (uint8_t& byte : b) byte = uint8_t(rng());
  return b;
}

std::span<const uint8_t> part(const Bytes& b, size_t begin, size_t length) {
  return std::span<const uint8_t>(b).subspan(begin, length);
}

class StreamReassemblerTest : public ::testing::Test {
 protected:
  void SetUp() override { r.init(4, 2048); }
  StreamReassembler r;
};

TEST_F(StreamReassemblerTest, InitialState) {
  EXPECT_EQ(r.slot_count(), 4u);
  EXPECT_EQ(r.slot_bytes(), 2048u);
  EXPECT_EQ(r.slots_in_use(), 0u);
  int32_t slot = r.acquire(1000);
  ASSERT_NE(slot, kNoReassemblySlot);
  EXPECT_EQ(r.slots_in_use(), 1u);
  EXPECT_EQ(r.base_seq(slot), 1000u);
  EXPECT_TRUE(r.contiguous(slot).empty());
}

TEST_F(StreamReassemblerTest, InOrderSegments) {
  int32_t slot = r.acquire(1000);
  Bytes m = text("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_EQ(r.add(slot, 1000, part(m, 0, 10), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), Bytes(m.begin(), m.begin() + 10));
  EXPECT_EQ(r.add(slot, 1010, part(m, 10, 10), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), Bytes(m.begin(), m.begin() + 20));
  EXPECT_EQ(r.add(slot, 1020, part(m, 20, m.size() - 20), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), m);
}

TEST_F(StreamReassemblerTest, OutOfOrderWaitsForTheGap) {
  int32_t slot = r.acquire(5000);
  Bytes m = message(300);
  EXPECT_EQ(r.add(slot, 5200, part(m, 200, 100), 2048), ReassemblyResult::ok);
  EXPECT_TRUE(r.contiguous(slot).empty());
  EXPECT_EQ(r.add(slot, 5100, part(m, 100, 100), 2048), ReassemblyResult::ok);
  EXPECT_TRUE(r.contiguous(slot).empty());
  EXPECT_EQ(r.add(slot, 5000, part(m, 0, 100), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), m);
}

TEST_F(StreamReassemblerTest, GapInTheMiddleBoundsContiguous) {
  int32_t slot = r.acquire(0);
  Bytes m = message(30);
  EXPECT_EQ(r.add(slot, 0, part(m, 0, 10), 2048), ReassemblyResult::ok);
  EXPECT_EQ(r.add(slot, 20, part(m, 20, 10), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), Bytes(m.begin(), m.begin() + 10));
  EXPECT_EQ(r.add(slot, 10, part(m, 10, 10), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), m);
}

TEST_F(StreamReassemblerTest, ExactRetransmissionIsOk) {
  int32_t slot = r.acquire(100);
  Bytes m = message(50);
  EXPECT_EQ(r.add(slot, 100, part(m, 0, 50), 2048), ReassemblyResult::ok);
  EXPECT_EQ(r.add(slot, 100, part(m, 0, 50), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), m);
  // A retransmitted island before the gap fills.
  int32_t other = r.acquire(100);
  EXPECT_EQ(r.add(other, 120, part(m, 20, 30), 2048), ReassemblyResult::ok);
  EXPECT_EQ(r.add(other, 120, part(m, 20, 30), 2048), ReassemblyResult::ok);
  EXPECT_TRUE(r.contiguous(other).empty());
  EXPECT_EQ(r.add(other, 100, part(m, 0, 20), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, other), m);
}

TEST_F(StreamReassemblerTest, OverlappingRetransmissionWithEqualBytesIsOk) {
  int32_t slot = r.acquire(100);
  Bytes m = message(100);
  EXPECT_EQ(r.add(slot, 100, part(m, 0, 40), 2048), ReassemblyResult::ok);
  EXPECT_EQ(r.add(slot, 160, part(m, 60, 20), 2048), ReassemblyResult::ok);
  // Overlaps the end of the first range, fills the gap and overlaps the start of the second.
  EXPECT_EQ(r.add(slot, 130, part(m, 30, 40), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), Bytes(m.begin(), m.begin() + 80));
  // Covers everything held and more.
  EXPECT_EQ(r.add(slot, 100, part(m, 0, 100), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), m);
  // Inside what is held.
  EXPECT_EQ(r.add(slot, 150, part(m, 50, 5), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), m);
}

TEST_F(StreamReassemblerTest, OverlapWithDifferentBytesIsAConflict) {
  int32_t slot = r.acquire(100);
  Bytes m = text("Host: good.example\r\n");
  ASSERT_EQ(r.add(slot, 100, part(m, 0, m.size()), 2048), ReassemblyResult::ok);
  Bytes rewritten = text("Host: evil.example\r\nmore");
  EXPECT_EQ(r.add(slot, 100, rewritten, 2048), ReassemblyResult::conflict);
  EXPECT_EQ(held(r, slot), m);  // neither the overlap nor the new tail was taken
  // A single differing byte at the end of an otherwise matching overlap.
  Bytes tail(m.end() - 4, m.end());
  tail.back() ^= 1;
  tail.push_back('!');
  EXPECT_EQ(r.add(slot, 100 + uint32_t(m.size()) - 4, tail, 2048), ReassemblyResult::conflict);
  EXPECT_EQ(held(r, slot), m);
  // The held bytes still accept the true continuation.
  EXPECT_EQ(r.add(slot, 100 + uint32_t(m.size()), text("X"), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), m + text("X"));
}

TEST_F(StreamReassemblerTest, ConflictWithALaterIslandLeavesEverythingUnchanged) {
  int32_t slot = r.acquire(0);
  Bytes m = message(60);
  ASSERT_EQ(r.add(slot, 0, part(m, 0, 10), 2048), ReassemblyResult::ok);
  ASSERT_EQ(r.add(slot, 40, part(m, 40, 10), 2048), ReassemblyResult::ok);
  // Agrees with the first range, fills the gap, disagrees with the island.
  Bytes bad(m.begin(), m.begin() + 50);
  bad[45] ^= 0xff;
  EXPECT_EQ(r.add(slot, 0, bad, 2048), ReassemblyResult::conflict);
  EXPECT_EQ(held(r, slot), Bytes(m.begin(), m.begin() + 10));  // the gap is still a gap
  EXPECT_EQ(r.add(slot, 10, part(m, 10, 30), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), Bytes(m.begin(), m.begin() + 50));
}

TEST_F(StreamReassemblerTest, BytesBeforeTheBaseAreIgnored) {
  int32_t slot = r.acquire(1000);
  Bytes before = message(20, 7);
  // Wholly before the base.
  EXPECT_EQ(r.add(slot, 980, before, 2048), ReassemblyResult::ok);
  EXPECT_TRUE(r.contiguous(slot).empty());
  // Ends exactly at the base.
  EXPECT_EQ(r.add(slot, 990, part(before, 0, 10), 2048), ReassemblyResult::ok);
  EXPECT_TRUE(r.contiguous(slot).empty());
  // Straddles the base: only the part from the base on counts.
  Bytes straddle = before + text("hello");
  EXPECT_EQ(r.add(slot, 980, straddle, 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), text("hello"));
  // Old bytes before the base never conflict, even when they differ.
  Bytes other = message(20, 8) + text("hello world");
  EXPECT_EQ(r.add(slot, 980, other, 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), text("hello world"));
}

TEST_F(StreamReassemblerTest, SequenceWrapsAround) {
  const uint32_t base = 0xffffff00u;
  int32_t slot = r.acquire(base);
  Bytes m = message(600);
  // The last segment first: its sequence number has wrapped past zero.
  EXPECT_EQ(r.add(slot, base + 400, part(m, 400, 200), 2048), ReassemblyResult::ok);
  EXPECT_EQ(base + 400, 0x00000090u);
  // A segment that crosses 2^32.
  EXPECT_EQ(r.add(slot, 0xfffffff0u, part(m, 0xf0, 0x20), 2048), ReassemblyResult::ok);
  EXPECT_TRUE(r.contiguous(slot).empty());
  EXPECT_EQ(r.add(slot, base, part(m, 0, 0xf0), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), Bytes(m.begin(), m.begin() + 0x110));
  EXPECT_EQ(r.add(slot, 0x10u, part(m, 0x110, 400 - 0x110), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), m);
  // Bytes before a base just below 2^32 are still "before".
  EXPECT_EQ(r.add(slot, base - 8, message(8, 3), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), m);
}

TEST_F(StreamReassemblerTest, BytesBeforeABaseJustAfterTheWrap) {
  int32_t slot = r.acquire(4);
  // Starts before 2^32 and ends after the base: only the bytes from sequence 4 on count.
  Bytes segment = message(12, 9);
  EXPECT_EQ(r.add(slot, 0xfffffffcu, segment, 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), Bytes(segment.begin() + 8, segment.end()));
}

TEST_F(StreamReassemblerTest, BeyondBound) {
  int32_t slot = r.acquire(0);
  Bytes m = message(101);
  // Exactly up to the bound is fine.
  EXPECT_EQ(r.add(slot, 0, part(m, 0, 100), 100), ReassemblyResult::ok);
  // A byte at the bound is not.
  EXPECT_EQ(r.add(slot, 100, part(m, 100, 1), 100), ReassemblyResult::beyond_bound);
  EXPECT_EQ(r.add(slot, 0, part(m, 0, 101), 100), ReassemblyResult::beyond_bound);
  EXPECT_EQ(held(r, slot), Bytes(m.begin(), m.begin() + 100));

  int32_t other = r.acquire(0);
  EXPECT_EQ(r.add(other, 99, part(m, 99, 2), 100), ReassemblyResult::beyond_bound);
  EXPECT_EQ(r.add(other, 500, part(m, 0, 1), 100), ReassemblyResult::beyond_bound);
  EXPECT_EQ(r.add(other, 99, part(m, 99, 1), 100), ReassemblyResult::ok);
  EXPECT_TRUE(r.contiguous(other).empty());
}

TEST_F(StreamReassemblerTest, BoundIsCappedBySlotBytes) {
  int32_t slot = r.acquire(0);
  Bytes m = message(2049);
  EXPECT_EQ(r.add(slot, 0, part(m, 0, 2049), 100000), ReassemblyResult::beyond_bound);
  EXPECT_EQ(r.add(slot, 2048, part(m, 0, 1), 100000), ReassemblyResult::beyond_bound);
  EXPECT_EQ(r.add(slot, 0, part(m, 0, 2048), 100000), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), Bytes(m.begin(), m.begin() + 2048));
}

TEST_F(StreamReassemblerTest, TooManyRanges) {
  int32_t slot = r.acquire(0);
  Bytes m = message(64);
  // 16 one-byte islands at 0, 2, 4, … 30.
  for (uint32_t i = 0; i < kMaxReassemblyRanges; ++i)
    ASSERT_EQ(r.add(slot, 2 * i, part(m, 2 * i, 1), 2048), ReassemblyResult::ok) << i;
  // The 17th separate island is one too many…
  EXPECT_EQ(r.add(slot, 40, part(m, 40, 1), 2048), ReassemblyResult::too_many_ranges);
  // …and was not taken.
  EXPECT_EQ(r.add(slot, 40, part(m, 40, 1), 2048), ReassemblyResult::too_many_ranges);
  // Extending or re-sending an existing island is still fine.
  EXPECT_EQ(r.add(slot, 30, part(m, 30, 2), 2048), ReassemblyResult::ok);
  EXPECT_EQ(r.add(slot, 4, part(m, 4, 1), 2048), ReassemblyResult::ok);
  // Filling a hole joins two islands, which makes room for one more.
  EXPECT_EQ(r.add(slot, 1, part(m, 1, 1), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), Bytes(m.begin(), m.begin() + 3));
  EXPECT_EQ(r.add(slot, 40, part(m, 40, 1), 2048), ReassemblyResult::ok);
  EXPECT_EQ(r.add(slot, 50, part(m, 50, 1), 2048), ReassemblyResult::too_many_ranges);
  // A segment covering all holes joins everything.
  EXPECT_EQ(r.add(slot, 0, part(m, 0, 64), 2048), ReassemblyResult::ok);
  EXPECT_EQ(held(r, slot), m);
}

TEST_F(StreamReassemblerTest, AcquireUntilExhaustedThenRelease) {
  std::vector<int32_t> slots;
  for (int i = 0; i < 4; ++i) {
    int32_t slot = r.acquire(uint32_t(i * 1000));
    ASSERT_NE(slot, kNoReassemblySlot);
    ASSERT_GE(slot, 0);
    ASSERT_LT(slot, 4);
    slots.push_back(slot);
  }
  std::vector<int32_t> sorted = slots;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "a slot was handed out twice";
  EXPECT_EQ(r.slots_in_use(), 4u);
  EXPECT_EQ(r.acquire(9), kNoReassemblySlot);
  EXPECT_EQ(r.acquire(9), kNoReassemblySlot);

  // Each slot keeps its own bytes.
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(r.add(slots[i], uint32_t(i * 1000), message(10, uint32_t(i)), 2048), ReassemblyResult::ok);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(held(r, slots[i]), message(10, uint32_t(i)));

  r.release(slots[2]);
  EXPECT_EQ(r.slots_in_use(), 3u);
  int32_t again = r.acquire(77);
  ASSERT_NE(again, kNoReassemblySlot);
  EXPECT_EQ(again, slots[2]);
  EXPECT_EQ(r.base_seq(again), 77u);
  EXPECT_TRUE(r.contiguous(again).empty());  // nothing of the previous stream survives
  EXPECT_EQ(r.acquire(78), kNoReassemblySlot);
  // The other slots were not disturbed.
  EXPECT_EQ(held(r, slots[0]), message(10, 0));
  EXPECT_EQ(held(r, slots[3]), message(10, 3));

  for (int32_t slot : slots) r.release(slot);
  EXPECT_EQ(r.slots_in_use(), 0u);
  for (int i = 0; i < 4; ++i) EXPECT_NE(r.acquire(0), kNoReassemblySlot);
  EXPECT_EQ(r.acquire(0), kNoReassemblySlot);
}

TEST(StreamReassembler, ReleaseOfNoSlotIsHarmless) {
  StreamReassembler r;
  r.init(1, 64);
  r.release(kNoReassemblySlot);
  r.release(5);
  EXPECT_EQ(r.slots_in_use(), 0u);
  EXPECT_NE(r.acquire(0), kNoReassemblySlot);
  EXPECT_EQ(r.acquire(0), kNoReassemblySlot);
}

TEST(StreamReassembler, ZeroSlots) {
  StreamReassembler r;
  r.init(0, 2048);
  EXPECT_EQ(r.acquire(0), kNoReassemblySlot);
}

TEST_F(StreamReassemblerTest, EmptySegmentIsOk) {
  int32_t slot = r.acquire(0);
  EXPECT_EQ(r.add(slot, 0, {}, 2048), ReassemblyResult::ok);
  EXPECT_TRUE(r.contiguous(slot).empty());
}

// One-byte segments in an order shuffled within windows of 24 bytes: never more than 16 ranges.
TEST_F(StreamReassemblerTest, OneByteSegmentsShuffledWithinWindows) {
  Bytes m = message(2048, 42);
  std::vector<uint32_t> order(m.size());
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937 rng(1234);
  for (size_t i = 0; i < order.size(); i += 24)
    std::shuffle(order.begin() + i, order.begin() + std::min(order.size(), i + 24), rng);
  const uint32_t base = 0xfffffc00u;  // and across the wrap
  int32_t slot = r.acquire(base);
  for (uint32_t offset : order)
    ASSERT_EQ(r.add(slot, base + offset, part(m, offset, 1), 2048), ReassemblyResult::ok) << offset;
  EXPECT_EQ(held(r, slot), m);
}

// One-byte segments in a fully random order, with duplicates: a byte refused for too many ranges
// is sent again later, as a retransmission would.
TEST_F(StreamReassemblerTest, OneByteSegmentsInRandomOrderEqualTheOriginal) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    Bytes m = message(2048, seed);
    std::vector<uint32_t> order(m.size());
    std::iota(order.begin(), order.end(), 0u);
    std::mt19937 rng(seed);
    std::shuffle(order.begin(), order.end(), rng);
    for (int i = 0; i < 200; ++i) order.push_back(uint32_t(rng() % m.size()));  // retransmissions
    std::shuffle(order.begin(), order.end(), rng);

    const uint32_t base = seed * 0x10000000u;
    int32_t slot = r.acquire(base);
    ASSERT_NE(slot, kNoReassemblySlot);
    std::deque<uint32_t> pending(order.begin(), order.end());
    size_t attempts = 0, refused = 0;
    while (!pending.empty()) {
      ASSERT_LT(++attempts, 10'000'000u) << "no progress";
      uint32_t offset = pending.front();
      pending.pop_front();
      ReassemblyResult result = r.add(slot, base + offset, part(m, offset, 1), 2048);
      if (result == ReassemblyResult::too_many_ranges) {
        ++refused;
        pending.push_back(offset);
        continue;
      }
      ASSERT_EQ(result, ReassemblyResult::ok) << "offset " << offset;
      // The contiguous prefix only ever holds the original's bytes.
      std::span<const uint8_t> c = r.contiguous(slot);
      ASSERT_TRUE(std::equal(c.begin(), c.end(), m.begin()));
    }
    EXPECT_GT(refused, 0u);  // the random order does exceed the range limit at times
    EXPECT_EQ(held(r, slot), m) << "seed " << seed;
    r.release(slot);
  }
}

}  // namespace
}  // namespace sluice

#include "dataplane/flow/fragment_reassembler.h"

#include <gtest/gtest.h>

#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;

ParsedPacket fragment_of(uint32_t id, uint8_t last_byte = 10) {
  ParsedPacket packet;
  packet.ip_version = 4;
  packet.l4_protocol = 6;
  packet.is_fragment = true;
  packet.fragment_id = id;
  packet.src.family = packet.dst.family = 4;
  packet.src.bytes[3] = last_byte;
  packet.dst.bytes[3] = 1;
  return packet;
}

Bytes datagram(size_t size) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = uint8_t(i * 7 + 3);
  return bytes;
}

std::span<const uint8_t> part(const Bytes& bytes, size_t begin, size_t length) { return {bytes.data() + begin, length}; }

class FragmentReassemblerTest : public ::testing::Test {
 protected:
  void SetUp() override { r.init(2, 1024, 100); }
  FragmentReassembler r;
};

TEST_F(FragmentReassemblerTest, InOrderAndOutOfOrderComplete) {
  const Bytes d = datagram(100);
  int32_t slot = r.start(fragment_of(1), 0);
  ASSERT_NE(slot, kNoFragmentSlot);
  EXPECT_EQ(r.add(slot, 48, part(d, 48, 52), false), FragmentStatus::incomplete);
  EXPECT_EQ(r.add(slot, 0, part(d, 0, 24), true), FragmentStatus::incomplete);
  EXPECT_EQ(r.add(slot, 24, part(d, 24, 24), true), FragmentStatus::complete);
  auto whole = r.datagram(slot);
  EXPECT_EQ(Bytes(whole.begin(), whole.end()), d);
}

TEST_F(FragmentReassemblerTest, FindMatchesTheDatagramWithinItsLifetime) {
  int32_t slot = r.start(fragment_of(7), 0);
  EXPECT_EQ(r.find(fragment_of(7), 50), slot);
  EXPECT_EQ(r.find(fragment_of(8), 50), kNoFragmentSlot);
  EXPECT_EQ(r.find(fragment_of(7, 11), 50), kNoFragmentSlot) << "another source";
  EXPECT_EQ(r.find(fragment_of(7), 100), kNoFragmentSlot) << "past its lifetime";
  EXPECT_EQ(r.expired(50), kNoFragmentSlot);
  EXPECT_EQ(r.expired(100), slot);
}

TEST_F(FragmentReassemblerTest, PoolIsBounded) {
  EXPECT_NE(r.start(fragment_of(1), 0), kNoFragmentSlot);
  int32_t second = r.start(fragment_of(2), 0);
  EXPECT_NE(second, kNoFragmentSlot);
  EXPECT_EQ(r.start(fragment_of(3), 0), kNoFragmentSlot);
  r.release(second);
  EXPECT_NE(r.start(fragment_of(3), 0), kNoFragmentSlot);
}

TEST_F(FragmentReassemblerTest, AgreeingOverlapIsFineDisagreeingIsAConflict) {
  const Bytes d = datagram(64);
  int32_t slot = r.start(fragment_of(1), 0);
  EXPECT_EQ(r.add(slot, 0, part(d, 0, 32), true), FragmentStatus::incomplete);
  EXPECT_EQ(r.add(slot, 16, part(d, 16, 32), true), FragmentStatus::incomplete);
  Bytes other = d;
  other[40] ^= 0xff;
  EXPECT_EQ(r.add(slot, 32, part(other, 32, 32), false), FragmentStatus::conflict);
  EXPECT_EQ(r.add(slot, 32, part(d, 32, 32), false), FragmentStatus::complete) << "a conflict changes nothing";
}

TEST_F(FragmentReassemblerTest, MalformedFragments) {
  const Bytes d = datagram(200);
  int32_t slot = r.start(fragment_of(1), 0);
  EXPECT_EQ(r.add(slot, 0, part(d, 0, 20), true), FragmentStatus::malformed) << "non-final, not a multiple of 8";
  EXPECT_EQ(r.add(slot, 0, {}, true), FragmentStatus::malformed) << "empty";
  EXPECT_EQ(r.add(slot, 64, part(d, 64, 36), false), FragmentStatus::incomplete);  // ends at 100
  EXPECT_EQ(r.add(slot, 64, part(d, 64, 44), false), FragmentStatus::malformed) << "a second, different end";
  EXPECT_EQ(r.add(slot, 96, part(d, 96, 16), true), FragmentStatus::malformed) << "past the end";
  EXPECT_EQ(r.add(slot, 1016, part(d, 0, 16), true), FragmentStatus::too_large);
}

TEST_F(FragmentReassemblerTest, AnEndBeforeBytesAlreadyHeldIsMalformed) {
  const Bytes d = datagram(200);
  int32_t slot = r.start(fragment_of(1), 0);
  EXPECT_EQ(r.add(slot, 96, part(d, 96, 32), true), FragmentStatus::incomplete);
  EXPECT_EQ(r.add(slot, 0, part(d, 0, 50), false), FragmentStatus::malformed);
}

TEST_F(FragmentReassemblerTest, AtMostSixteenFragments) {
  const Bytes d = datagram(400);
  int32_t slot = r.start(fragment_of(1), 0);
  for (int i = 0; i < kMaxDatagramFragments; ++i)
    EXPECT_EQ(r.add(slot, uint32_t(i * 8), part(d, size_t(i) * 8, 8), true), FragmentStatus::incomplete);
  EXPECT_EQ(r.add(slot, 128, part(d, 128, 8), false), FragmentStatus::malformed);
}

}  // namespace
}  // namespace sluice

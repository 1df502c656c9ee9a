#include "dataplane/flow/fragment_tracker.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace sluice {
namespace {

IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.family = 4;
  address.bytes[0] = a;
  address.bytes[1] = b;
  address.bytes[2] = c;
  address.bytes[3] = d;
  return address;
}

IpAddress v6(std::initializer_list<uint8_t> bytes) {
  IpAddress address;
  address.family = 6;
  size_t i = 0;
  for (uint8_t byte : bytes) address.bytes[i++] = byte;
  return address;
}

// A fragment as the parser reports it: the first one (offset 0) or a later one.
ParsedPacket fragment(const IpAddress& src, const IpAddress& dst, uint32_t id, uint8_t protocol, bool later) {
  ParsedPacket p;
  p.ip_version = src.family;
  p.ethertype = src.family == 4 ? kEtherTypeIpv4 : kEtherTypeIpv6;
  p.l3_offset = 14;
  p.l4_offset = uint16_t(14 + (src.family == 4 ? 20 : 48));
  p.payload_offset = p.l4_offset;
  p.l4_protocol = protocol;
  p.is_fragment = true;
  p.is_later_fragment = later;
  p.fragment_id = id;
  p.src = src;
  p.dst = dst;
  if (!later && (protocol == kIpProtoTcp || protocol == kIpProtoUdp)) {
    p.src_port = 40000;
    p.dst_port = 443;
  }
  return p;
}

const IpAddress kClient = v4(198, 18, 0, 1);
const IpAddress kServer = v4(198, 19, 0, 2);
const IpAddress kClient6 = v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
const IpAddress kServer6 = v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});

constexpr uint64_t kLifetime = 1000;

bool find(const FragmentTracker& tracker, const ParsedPacket& later, uint64_t now, int32_t& position,
          uint64_t& flow_id) {
  position = -12345;
  flow_id = 0xdeadbeef;
  return tracker.find(later, now, position, flow_id);
}

TEST(FragmentTracker, RememberThenFind) {
  FragmentTracker tracker;
  tracker.init(1024, kLifetime);
  tracker.remember(fragment(kClient, kServer, 0x1234, kIpProtoUdp, false), 17, 0xabcdef0123ull, 5000);
  int32_t position;
  uint64_t flow_id;
  ASSERT_TRUE(find(tracker, fragment(kClient, kServer, 0x1234, kIpProtoUdp, true), 5001, position, flow_id));
  EXPECT_EQ(position, 17);
  EXPECT_EQ(flow_id, 0xabcdef0123ull);
  // Every later fragment of the datagram finds it, again and again.
  ASSERT_TRUE(find(tracker, fragment(kClient, kServer, 0x1234, kIpProtoUdp, true), 5500, position, flow_id));
  EXPECT_EQ(position, 17);
  EXPECT_EQ(flow_id, 0xabcdef0123ull);
}

TEST(FragmentTracker, EmptyTrackerFindsNothing) {
  FragmentTracker tracker;
  int32_t position;
  uint64_t flow_id;
  // Not initialised: no slots at all.
  tracker.remember(fragment(kClient, kServer, 1, kIpProtoUdp, false), 1, 1, 10);
  EXPECT_FALSE(find(tracker, fragment(kClient, kServer, 1, kIpProtoUdp, true), 10, position, flow_id));
  tracker.init(16, kLifetime);
  EXPECT_FALSE(find(tracker, fragment(kClient, kServer, 0, kIpProtoUdp, true), 0, position, flow_id));
  EXPECT_FALSE(find(tracker, fragment(kClient, kServer, 1, kIpProtoUdp, true), 10, position, flow_id));
}

TEST(FragmentTracker, OtherDatagramsAreNotFound) {
  FragmentTracker tracker;
  tracker.init(1024, kLifetime);
  tracker.remember(fragment(kClient, kServer, 0x1234, kIpProtoUdp, false), 3, 33, 100);
  int32_t position;
  uint64_t flow_id;
  EXPECT_FALSE(find(tracker, fragment(kClient, kServer, 0x1235, kIpProtoUdp, true), 101, position, flow_id));
  EXPECT_FALSE(find(tracker, fragment(kClient, kServer, 0x1234, kIpProtoTcp, true), 101, position, flow_id));
  EXPECT_FALSE(find(tracker, fragment(kClient, kServer, 0x1234, kIpProtoIcmp, true), 101, position, flow_id));
  EXPECT_FALSE(find(tracker, fragment(v4(198, 18, 0, 9), kServer, 0x1234, kIpProtoUdp, true), 101, position,
                    flow_id));
  EXPECT_FALSE(find(tracker, fragment(kClient, v4(198, 19, 0, 3), 0x1234, kIpProtoUdp, true), 101, position,
                    flow_id));
  // Source and destination swapped: the reply direction's datagram with the same id.
  EXPECT_FALSE(find(tracker, fragment(kServer, kClient, 0x1234, kIpProtoUdp, true), 101, position, flow_id));
  // The same address bytes under the other family.
  IpAddress client_as_v6 = kClient, server_as_v6 = kServer;
  client_as_v6.family = server_as_v6.family = 6;
  ParsedPacket other_family = fragment(client_as_v6, server_as_v6, 0x1234, kIpProtoUdp, true);
  EXPECT_FALSE(find(tracker, other_family, 101, position, flow_id));
  // The remembered one is still there.
  EXPECT_TRUE(find(tracker, fragment(kClient, kServer, 0x1234, kIpProtoUdp, true), 101, position, flow_id));
  EXPECT_EQ(flow_id, 33u);
}

TEST(FragmentTracker, ExpiresAfterItsLifetime) {
  FragmentTracker tracker;
  tracker.init(64, kLifetime);
  const uint64_t now = 1'000'000;
  tracker.remember(fragment(kClient, kServer, 7, kIpProtoUdp, false), 1, 2, now);
  ParsedPacket later = fragment(kClient, kServer, 7, kIpProtoUdp, true);
  int32_t position;
  uint64_t flow_id;
  EXPECT_TRUE(find(tracker, later, now, position, flow_id));
  EXPECT_TRUE(find(tracker, later, now + kLifetime - 1, position, flow_id));
  EXPECT_FALSE(find(tracker, later, now + kLifetime + 1, position, flow_id));
  EXPECT_FALSE(find(tracker, later, now + 100 * kLifetime, position, flow_id));
  // Remembering it again (a retransmitted first fragment) renews it.
  tracker.remember(fragment(kClient, kServer, 7, kIpProtoUdp, false), 4, 5, now + 5 * kLifetime);
  ASSERT_TRUE(find(tracker, later, now + 5 * kLifetime + 10, position, flow_id));
  EXPECT_EQ(position, 4);
  EXPECT_EQ(flow_id, 5u);
}

TEST(FragmentTracker, NewerCollidingDatagramEvictsTheOlder) {
  FragmentTracker tracker;
  tracker.init(1, kLifetime);  // one slot: every datagram collides
  int32_t position;
  uint64_t flow_id;
  tracker.remember(fragment(kClient, kServer, 100, kIpProtoUdp, false), 1, 11, 10);
  ASSERT_TRUE(find(tracker, fragment(kClient, kServer, 100, kIpProtoUdp, true), 11, position, flow_id));
  tracker.remember(fragment(kClient, kServer, 101, kIpProtoUdp, false), 2, 22, 12);
  EXPECT_FALSE(find(tracker, fragment(kClient, kServer, 100, kIpProtoUdp, true), 13, position, flow_id));
  ASSERT_TRUE(find(tracker, fragment(kClient, kServer, 101, kIpProtoUdp, true), 13, position, flow_id));
  EXPECT_EQ(position, 2);
  EXPECT_EQ(flow_id, 22u);
  // An IPv6 datagram evicts an IPv4 one as well.
  tracker.remember(fragment(kClient6, kServer6, 101, kIpProtoUdp, false), 3, 33, 14);
  EXPECT_FALSE(find(tracker, fragment(kClient, kServer, 101, kIpProtoUdp, true), 15, position, flow_id));
  ASSERT_TRUE(find(tracker, fragment(kClient6, kServer6, 101, kIpProtoUdp, true), 15, position, flow_id));
  EXPECT_EQ(flow_id, 33u);
}

TEST(FragmentTracker, SlotCountIsRoundedUpToAPowerOfTwo) {
  // 3 → 4 slots. Whatever the rounding, a lookup never reads outside the table and finds
  // exactly the datagrams it was given.
  FragmentTracker tracker;
  tracker.init(3, kLifetime);
  int32_t position;
  uint64_t flow_id;
  for (uint32_t id = 0; id < 64; ++id) {
    tracker.remember(fragment(kClient, kServer, id, kIpProtoUdp, false), int32_t(id), id + 1000, 50);
    ASSERT_TRUE(find(tracker, fragment(kClient, kServer, id, kIpProtoUdp, true), 51, position, flow_id)) << id;
    EXPECT_EQ(flow_id, id + 1000);
  }
}

TEST(FragmentTracker, Ipv6Identifications) {
  FragmentTracker tracker;
  tracker.init(1024, kLifetime);
  int32_t position;
  uint64_t flow_id;
  // IPv6 fragment ids are 32 bits: ids differing only in their upper half are other datagrams.
  tracker.remember(fragment(kClient6, kServer6, 0x80000001u, kIpProtoUdp, false), 9, 99, 100);
  ASSERT_TRUE(find(tracker, fragment(kClient6, kServer6, 0x80000001u, kIpProtoUdp, true), 101, position, flow_id));
  EXPECT_EQ(position, 9);
  EXPECT_EQ(flow_id, 99u);
  EXPECT_FALSE(find(tracker, fragment(kClient6, kServer6, 0x00000001u, kIpProtoUdp, true), 101, position, flow_id));
  EXPECT_FALSE(find(tracker, fragment(kClient6, kServer6, 0x80010001u, kIpProtoUdp, true), 101, position, flow_id));
  // Addresses differing in their last byte only (beyond the first 4, where IPv4 lives).
  IpAddress client_other = kClient6;
  client_other.bytes[15] = 9;
  EXPECT_FALSE(find(tracker, fragment(client_other, kServer6, 0x80000001u, kIpProtoUdp, true), 101, position,
                    flow_id));
  IpAddress server_other = kServer6;
  server_other.bytes[8] = 1;
  EXPECT_FALSE(find(tracker, fragment(kClient6, server_other, 0x80000001u, kIpProtoUdp, true), 101, position,
                    flow_id));
  EXPECT_FALSE(find(tracker, fragment(kClient6, kServer6, 0x80000001u, kIpProtoTcp, true), 101, position, flow_id));
  EXPECT_FALSE(find(tracker, fragment(kClient6, kServer6, 0x80000001u, kIpProtoUdp, true), 101 + kLifetime + 1,
                    position, flow_id));
}

TEST(FragmentTracker, ManyDatagramsNeverReturnAnotherDatagramsFlow) {
  FragmentTracker tracker;
  tracker.init(4096, kLifetime);
  std::vector<ParsedPacket> firsts;
  for (uint32_t i = 0; i < 200; ++i) {
    IpAddress src = i % 2 ? kClient6 : kClient;
    src.bytes[src.family == 4 ? 3 : 15] = uint8_t(i % 7 + 1);
    firsts.push_back(fragment(src, i % 2 ? kServer6 : kServer, i * 37, i % 3 ? kIpProtoUdp : kIpProtoTcp, false));
  }
  for (uint32_t i = 0; i < firsts.size(); ++i) tracker.remember(firsts[i], int32_t(i), 5000 + i, 10);
  size_t found = 0;
  for (uint32_t i = 0; i < firsts.size(); ++i) {
    ParsedPacket later = firsts[i];
    later.is_later_fragment = true;
    later.src_port = later.dst_port = 0;
    int32_t position;
    uint64_t flow_id;
    if (find(tracker, later, 11, position, flow_id)) {
      ++found;
      EXPECT_EQ(position, int32_t(i));
      EXPECT_EQ(flow_id, 5000u + i);
    }
  }
  // 200 datagrams in 4096 slots: only a few may have collided.
  EXPECT_GE(found, 180u);
  // The last one remembered is always found.
  ParsedPacket last = firsts.back();
  last.is_later_fragment = true;
  int32_t position;
  uint64_t flow_id;
  EXPECT_TRUE(find(tracker, last, 11, position, flow_id));
}

}  // namespace
}  // namespace sluice

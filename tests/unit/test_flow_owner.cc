// Software steering between workers (flow_owner.h): both directions of a flow, every fragment
// of its datagrams and the ICMP errors about it have one owner; flows spread over the workers;
// frames cut short or not IP go to worker 0 without reading past their end.
#include <gtest/gtest.h>

#include <set>
#include <utility>
#include <vector>

#include "dataplane/flow/flow_owner.h"
#include "tests/unit/frame_builder.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;

uint32_t hash(const Bytes& frame) { return flow_owner_hash(frame.data(), uint32_t(frame.size())); }

// The frame's IPv4 flags and fragment offset (in 8-byte units), checksum refreshed.
Bytes fragment(Bytes frame, bool more, uint16_t offset_units) {
  const uint16_t field = uint16_t((more ? 0x2000 : 0) | offset_units);
  frame[20] = uint8_t(field >> 8);
  frame[21] = uint8_t(field);
  test::refresh_ipv4_checksum(frame);
  return frame;
}

// IPv6 + UDP between two 2001:db8:: addresses ending in `a` and `b`.
Bytes udp6(uint8_t a, uint8_t b, uint8_t next_header = 17, Bytes payload = Bytes(8, 0)) {
  Bytes frame{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x86, 0xdd, 0x60, 0, 0, 0};
  frame.push_back(uint8_t(payload.size() >> 8));
  frame.push_back(uint8_t(payload.size()));
  frame.push_back(next_header);
  frame.push_back(64);
  for (uint8_t last : {a, b}) {
    Bytes address{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
    frame.insert(frame.end(), address.begin(), address.end());
  }
  frame.insert(frame.end(), payload.begin(), payload.end());
  return frame;
}

TEST(FlowOwner, BothDirectionsOfAFlowHashAlike) {
  const Bytes out = test::tcp4_frame(Tcp4{.src = "198.18.1.10", .dst = "198.19.0.80", .src_port = 40000, .dst_port = 443});
  const Bytes back = test::tcp4_frame(Tcp4{.src = "198.19.0.80", .dst = "198.18.1.10", .src_port = 443, .dst_port = 40000});
  EXPECT_EQ(hash(out), hash(back));
  EXPECT_NE(hash(out), 0u);
  EXPECT_EQ(hash(udp6(1, 2)), hash(udp6(2, 1)));
  EXPECT_NE(hash(udp6(1, 2)), hash(udp6(1, 3)));
}

TEST(FlowOwner, EveryFragmentOfADatagramHasItsFlowsOwner) {
  const Bytes whole = test::tcp4_frame(Tcp4{.src = "198.18.1.10", .dst = "198.19.0.80", .payload = Bytes(64, 'x')});
  const Bytes first = fragment(whole, true, 0);
  Bytes later = fragment(whole, false, 5);
  // A later fragment carries no ports: whatever its first bytes, it hashes like its flow.
  for (size_t at = 34; at < later.size(); ++at) later[at] = 0xee;
  EXPECT_EQ(hash(first), hash(whole));
  EXPECT_EQ(hash(later), hash(whole));
  for (uint16_t workers = 2; workers <= 16; ++workers)
    EXPECT_EQ(flow_owner(later.data(), uint32_t(later.size()), workers),
              flow_owner(whole.data(), uint32_t(whole.size()), workers));
}

TEST(FlowOwner, AnIcmpErrorGoesToTheOwnerOfTheFlowItQuotes) {
  // A router on the path (198.19.9.9) says the client's packet could not go on: ICMP time
  // exceeded, quoting the client's IPv4 header and 8 bytes.
  const Bytes quoted = test::tcp4_frame(Tcp4{.src = "198.18.1.10", .dst = "198.19.0.80"});
  Bytes quote(quoted.begin() + 14, quoted.begin() + 14 + 28);
  Bytes icmp{11, 0, 0, 0, 0, 0, 0, 0};
  icmp.insert(icmp.end(), quote.begin(), quote.end());
  const Bytes error = test::tcp4_frame(Tcp4{.src = "198.19.9.9", .dst = "198.18.1.10", .payload = icmp}, 1);
  // tcp4_frame with protocol 1 writes an 8-byte "UDP" header first: put the ICMP message there.
  Bytes frame(error.begin(), error.begin() + 34);
  frame.insert(frame.end(), icmp.begin(), icmp.end());
  frame[16] = 0;
  frame[17] = uint8_t(20 + icmp.size());
  test::refresh_ipv4_checksum(frame);
  EXPECT_EQ(hash(frame), hash(quoted));
  // An echo request between the same hosts is its own flow (outer addresses).
  Bytes echo = frame;
  echo[34] = 8;
  EXPECT_NE(hash(echo), hash(quoted));
  // IPv6: packet too big (type 2) quoting 2001:db8::1 → 2001:db8::2, sent by 2001:db8::9.
  const Bytes inner = udp6(1, 2);
  Bytes icmp6{2, 0, 0, 0, 0, 0, 0x05, 0x00};
  icmp6.insert(icmp6.end(), inner.begin() + 14, inner.end());
  EXPECT_EQ(hash(udp6(9, 2, 58, icmp6)), hash(udp6(2, 1)));
}

TEST(FlowOwner, FlowsSpreadOverEveryWorker) {
  for (uint16_t workers : {2, 3, 4, 16}) {
    std::vector<int> per_worker(workers);
    for (int client = 0; client < 4000; ++client) {
      const std::string source = "198.18." + std::to_string(client / 250) + "." + std::to_string(client % 250 + 1);
      const Bytes frame = test::tcp4_frame(Tcp4{.src = source.c_str(), .dst = "198.19.0.80"});
      ++per_worker[flow_owner(frame.data(), uint32_t(frame.size()), workers)];
    }
    for (int count : per_worker) {
      EXPECT_GT(count, 4000 / workers / 2) << workers << " workers";
      EXPECT_LT(count, 4000 / workers * 2) << workers << " workers";
    }
  }
}

TEST(FlowOwner, VlanTagsAreSkipped) {
  const Bytes plain = test::tcp4_frame(Tcp4{});
  Bytes tagged(plain.begin(), plain.begin() + 12);
  tagged.insert(tagged.end(), {0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20});
  tagged.insert(tagged.end(), plain.begin() + 12, plain.end());
  EXPECT_EQ(hash(tagged), hash(plain));
}

TEST(FlowOwner, NonIpAndShortFramesGoToWorkerZeroWithoutOverread) {
  Bytes arp(60, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_EQ(hash(arp), 0u);
  const Bytes v4 = test::tcp4_frame(Tcp4{});
  const Bytes v6 = udp6(1, 2);
  // Cut before the second address ends: nothing to hash, and nothing read past the end (an
  // exact-size copy each, for AddressSanitizer).
  for (const auto& [whole, needed] : {std::pair{&v4, size_t(14 + 20)}, std::pair{&v6, size_t(14 + 40)}}) {
    for (size_t length = 0; length < needed; ++length) {
      std::vector<uint8_t> cut(whole->begin(), whole->begin() + long(length));
      EXPECT_EQ(flow_owner_hash(cut.data(), uint32_t(cut.size())), 0u) << length;
    }
    std::vector<uint8_t> enough(whole->begin(), whole->begin() + long(needed));
    EXPECT_EQ(flow_owner_hash(enough.data(), uint32_t(enough.size())), hash(*whole));
  }
  Bytes wrong_version = v4;
  wrong_version[14] = 0x65;
  EXPECT_EQ(hash(wrong_version), 0u);
  EXPECT_EQ(flow_owner(v4.data(), uint32_t(v4.size()), 1), 0);
}

}  // namespace
}  // namespace sluice

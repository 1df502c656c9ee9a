// The router stage of routed mode on real mbufs: what it keeps from the processor, what it
// answers or drops (and why), and how it routes what the processor forwards.
#include "dataplane/worker/stage/route.h"

#include <gtest/gtest.h>

#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "controlplane/policy/cidr.h"
#include "dataplane/parse/byte_reader.h"
#include "dataplane/verdict/internet_checksum.h"
#include "dataplane/worker/worker_loop.h"
#include "dataplane/worker/worker_rig.h"
#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;
using test::put16;
using test::operator+;

IpAddress ip(const char* text) { return *parse_ip(text); }
MacAddress mac(const char* text) { return *parse_mac(text); }
Bytes bytes_of(const MacAddress& address) { return Bytes(address.bytes, address.bytes + 6); }
Bytes bytes_of(const IpAddress& address) {
  return Bytes(address.bytes, address.bytes + (address.family == 4 ? 4 : 16));
}

const MacAddress kInsideMac = mac("02:00:00:00:00:01");
const MacAddress kOutsideMac = mac("02:00:00:00:00:02");
const MacAddress kClientMac = mac("02:00:00:00:00:10");
const MacAddress kGatewayMac = mac("02:00:00:00:00:20");
constexpr uint8_t kInside = 0;
constexpr uint8_t kOutside = 1;

Bytes ethernet(const MacAddress& destination, const MacAddress& source, uint16_t ether_type) {
  Bytes b = bytes_of(destination) + bytes_of(source);
  put16(b, ether_type);
  return b;
}

Bytes ipv4(const char* source, const char* destination, uint8_t ttl, size_t payload) {
  Bytes b = {0x45, 0};
  put16(b, uint16_t(20 + payload));
  put16(b, 7);
  put16(b, 0x4000);
  b.push_back(ttl);
  b.push_back(kIpProtoUdp);
  put16(b, 0);
  b = b + bytes_of(ip(source)) + bytes_of(ip(destination));
  store_be16(b.data() + 10, checksum_fold(checksum_sum(b.data(), 20)));
  for (size_t i = 0; i < payload; ++i) b.push_back(uint8_t(i));
  return b;
}

Bytes ipv6(const char* source, const char* destination, uint8_t hop_limit, uint8_t next_header, size_t payload,
           uint8_t first = 0) {
  Bytes b = {0x60, 0, 0, 0};
  put16(b, uint16_t(payload));
  b.push_back(next_header);
  b.push_back(hop_limit);
  b = b + bytes_of(ip(source)) + bytes_of(ip(destination));
  for (size_t i = 0; i < payload; ++i) b.push_back(i == 0 ? first : uint8_t(i));
  return b;
}

Bytes from_client(const Bytes& ip_packet, uint16_t ether_type = 0x0800) {
  return ethernet(kInsideMac, kClientMac, ether_type) + ip_packet;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WorkerRigOptions options;
    options.name = "rt";
    options.mbuf_count = 255;
    options.mbuf_cache = 0;
    options.event_ring_size = 16;
    options.neighbour_ring_size = 16;
    options.control_frame_ring_size = 16;
    options.flow_capacity = 64;
    std::string error;
    ASSERT_TRUE(rig_.init(options, PacketProcessorSetup{}, error)) << error;

    RoutedPort inside;
    inside.mac = kInsideMac;
    inside.addresses = {{ip("198.18.0.1"), 24}, {ip("2001:db8::1"), 64}};
    RoutedPort outside;
    outside.mac = kOutsideMac;
    outside.addresses = {{ip("198.19.0.2"), 24}, {ip("2001:db8:1::2"), 64}};
    outside.mtu = 1400;
    RouteEntry default_route;
    default_route.prefix = ip("0.0.0.0");
    default_route.via = ip("198.19.0.1");
    default_route.port = kOutside;
    tables_.add_route(default_route);
    RouteEntry spokes;
    spokes.prefix = ip("198.18.8.0");
    spokes.prefix_length = 22;
    spokes.via = ip("198.18.0.254");
    spokes.port = kInside;
    tables_.add_route(spokes);
    tables_.set_port(kInside, inside);
    tables_.set_port(kOutside, outside);
    tables_.seal();
    neighbours_.add(kOutside, ip("198.19.0.1"), kGatewayMac);
    neighbours_.add(kInside, ip("198.18.0.10"), kClientMac);
    neighbours_.add(kOutside, ip("2001:db8:1::99"), kGatewayMac);
    neighbours_.seal();
    tables_slot_.store(&tables_);
    neighbours_slot_.store(&neighbours_);

    RouterSetup setup;
    setup.tables = &tables_slot_;
    setup.neighbours = &neighbours_slot_;
    setup.neighbour_events = rig_.neighbour_events();
    setup.reply_pool = rig_.mbufs();
    setup.counters = &rig_.counters();
    setup.icmp_errors_per_second = 2;
    router_ = std::make_unique<Router>(setup, rte_get_tsc_hz());
    ASSERT_TRUE(router_->begin(rte_rdtsc()));
  }

  void TearDown() override {
    RoutedOutput& output = router_->output();
    for (int port = 0; port < kMaxRoutedPorts; ++port) {
      for (uint16_t i = 0; i < output.count[port]; ++i) rte_pktmbuf_free(output.frames[port][i]);
      output.count[port] = 0;
    }
  }

  rte_mbuf* mbuf(const Bytes& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(rig_.mbufs());
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, uint16_t(frame.size())), frame.data(), frame.size());
    return m;
  }
  static Bytes bytes(rte_mbuf* m) {
    const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
    return Bytes(data, data + m->data_len);
  }
  uint64_t dropped(Reason reason) { return read(rig_.counters().dropped_packets[static_cast<int>(reason)]); }

  // One frame through before(): true when it is left for the processor.
  bool kept(uint8_t ingress, const Bytes& frame, rte_mbuf** keep = nullptr) {
    rte_mbuf* packets[1] = {mbuf(frame)};
    const uint16_t count = router_->before(ingress, packets, 1);
    if (count && keep) *keep = packets[0];
    else if (count) rte_pktmbuf_free(packets[0]);
    return count == 1;
  }
  // One frame as the processor would forward it, through after().
  void forward(uint8_t ingress, const Bytes& frame) {
    out_.forward_count = 1;
    out_.forward[0] = mbuf(frame);
    out_.reply_count = 0;
    router_->after(ingress, out_);
  }

  WorkerRig rig_;
  RoutingTables tables_;
  NeighbourTable neighbours_;
  std::atomic<const RoutingTables*> tables_slot_{nullptr};
  std::atomic<const NeighbourTable*> neighbours_slot_{nullptr};
  std::unique_ptr<Router> router_;
  BurstOutput out_;
};

TEST_F(RouterTest, TransitTrafficGoesToTheProcessor) {
  EXPECT_TRUE(kept(kInside, from_client(ipv4("198.18.0.10", "198.51.100.7", 64, 20))));
  EXPECT_TRUE(kept(kInside, from_client(ipv6("2001:db8::10", "2001:db8:5::7", 64, kIpProtoUdp, 20), 0x86dd)));
  EXPECT_TRUE(kept(kInside, from_client(Bytes{0x45, 0})));  // truncated: the processor drops it, malformed
}

TEST_F(RouterTest, FramesNotForTheRouterAreDroppedByReason) {
  EXPECT_FALSE(kept(kInside, ethernet(kGatewayMac, kClientMac, 0x0800) + ipv4("198.18.0.10", "198.51.100.7", 64, 20)));
  EXPECT_EQ(dropped(Reason::frame_not_for_appliance), 1u);
  EXPECT_FALSE(kept(kInside, ethernet(kInsideMac, kClientMac, 0x88cc) + Bytes(40, 0)));  // LLDP
  EXPECT_FALSE(kept(kInside, ethernet(kInsideMac, kClientMac, 0x8100) + Bytes(40, 0)));  // VLAN tag
  EXPECT_EQ(dropped(Reason::routed_non_ip), 2u);
  EXPECT_FALSE(kept(kInside, ethernet(mac("ff:ff:ff:ff:ff:ff"), kClientMac, 0x0800) +
                                 ipv4("198.18.0.10", "198.18.0.255", 64, 20)));
  EXPECT_EQ(dropped(Reason::routed_multicast), 1u);
  // ARP and ND end at the neighbour hook, never forwarded: these fail its checks (an all-zero
  // ARP body, an NS without a right checksum).
  EXPECT_FALSE(kept(kInside, ethernet(mac("ff:ff:ff:ff:ff:ff"), kClientMac, 0x0806) + Bytes(28, 0)));
  EXPECT_FALSE(kept(kInside, ethernet(mac("33:33:ff:00:00:01"), kClientMac, 0x86dd) +
                                 ipv6("2001:db8::10", "ff02::1:ff00:1", 255, kIpProtoIcmpv6, 24, 135)));
  EXPECT_EQ(dropped(Reason::neighbour_message_refused), 2u);
  EXPECT_EQ(dropped(Reason::neighbour_protocol_unhandled), 0u);
  // Until the exception port fills its hook: nothing for the appliance's own addresses passes.
  EXPECT_FALSE(kept(kInside, from_client(ipv4("198.18.0.10", "198.18.0.1", 64, 20))));
  EXPECT_FALSE(kept(kInside, from_client(ipv4("198.18.0.10", "198.19.0.2", 64, 20))));
  EXPECT_EQ(dropped(Reason::local_not_allowed), 2u);
  EXPECT_EQ(read(rig_.counters().rx_packets[kInside]), 8u);
}

TEST_F(RouterTest, ExpiringTtlIsAnsweredWithTimeExceededWithinARate) {
  const Bytes probe = from_client(ipv4("198.18.0.10", "198.51.100.7", 1, 20));
  EXPECT_FALSE(kept(kInside, probe));
  EXPECT_FALSE(kept(kInside, from_client(ipv4("198.18.0.10", "198.51.100.7", 0, 20))));
  EXPECT_FALSE(kept(kInside, probe));  // the bucket held two
  EXPECT_EQ(dropped(Reason::ttl_expired), 3u);
  EXPECT_EQ(read(rig_.counters().icmp_time_exceeded_sent), 2u);
  EXPECT_EQ(read(rig_.counters().icmp_router_errors_rate_limited), 1u);
  RoutedOutput& output = router_->output();
  ASSERT_EQ(output.count[kInside], 2);
  const Bytes error = bytes(output.frames[kInside][0]);
  EXPECT_EQ(Bytes(error.begin(), error.begin() + 6), bytes_of(kClientMac));
  EXPECT_EQ(Bytes(error.begin() + 6, error.begin() + 12), bytes_of(kInsideMac));
  EXPECT_EQ(Bytes(error.begin() + 26, error.begin() + 30), bytes_of(ip("198.18.0.1")));  // from the appliance
  EXPECT_EQ(error[14 + 20], 11);
}

TEST_F(RouterTest, AnExpiringTtlUnderABadHeaderChecksumIsLeftToTheProcessor) {
  Bytes probe = from_client(ipv4("198.18.0.10", "198.51.100.7", 1, 20));
  probe[14 + 10] ^= 0x5a;
  EXPECT_TRUE(kept(kInside, probe));  // dropped there as ipv4_header_checksum_bad
  EXPECT_EQ(read(rig_.counters().icmp_time_exceeded_sent), 0u);
  EXPECT_EQ(router_->output().count[kInside], 0);
}

TEST_F(RouterTest, ForwardedPacketsAreRoutedRewrittenAndDecremented) {
  forward(kInside, from_client(ipv4("198.18.0.10", "198.51.100.7", 64, 20)));
  RoutedOutput& output = router_->output();
  ASSERT_EQ(output.count[kOutside], 1);
  const Bytes sent = bytes(output.frames[kOutside][0]);
  EXPECT_EQ(Bytes(sent.begin(), sent.begin() + 6), bytes_of(kGatewayMac));
  EXPECT_EQ(Bytes(sent.begin() + 6, sent.begin() + 12), bytes_of(kOutsideMac));
  EXPECT_EQ(sent[14 + 8], 63);
  EXPECT_EQ(checksum_fold(checksum_sum(sent.data() + 14, 20)), 0);  // header checksum still right
  // Back in by the port it came from: a spoke behind the inside gateway… unresolved here.
  forward(kInside, from_client(ipv4("198.18.0.10", "198.18.9.1", 64, 20)));
  EXPECT_EQ(dropped(Reason::neighbour_unresolved), 1u);
  NeighbourEvent event;
  ASSERT_EQ(rte_ring_dequeue_elem(rig_.neighbour_events(), &event, sizeof event), 0);
  EXPECT_EQ(event.kind, NeighbourEventKind::wanted);
  EXPECT_EQ(event.port, kInside);
  EXPECT_EQ(event.address, ip("198.18.0.254"));
  // … and a connected destination on the ingress port goes straight back out of it.
  forward(kInside, from_client(ipv4("198.18.0.77", "198.18.0.10", 9, 20)));
  ASSERT_EQ(output.count[kInside], 1);
  EXPECT_EQ(bytes(output.frames[kInside][0])[14 + 8], 8);
  EXPECT_EQ(read(rig_.counters().routed_packets), 2u);
}

TEST_F(RouterTest, Ipv6HopLimitAndNoRoute) {
  forward(kInside, from_client(ipv6("2001:db8::10", "2001:db8:1::99", 2, kIpProtoUdp, 20), 0x86dd));
  RoutedOutput& output = router_->output();
  ASSERT_EQ(output.count[kOutside], 1);
  EXPECT_EQ(bytes(output.frames[kOutside][0])[14 + 7], 1);
  forward(kInside, from_client(ipv6("2001:db8::10", "2001:db8:77::1", 64, kIpProtoUdp, 20), 0x86dd));
  EXPECT_EQ(dropped(Reason::no_route), 1u);
}

TEST_F(RouterTest, OverTheMtuIsAnsweredWithFragmentationNeeded) {
  forward(kInside, from_client(ipv4("198.18.0.10", "198.51.100.7", 64, 1400 - 20 + 1)));
  EXPECT_EQ(dropped(Reason::packet_too_big), 1u);
  RoutedOutput& output = router_->output();
  ASSERT_EQ(output.count[kInside], 1);
  ASSERT_EQ(output.count[kOutside], 0);
  const Bytes error = bytes(output.frames[kInside][0]);
  EXPECT_EQ(error[14 + 20], 3);
  EXPECT_EQ(error[14 + 21], 4);
  EXPECT_EQ(load_be16(error.data() + 14 + 26), 1400);
  forward(kInside, from_client(ipv4("198.18.0.10", "198.51.100.7", 64, 1400 - 20)));  // exactly the MTU
  EXPECT_EQ(output.count[kOutside], 1);
}

TEST_F(RouterTest, RepliesGoBackOutOfTheIngressPort) {
  out_.forward_count = 0;
  out_.reply_count = 1;
  out_.replies[0] = mbuf(ethernet(kClientMac, kInsideMac, 0x0800) + ipv4("198.51.100.7", "198.18.0.10", 64, 20));
  router_->after(kInside, out_);
  EXPECT_EQ(router_->output().count[kInside], 1);
  EXPECT_EQ(out_.reply_count, 0);
}

TEST_F(RouterTest, ControlFramesGoOutOfTheirPort) {
  rte_mbuf* arp = mbuf(ethernet(mac("ff:ff:ff:ff:ff:ff"), kOutsideMac, 0x0806) + Bytes(28, 0));
  rte_mbuf* stray = mbuf(ethernet(mac("ff:ff:ff:ff:ff:ff"), kOutsideMac, 0x0806) + Bytes(28, 0));
  ASSERT_TRUE(send_control_frame(rig_.control_frames(), arp, kOutside));
  ASSERT_TRUE(send_control_frame(rig_.control_frames(), stray, 2));  // no such port here
  router_->take_control_frames(rig_.control_frames());
  EXPECT_EQ(router_->output().count[kOutside], 1);
  EXPECT_EQ(read(rig_.counters().control_frames_sent), 1u);
  EXPECT_EQ(dropped(Reason::control_frame_bad_port), 1u);
}

TEST(RouterChecksum, TtlDecrementMatchesARecomputedChecksum) {
  for (uint8_t ttl : {uint8_t(2), uint8_t(64), uint8_t(255), uint8_t(128)}) {
    for (uint16_t seed : {uint16_t(0), uint16_t(0xffff), uint16_t(0x1234), uint16_t(0xfeff)}) {
      Bytes header = {0x45, 0, 0, 60, uint8_t(seed >> 8), uint8_t(seed), 0x40, 0, ttl, 6, 0, 0, 198, 18, 0, 10, 198, 51, 100, 7};
      store_be16(header.data() + 10, checksum_fold(checksum_sum(header.data(), 20)));
      const uint16_t updated = ipv4_checksum_after_ttl_decrement(load_be16(header.data() + 10), ttl, 6);
      header[8] = uint8_t(ttl - 1);
      store_be16(header.data() + 10, updated);
      EXPECT_EQ(checksum_fold(checksum_sum(header.data(), 20)), 0) << int(ttl) << " " << seed;
    }
  }
}

}  // namespace
}  // namespace sluice

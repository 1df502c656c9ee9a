// The router's local-delivery hook on real mbufs: the health probe answered while ready and not
// otherwise, kernel services out of the exception port, the rest dropped; the kernel's frames
// from the tap routed out when they come from an own address.
#include "dataplane/worker/stage/local_delivery.h"

#include <gtest/gtest.h>

#include <rte_mbuf.h>

#include "controlplane/policy/cidr.h"
#include "dataplane/parse/tcp_checksum.h"
#include "dataplane/worker/stage/route.h"
#include "dataplane/worker/worker_rig.h"
#include "tests/unit/frame_builder.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;
using test::operator+;

IpAddress ip(const char* text) { return *parse_ip(text); }
MacAddress mac(const char* text) { return *parse_mac(text); }
Bytes bytes_of(const MacAddress& address) { return Bytes(address.bytes, address.bytes + 6); }

// tcp4_frame's MACs: to 02:00:00:00:00:02 (the inside port here) from 02:00:00:00:00:01.
const MacAddress kInsideMac = mac("02:00:00:00:00:02");
const MacAddress kClientMac = mac("02:00:00:00:00:01");
const MacAddress kOutsideMac = mac("02:00:00:00:00:03");
const MacAddress kTapMac = mac("02:00:00:00:00:0a");
constexpr uint8_t kInside = 0, kOutside = 1, kTap = kExceptionRoutedPort;
constexpr uint16_t kProbePort = 8080;

Tcp4 to_appliance(uint16_t port, uint8_t flags, const char* source = "198.18.1.10") {
  Tcp4 spec;
  spec.src = source;
  spec.dst = "198.18.1.254";
  spec.dst_port = port;
  spec.flags = flags;
  return spec;
}

class LocalDeliveryStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WorkerRigOptions options;
    options.name = "ld";
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
    inside.addresses = {{ip("198.18.1.254"), 24}};
    RoutedPort outside;
    outside.mac = kOutsideMac;
    outside.addresses = {{ip("198.18.2.254"), 24}};
    RoutedPort tap;
    tap.mac = kTapMac;
    tables_.set_port(kInside, inside);
    tables_.set_port(kOutside, outside);
    tables_.set_port(kTap, tap);
    // A spoke behind the inside gateway: its sources arrive on the inside port, routed back there.
    RouteEntry spoke;
    spoke.prefix = ip("198.18.7.0");
    spoke.prefix_length = 24;
    spoke.port = kInside;
    spoke.via = ip("198.18.1.1");
    tables_.add_route(spoke);
    tables_.seal();
    neighbours_.add(kInside, ip("198.18.1.10"), kClientMac);
    neighbours_.seal();
    tables_slot_.store(&tables_);
    neighbours_slot_.store(&neighbours_);

    KernelService ssh;
    ssh.protocol = kIpProtoTcp;
    ssh.ports[ssh.port_count++] = 22;
    Cidr clients;
    ASSERT_EQ(parse_cidr("198.18.1.0/24", clients), CidrError::none);
    ssh.sources[ssh.source_count++] = {clients.address, clients.prefix_length};
    kernel_.add(ssh);

    RouterSetup setup;
    setup.tables = &tables_slot_;
    setup.neighbours = &neighbours_slot_;
    setup.neighbour_events = rig_.neighbour_events();
    setup.reply_pool = rig_.mbufs();
    setup.counters = &rig_.counters();
    setup.local.probe_port = kProbePort;
    setup.local.kernel = &kernel_;
    setup.local.exception_port = kTap;
    setup.local.ready = &ready_;
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

  // One frame through before(): true when it is left for the processor (never, here).
  bool kept(uint8_t ingress, const Bytes& frame) {
    rte_mbuf* m = rte_pktmbuf_alloc(rig_.mbufs());
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, uint16_t(frame.size())), frame.data(), frame.size());
    rte_mbuf* packets[1] = {m};
    const uint16_t count = router_->before(ingress, packets, 1);
    if (count) rte_pktmbuf_free(packets[0]);
    return count == 1;
  }
  Bytes sent(uint8_t port, uint16_t index = 0) {
    const rte_mbuf* m = router_->output().frames[port][index];
    const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
    return Bytes(data, data + m->data_len);
  }
  uint16_t sent_count(uint8_t port) { return router_->output().count[port]; }
  uint64_t dropped(Reason reason) { return read(rig_.counters().dropped_packets[static_cast<int>(reason)]); }

  WorkerRig rig_;
  RoutingTables tables_;
  NeighbourTable neighbours_;
  KernelServiceFilter kernel_;
  std::atomic<bool> ready_{true};
  std::atomic<const RoutingTables*> tables_slot_{nullptr};
  std::atomic<const NeighbourTable*> neighbours_slot_{nullptr};
  std::unique_ptr<Router> router_;
};

TEST_F(LocalDeliveryStageTest, ProbeSynGetsASynAckBackOutOfItsPort) {
  EXPECT_FALSE(kept(kInside, test::tcp4_frame(to_appliance(kProbePort, kTcpSyn))));
  ASSERT_EQ(sent_count(kInside), 1);
  const Bytes answer = sent(kInside);
  ParsedPacket parsed;
  ASSERT_EQ(parse_packet(answer, parsed), PacketParseError::none);
  EXPECT_EQ(parsed.tcp_flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(format_ip(parsed.src), "198.18.1.254");
  EXPECT_EQ(format_ip(parsed.dst), "198.18.1.10");
  EXPECT_EQ(parsed.src_port, kProbePort);
  EXPECT_EQ(parsed.tcp_ack, 1001u);
  EXPECT_TRUE(tcp_checksum_ok(answer, parsed));
  EXPECT_EQ(Bytes(answer.begin(), answer.begin() + 6), bytes_of(kClientMac));
  EXPECT_EQ(sent_count(kTap), 0);
}

TEST_F(LocalDeliveryStageTest, UnreadyProbeIsUnanswered) {
  ready_ = false;
  EXPECT_FALSE(kept(kInside, test::tcp4_frame(to_appliance(kProbePort, kTcpSyn))));
  EXPECT_EQ(sent_count(kInside), 0);
  EXPECT_EQ(dropped(Reason::health_probe_not_ready), 1u);
  ready_ = true;
  EXPECT_FALSE(kept(kInside, test::tcp4_frame(to_appliance(kProbePort, kTcpSyn))));
  EXPECT_EQ(sent_count(kInside), 1);
}

TEST_F(LocalDeliveryStageTest, ProbeConnectionsLaterSegments) {
  EXPECT_FALSE(kept(kInside, test::tcp4_frame(to_appliance(kProbePort, kTcpAck))));
  EXPECT_EQ(sent_count(kInside), 0);
  Tcp4 data = to_appliance(kProbePort, kTcpPsh | kTcpAck);
  data.payload = Bytes(4, 'x');
  EXPECT_FALSE(kept(kInside, test::tcp4_frame(data)));
  ASSERT_EQ(sent_count(kInside), 1);
  ParsedPacket reset;
  ASSERT_EQ(parse_packet(sent(kInside), reset), PacketParseError::none);
  EXPECT_EQ(reset.tcp_flags, kTcpRst | kTcpAck);
  EXPECT_EQ(dropped(Reason::health_probe_segment), 2u);
}

TEST_F(LocalDeliveryStageTest, KernelServiceGoesOutOfTheTapAddressedToTheKernel) {
  const Bytes frame = test::tcp4_frame(to_appliance(22, kTcpSyn));
  EXPECT_FALSE(kept(kInside, frame));
  ASSERT_EQ(sent_count(kTap), 1);
  const Bytes to_kernel = sent(kTap);
  EXPECT_EQ(Bytes(to_kernel.begin(), to_kernel.begin() + 6), bytes_of(kTapMac));
  EXPECT_EQ(Bytes(to_kernel.begin() + 6, to_kernel.begin() + 12), bytes_of(kTapMac));
  EXPECT_EQ(Bytes(to_kernel.begin() + 12, to_kernel.end()), Bytes(frame.begin() + 12, frame.end()));  // unchanged past L2
}

TEST_F(LocalDeliveryStageTest, EverythingElseForOwnAddressesIsDropped) {
  EXPECT_FALSE(kept(kInside, test::tcp4_frame(to_appliance(23, kTcpSyn))));                    // port not listed
  EXPECT_FALSE(kept(kInside, test::tcp4_frame(to_appliance(22, kTcpSyn, "198.18.7.1"))));      // source not listed
  EXPECT_FALSE(kept(kInside, test::tcp4_frame(to_appliance(22, kTcpSyn), kIpProtoUdp)));       // UDP
  EXPECT_EQ(dropped(Reason::local_not_allowed), 3u);
  EXPECT_EQ(sent_count(kTap), 0);
  EXPECT_EQ(sent_count(kInside), 0);
}

// Reverse path: a workload claiming an address the routes do not send back out of the inside
// port (here, none at all: there is no default route) could make the kernel's echo or any answer
// carry its bytes to that address; it is dropped before anything answers.
TEST_F(LocalDeliveryStageTest, ASpoofedSourceIsDroppedBeforeAnythingAnswers) {
  EXPECT_FALSE(kept(kInside, test::tcp4_frame(to_appliance(22, kTcpSyn, "198.19.66.1"))));
  EXPECT_EQ(dropped(Reason::source_not_routed_back), 1u);
  EXPECT_EQ(sent_count(kTap), 0);
  EXPECT_EQ(sent_count(kInside), 0);
  EXPECT_EQ(sent_count(kOutside), 0);
}

TEST_F(LocalDeliveryStageTest, KernelAnswersFromOwnAddressesAreRoutedOut) {
  Tcp4 answer;
  answer.src = "198.18.1.254";
  answer.dst = "198.18.1.10";
  answer.src_port = 22;
  answer.dst_port = 40000;
  answer.flags = kTcpSyn | kTcpAck;
  Bytes frame = test::tcp4_frame(answer);
  std::memcpy(frame.data(), kTapMac.bytes, 6);  // the kernel addresses its own MAC (NOARP)
  std::memcpy(frame.data() + 6, kTapMac.bytes, 6);
  EXPECT_FALSE(kept(kTap, frame));
  ASSERT_EQ(sent_count(kInside), 1);
  const Bytes out = sent(kInside);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 6), bytes_of(kClientMac));
  EXPECT_EQ(Bytes(out.begin() + 6, out.begin() + 12), bytes_of(kInsideMac));
  EXPECT_EQ(out[14 + 8], 63);  // routed: TTL decremented

  Tcp4 spoofed = answer;
  spoofed.src = "198.18.1.99";  // not an own address: the kernel forwarding, or worse
  Bytes bad = test::tcp4_frame(spoofed);
  std::memcpy(bad.data(), kTapMac.bytes, 6);
  EXPECT_FALSE(kept(kTap, bad));
  EXPECT_FALSE(kept(kTap, Bytes(bad.begin(), bad.begin() + 12) + Bytes{0x08, 0x06} + Bytes(28, 0)));  // ARP
  EXPECT_EQ(dropped(Reason::exception_source_not_own), 2u);
  EXPECT_EQ(sent_count(kInside), 1);
}

}  // namespace
}  // namespace sluice

// SNAT and the DNS forwarder plugged into the router stage, on real mbufs: a client's packet
// routed by a snat route leaves with a SNAT source, its answer comes back to the client before
// the processor, return packets of other servers and ports are dropped by reason, exhaustion is
// refused and counted, and a DNS query to the INSIDE address goes to the policy's resolver.
#include <gtest/gtest.h>

#include <rte_mbuf.h>

#include "controlplane/policy/cidr.h"
#include "dataplane/nat/snat_port_slices.h"
#include "dataplane/worker/stage/route.h"
#include "dataplane/worker/worker_rig.h"
#include "tests/unit/snat_frames.h"

namespace sluice {
namespace {

using test::Bytes;
using test::ip;
using test::operator+;

MacAddress mac(const char* text) { return *parse_mac(text); }
Bytes bytes_of(const MacAddress& address) { return Bytes(address.bytes, address.bytes + 6); }

const MacAddress kInsideMac = mac("02:00:00:00:00:01");
const MacAddress kOutsideMac = mac("02:00:00:00:00:02");
const MacAddress kClientMac = mac("02:00:00:00:00:10");
const MacAddress kGatewayMac = mac("02:00:00:00:00:20");
constexpr uint8_t kInside = 0;
constexpr uint8_t kOutside = 1;
const IpAddress kClient = ip("198.18.0.10");
const IpAddress kSpokeHost = ip("198.18.8.7");
const IpAddress kServer = ip("198.51.100.7");
const IpAddress kAttacker = ip("198.51.100.66");
const IpAddress kResolver = ip("198.51.100.53");
const IpAddress kApplianceInside = ip("198.18.0.1");
const IpAddress kSnat = ip("198.19.0.5");  // on the OUTSIDE prefix, beside the port's own 198.19.0.2
const Bytes kMarker = {'E', 'X', 'F', 'I', 'L', '-', 'S', 'N', 'A', 'T'};

Bytes frame(const MacAddress& to, const MacAddress& from, const Bytes& ip_packet) {
  Bytes b = bytes_of(to) + bytes_of(from);
  test::put16(b, 0x0800);
  return b + ip_packet;
}

Bytes tcp(const IpAddress& src, uint16_t sport, const IpAddress& dst, uint16_t dport, const Bytes& payload = {}) {
  return test::ip_packet(src, dst, kIpProtoTcp, test::tcp_segment(sport, dport, payload));
}

Bytes udp(const IpAddress& src, uint16_t sport, const IpAddress& dst, uint16_t dport, const Bytes& payload = {}) {
  return test::ip_packet(src, dst, kIpProtoUdp, test::udp_segment(sport, dport, payload));
}

class RouterNatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WorkerRigOptions options;
    options.name = "rn";
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
    inside.addresses = {{kApplianceInside, 24}};
    RoutedPort outside;
    outside.mac = kOutsideMac;
    outside.addresses = {{ip("198.19.0.2"), 24}, {kSnat, 24}};
    RouteEntry internet;
    internet.prefix = ip("0.0.0.0");
    internet.via = ip("198.19.0.1");
    internet.port = kOutside;
    internet.snat = true;
    tables_.add_route(internet);
    RouteEntry spokes;  // no snat
    spokes.prefix = ip("198.18.8.0");
    spokes.prefix_length = 22;
    spokes.via = ip("198.18.0.254");
    spokes.port = kInside;
    tables_.add_route(spokes);
    tables_.set_port(kInside, inside);
    tables_.set_port(kOutside, outside);
    tables_.seal();
    neighbours_.add(kOutside, ip("198.19.0.1"), kGatewayMac);
    neighbours_.add(kInside, kClient, kClientMac);
    neighbours_.add(kInside, ip("198.18.0.254"), kClientMac);
    neighbours_.seal();
    tables_slot_.store(&tables_);
    neighbours_slot_.store(&neighbours_);
  }

  // The router with SNAT on `first`..`last` and the DNS forwarder.
  void start(uint16_t first = 20000, uint16_t last = 20999) {
    SnatTableSettings settings;
    settings.capacity = 32;
    settings.addresses = {kSnat};
    settings.ports = {first, last};
    settings.quarantine_ticks = 1000;
    settings.hash_seed = 3;
    ASSERT_TRUE(nat_.table.init(settings));
    nat_.snat = true;
    nat_.idle = {~0ull / 4, ~0ull / 4, ~0ull / 4};
    nat_.dns_forwarder = nat_.forwards.init(8, ~0ull / 4, 5);
    RouterSetup setup;
    setup.tables = &tables_slot_;
    setup.neighbours = &neighbours_slot_;
    setup.neighbour_events = rig_.neighbour_events();
    setup.reply_pool = rig_.mbufs();
    setup.counters = &rig_.counters();
    setup.nat = &nat_;
    router_ = std::make_unique<Router>(setup, rte_get_tsc_hz());
    ASSERT_TRUE(router_->begin(1));
    policy_.attachments.resize(1);
    policy_.policies.resize(1);
    policy_.policies[0].dns_resolvers = {ip("2001:db8::53"), kResolver};
    router_->use_policy(&policy_);
  }

  void TearDown() override {
    if (!router_) return;
    RoutedOutput& output = router_->output();
    for (int port = 0; port < kMaxRoutedPorts; ++port) {
      for (uint16_t i = 0; i < output.count[port]; ++i) rte_pktmbuf_free(output.frames[port][i]);
      output.count[port] = 0;
    }
  }

  rte_mbuf* mbuf(const Bytes& bytes) {
    rte_mbuf* m = rte_pktmbuf_alloc(rig_.mbufs());
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, uint16_t(bytes.size())), bytes.data(), bytes.size());
    return m;
  }
  static Bytes bytes(rte_mbuf* m) {
    const uint8_t* data = rte_pktmbuf_mtod(m, const uint8_t*);
    return Bytes(data, data + m->data_len);
  }
  uint64_t dropped(Reason reason) { return read(rig_.counters().dropped_packets[static_cast<int>(reason)]); }

  // One frame through before(): the frame left for the processor (its bytes), or nothing.
  std::optional<Bytes> arrive(uint8_t ingress, const Bytes& bytes_in) {
    rte_mbuf* packets[1] = {mbuf(bytes_in)};
    if (router_->before(ingress, packets, 1) == 0) return std::nullopt;
    Bytes kept = bytes(packets[0]);
    rte_pktmbuf_free(packets[0]);
    return kept;
  }
  // One frame as the processor would forward it, through after(): what left by `port`, if any.
  std::optional<Bytes> route(uint8_t ingress, const Bytes& bytes_in, uint8_t port) {
    out_.forward_count = 1;
    out_.forward[0] = mbuf(bytes_in);
    out_.reply_count = 0;
    router_->after(ingress, out_);
    RoutedOutput& output = router_->output();
    if (output.count[port] == 0) return std::nullopt;
    rte_mbuf* sent = output.frames[port][--output.count[port]];
    Bytes result = bytes(sent);
    rte_pktmbuf_free(sent);
    return result;
  }
  static ParsedPacket parsed(const Bytes& b) {
    ParsedPacket packet;
    EXPECT_EQ(parse_packet(b, packet), PacketParseError::none);
    return packet;
  }

  WorkerRig rig_;
  RoutingTables tables_;
  NeighbourTable neighbours_;
  std::atomic<const RoutingTables*> tables_slot_{nullptr};
  std::atomic<const NeighbourTable*> neighbours_slot_{nullptr};
  NatState nat_;
  CompiledPolicy policy_;
  std::unique_ptr<Router> router_;
  BurstOutput out_;
};

TEST_F(RouterNatTest, AClientLeavesTranslatedAndItsAnswerComesBackBeforeTheProcessor) {
  start();
  const auto out = route(kInside, frame(kInsideMac, kClientMac, tcp(kClient, 40000, kServer, 443, {'h', 'i'})), kOutside);
  ASSERT_TRUE(out);
  const ParsedPacket sent = parsed(*out);
  EXPECT_TRUE(sent.src == kSnat);
  EXPECT_GE(sent.src_port, 20000);
  EXPECT_LE(sent.src_port, 20999);
  EXPECT_TRUE(sent.dst == kServer);
  EXPECT_EQ(sent.ttl, 63);
  EXPECT_TRUE(test::ip_checksums_ok(*out, sent.l3_offset, sent.l3_end));
  EXPECT_EQ(read(rig_.counters().snat_translations_active), 1u);
  EXPECT_EQ(read(rig_.counters().snat_ports_in_use[0]), 1u);
  // The answer, to the SNAT address: translated back, then transit for the processor.
  const auto back = arrive(kOutside, frame(kOutsideMac, kGatewayMac, tcp(kServer, 443, kSnat, sent.src_port, {'o', 'k'})));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, frame(kOutsideMac, kGatewayMac, tcp(kServer, 443, kClient, 40000, {'o', 'k'})));
}

TEST_F(RouterNatTest, ReturnPacketsOfNoTranslationAreDroppedAndOthersAreLocal) {
  start();
  const auto out = route(kInside, frame(kInsideMac, kClientMac, tcp(kClient, 40000, kServer, 443)), kOutside);
  ASSERT_TRUE(out);
  const uint16_t port = parsed(*out).src_port;
  // Attack: another server (the attacker's) sends its bytes to the client's translated port.
  EXPECT_FALSE(arrive(kOutside, frame(kOutsideMac, kGatewayMac, tcp(kAttacker, 443, kSnat, port, kMarker))));
  EXPECT_FALSE(arrive(kOutside, frame(kOutsideMac, kGatewayMac, udp(kServer, 443, kSnat, port, kMarker))));
  EXPECT_EQ(dropped(Reason::snat_no_binding), 2u);
  // A port below the range (SSH, a probe) is for the appliance itself: local delivery decides.
  EXPECT_FALSE(arrive(kOutside, frame(kOutsideMac, kGatewayMac, tcp(kAttacker, 5555, kSnat, 22))));
  EXPECT_EQ(dropped(Reason::local_not_allowed), 1u);
  // Control: the real answer passes.
  EXPECT_TRUE(arrive(kOutside, frame(kOutsideMac, kGatewayMac, tcp(kServer, 443, kSnat, port))));
}

TEST_F(RouterNatTest, OnlyASnatRouteTranslatesAndExhaustionIsRefusedAndCounted) {
  start(20000, 20000);  // one port
  const auto spoke = route(kInside, frame(kInsideMac, kClientMac, tcp(kClient, 40000, kSpokeHost, 443)), kInside);
  ASSERT_TRUE(spoke);
  EXPECT_TRUE(parsed(*spoke).src == kClient);
  ASSERT_TRUE(route(kInside, frame(kInsideMac, kClientMac, tcp(kClient, 40000, kServer, 443)), kOutside));
  EXPECT_FALSE(route(kInside, frame(kInsideMac, kClientMac, tcp(kClient, 40001, kServer, 443)), kOutside));
  EXPECT_EQ(dropped(Reason::snat_ports_exhausted), 1u);
  EXPECT_EQ(read(rig_.counters().snat_allocation_failures), 1u);
  // Another destination still gets the port.
  EXPECT_TRUE(route(kInside, frame(kInsideMac, kClientMac, tcp(kClient, 40001, kServer, 80)), kOutside));
  // A protocol SNAT cannot translate is dropped, not sent with the client's source.
  EXPECT_FALSE(route(kInside, frame(kInsideMac, kClientMac, test::ip_packet(kClient, kServer, 47, {0, 0, 8, 0})), kOutside));
  EXPECT_EQ(dropped(Reason::snat_untranslatable), 1u);
}

TEST_F(RouterNatTest, ADnsQueryToTheInsideAddressGoesToTheResolverAndItsAnswerComesFromTheAppliance) {
  start();
  const Bytes query = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1};
  const auto forwarded = arrive(kInside, frame(kInsideMac, kClientMac, udp(kClient, 5353, kApplianceInside, 53, query)));
  ASSERT_TRUE(forwarded);
  EXPECT_EQ(*forwarded, frame(kInsideMac, kClientMac, udp(kClient, 5353, kResolver, 53, query)));
  EXPECT_EQ(read(rig_.counters().dns_forwarded_queries), 1u);
  // The answer, as the processor forwards it back (already untranslated from SNAT).
  const auto answer = route(kOutside, frame(kOutsideMac, kGatewayMac, udp(kResolver, 53, kClient, 5353, query)), kInside);
  ASSERT_TRUE(answer);
  const ParsedPacket answered = parsed(*answer);
  EXPECT_TRUE(answered.src == kApplianceInside);
  EXPECT_TRUE(test::ip_checksums_ok(*answer, answered.l3_offset, answered.l3_end));
  // Other traffic to the inside address is local; an answer from elsewhere keeps its source.
  EXPECT_FALSE(arrive(kInside, frame(kInsideMac, kClientMac, udp(kClient, 5353, kApplianceInside, 54, query))));
  const auto other = route(kOutside, frame(kOutsideMac, kGatewayMac, udp(kAttacker, 53, kClient, 5353, query)), kInside);
  ASSERT_TRUE(other);
  EXPECT_TRUE(parsed(*other).src == kAttacker);
}

}  // namespace
}  // namespace sluice

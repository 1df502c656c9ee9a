// Records of routed mode with source NAT, on the real packet path (processor, then the router
// with a SNAT table): a flow that leaves by a snat route is recorded with the workload's source
// and the SNAT address and port it left with — when judged on its name after its SYN left, and
// when allowed at its first packet (the translation is made at the verdict); a flow SNAT cannot
// translate is refused at its verdict with a record of its own reason and its original
// source; an untranslated route and bridge mode leave the translated fields out.
#include <gtest/gtest.h>

#include <rte_mbuf.h>

#include "dataplane/worker/stage/route.h"
#include "tests/unit/frame_builder.h"
#include "tests/unit/worker_fixture.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPshAck = 0x18;
constexpr uint8_t kInside = 0;
constexpr uint8_t kOutside = 1;
const IpAddress kSnat = *parse_ip("198.19.200.5");
const IpAddress kGateway = *parse_ip("198.19.200.1");

class TranslatedRecordsTest : public test::WorkerFixture {
 protected:
  void SetUp() override {
    WorkerFixture::SetUp();
    RoutedPort inside;
    inside.mac = *parse_mac("02:00:00:00:00:02");
    inside.addresses = {{*parse_ip("198.18.0.1"), 16}};
    RoutedPort outside;
    outside.mac = *parse_mac("02:00:00:00:00:01");
    outside.addresses = {{*parse_ip("198.19.200.2"), 24}, {kSnat, 24}};
    RouteEntry internet;  // the test policy's servers (198.19.0.0/24) are beyond it
    internet.prefix = *parse_ip("0.0.0.0");
    internet.via = kGateway;
    internet.port = kOutside;
    internet.snat = true;
    tables_.add_route(internet);
    RouteEntry private_link;  // not translated
    private_link.prefix = *parse_ip("198.19.100.0");
    private_link.prefix_length = 24;
    private_link.via = kGateway;
    private_link.port = kOutside;
    tables_.add_route(private_link);
    tables_.set_port(kInside, inside);
    tables_.set_port(kOutside, outside);
    tables_.seal();
    neighbours_.add(kOutside, kGateway, *parse_mac("02:00:00:00:00:20"));
    neighbours_.seal();
    tables_slot_.store(&tables_);
    neighbours_slot_.store(&neighbours_);
  }

  // The router with SNAT on `first`..`last` of kSnat, its translation given to the processor.
  void start_router(uint16_t first = 20000, uint16_t last = 20999) {
    SnatTableSettings settings;
    settings.capacity = 32;
    settings.addresses = {kSnat};
    settings.ports = {first, last};
    settings.quarantine_ticks = 1000;
    settings.hash_seed = 7;
    ASSERT_TRUE(nat_.table.init(settings));
    nat_.snat = true;
    nat_.idle = {~0ull / 4, ~0ull / 4, ~0ull / 4};
    RouterSetup setup;
    setup.tables = &tables_slot_;
    setup.neighbours = &neighbours_slot_;
    setup.reply_pool = pool_;
    setup.counters = counters_.get();
    setup.nat = &nat_;
    router_ = std::make_unique<Router>(setup, rte_get_tsc_hz());
    ASSERT_TRUE(router_->begin(1));
    processor_->set_source_translation(&router_->source_translation());
  }

  void TearDown() override {
    drain_routed();
    WorkerFixture::TearDown();
  }

  // The burst the processor forwarded, routed; the frames that left by OUTSIDE, parsed.
  std::vector<ParsedPacket> route_forwarded() {
    router_->after(kInside, out_);
    std::vector<ParsedPacket> left;
    RoutedOutput& output = router_->output();
    for (uint16_t i = 0; i < output.count[kOutside]; ++i) {
      rte_mbuf* frame = output.frames[kOutside][i];
      ParsedPacket packet;
      EXPECT_EQ(parse_packet({rte_pktmbuf_mtod(frame, const uint8_t*), frame->data_len}, packet),
                PacketParseError::none);
      left.push_back(packet);
    }
    drain_routed();
    return left;
  }

  void drain_routed() {
    if (!router_) return;
    RoutedOutput& output = router_->output();
    for (int port = 0; port < kMaxRoutedPorts; ++port) {
      for (uint16_t i = 0; i < output.count[port]; ++i) rte_pktmbuf_free(output.frames[port][i]);
      output.count[port] = 0;
    }
  }

  static Bytes syn(const char* src, uint16_t src_port, const char* dst, uint16_t dst_port) {
    return test::tcp4_frame(
        Tcp4{.src = src, .dst = dst, .src_port = src_port, .dst_port = dst_port, .flags = kSyn, .seq = 999, .ack = 0});
  }
  static Bytes hello(const char* src, uint16_t src_port, const char* dst, const std::string& sni) {
    return test::tcp4_frame(Tcp4{.src = src,
                                 .dst = dst,
                                 .src_port = src_port,
                                 .dst_port = 443,
                                 .flags = kPshAck,
                                 .seq = 1000,
                                 .payload = test::client_hello(sni)});
  }

  RoutingTables tables_;
  NeighbourTable neighbours_;
  std::atomic<const RoutingTables*> tables_slot_{nullptr};
  std::atomic<const NeighbourTable*> neighbours_slot_{nullptr};
  NatState nat_;
  std::unique_ptr<Router> router_;
};

class TranslatedFlowLogTest : public TranslatedRecordsTest {
 protected:
  TranslatedFlowLogTest() { emit_allowed_ = true; }
};

TEST_F(TranslatedRecordsTest, ASniDeniedFlowWhoseSynLeftIsRecordedWithItsSnatSource) {
  start_router();
  burst(Side::inside, {syn("198.18.1.10", 40000, "198.19.0.80", 443)});
  const auto left = route_forwarded();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_TRUE(left[0].src == kSnat);
  EXPECT_TRUE(events().empty());  // pending: judged on its ClientHello

  burst(Side::inside, {hello("198.18.1.10", 40000, "198.19.0.80", "exfil.example.net")});
  EXPECT_EQ(out_.forward_count, 0);
  const auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::domain_not_allowed);
  EXPECT_EQ(format_ip(recorded[0].src), "198.18.1.10");  // the workload behind the NAT
  EXPECT_EQ(recorded[0].src_port, 40000);
  EXPECT_TRUE(recorded[0].translated_src == kSnat);
  EXPECT_EQ(recorded[0].translated_src_port, left[0].src_port);  // the port its SYN left with
}

TEST_F(TranslatedFlowLogTest, AFlowAllowedAtItsFirstPacketIsLoggedWithTheSourceItLeavesWith) {
  start_router();
  burst(Side::inside, {syn("198.18.1.10", 40001, "198.19.0.80", 5432)});  // an allowed network
  const auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::allowed);
  EXPECT_EQ(format_ip(recorded[0].src), "198.18.1.10");
  EXPECT_EQ(recorded[0].src_port, 40001);
  const auto left = route_forwarded();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_TRUE(recorded[0].translated_src == kSnat);
  EXPECT_TRUE(left[0].src == kSnat);
  EXPECT_EQ(recorded[0].translated_src_port, left[0].src_port);
  EXPECT_EQ(read(counters_->snat_translations_active), 1u);  // made once, at the verdict
}

TEST_F(TranslatedFlowLogTest, AnUntranslatedRouteLeavesTheFieldsOut) {
  start_router();
  burst(Side::inside, {syn("198.18.4.10", 40002, "198.19.100.7", 443),    // FULL access: allowed
                       syn("198.18.1.10", 40003, "198.19.100.8", 22)});   // denied by IP
  const auto recorded = events();
  ASSERT_EQ(recorded.size(), 2u);
  for (const FlowEvent& event : recorded) EXPECT_EQ(event.translated_src.family, 0);
  EXPECT_EQ(recorded[1].reason, Reason::ip_not_allowed);
  const auto left = route_forwarded();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(format_ip(left[0].src), "198.18.4.10");
  EXPECT_EQ(read(counters_->snat_translations_active), 0u);
}

TEST_F(TranslatedRecordsTest, AFlowSnatCannotTranslateIsRefusedWithItsOwnReasonAndSource) {
  start_router(20000, 20000);  // one port toward each server
  burst(Side::inside, {syn("198.18.1.10", 40000, "198.19.0.80", 5432)});
  ASSERT_EQ(route_forwarded().size(), 1u);
  EXPECT_TRUE(events().empty());  // allowed, no flow log

  // The same server again: no port is left toward it. Under DRY_RUN too the flow cannot leave.
  burst(Side::inside, {syn("198.18.1.10", 40001, "198.19.0.80", 5432), syn("198.18.2.10", 40002, "198.19.0.80", 5432)});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(out_.reply_count, 2);  // each client told at once (a reset)
  EXPECT_EQ(dropped(Reason::snat_ports_exhausted), 2u);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_EQ(recorded[0].reason, Reason::snat_ports_exhausted);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(format_ip(recorded[0].src), "198.18.1.10");
  EXPECT_EQ(recorded[0].src_port, 40001);
  EXPECT_EQ(recorded[0].translated_src.family, 0);  // it left with nothing
  EXPECT_EQ(recorded[1].verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(format_ip(recorded[1].src), "198.18.2.10");
  EXPECT_EQ(read(counters_->flow_verdicts[static_cast<int>(Reason::snat_ports_exhausted)]), 2u);

  // Control: another server still gets the port.
  burst(Side::inside, {syn("198.18.1.10", 40003, "198.19.0.81", 5432)});
  ASSERT_EQ(route_forwarded().size(), 1u);
}

TEST_F(TranslatedRecordsTest, BridgeModeRecordsCarryNoTranslatedSource) {
  // No router: the processor alone, as in bridge mode.
  burst(Side::inside, {syn("198.18.1.10", 40000, "198.19.0.80", 443)});
  ASSERT_EQ(out_.forward_count, 1);
  burst(Side::inside, {hello("198.18.1.10", 40000, "198.19.0.80", "exfil.example.net")});
  const auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::domain_not_allowed);
  EXPECT_EQ(recorded[0].translated_src.family, 0);
  EXPECT_EQ(recorded[0].translated_src_port, 0);
}

}  // namespace
}  // namespace sluice

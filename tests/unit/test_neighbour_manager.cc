// The control thread's neighbour resolution (controlplane/daemon/neighbour_manager.h), driven by
// a fake clock: every call gets its time, nothing sleeps. Frames sent are read back with the
// packet path's own readers; tables published are searched as workers search them.
#include "controlplane/daemon/neighbour_manager.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "controlplane/config/routing_config.h"
#include "controlplane/daemon/neighbour_settings.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/route/arp.h"
#include "dataplane/route/neighbour_discovery.h"

namespace sluice {
namespace {

constexpr uint8_t kInside = 0;
constexpr uint8_t kOutside = 1;

IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.family = 4;
  address.bytes[0] = a, address.bytes[1] = b, address.bytes[2] = c, address.bytes[3] = d;
  return address;
}

IpAddress v6(uint16_t group3, uint8_t last) {  // 2001:db8:<group3>::<last>
  IpAddress address;
  address.family = 6;
  address.bytes[0] = 0x20, address.bytes[1] = 0x01, address.bytes[2] = 0x0d, address.bytes[3] = 0xb8;
  address.bytes[4] = uint8_t(group3 >> 8), address.bytes[5] = uint8_t(group3);
  address.bytes[15] = last;
  return address;
}

MacAddress mac(uint8_t last) { return MacAddress{{0x02, 0, 0, 0, 0, last}}; }

struct SentFrame {
  uint8_t side;
  std::vector<uint8_t> bytes;
};

// Inside 198.18.0.1/24 and 2001:db8:1::1/64; outside 198.18.1.1/24 and 2001:db8:2::1/64.
struct Rig {
  std::vector<SentFrame> sent;
  std::vector<std::unique_ptr<NeighbourTable>> tables;
  NeighbourManager manager;

  explicit Rig(NeighbourSettings settings = base_settings())
      : manager(std::move(settings),
                [this](uint8_t side, std::span<const uint8_t> frame) {
                  sent.push_back({side, std::vector<uint8_t>(frame.begin(), frame.end())});
                },
                [this](std::unique_ptr<NeighbourTable> table) { tables.push_back(std::move(table)); }) {}

  static NeighbourSettings base_settings() {
    NeighbourSettings settings;
    settings.ports.push_back({kInside, mac(0xa0), {{v4(198, 18, 0, 1), 24}, {v6(1, 1), 64}}});
    settings.ports.push_back({kOutside, mac(0xb0), {{v4(198, 18, 1, 1), 24}, {v6(2, 1), 64}}});
    settings.reachable_ms = 300'000;
    settings.retry_ms = 1'000;
    settings.max_requests = 3;
    return settings;
  }

  // The MAC the latest published table gives, or nullopt.
  std::optional<MacAddress> find(uint8_t side, const IpAddress& address) const {
    if (tables.empty()) return std::nullopt;
    MacAddress found;
    if (!tables.back()->find(side, address, found)) return std::nullopt;
    return found;
  }
};

// What a sent frame asks for: the ARP target address or the NS target.
struct Request {
  bool ok = false;
  bool arp = false;
  IpAddress source, target;
  MacAddress from;
};

Request read_request(const SentFrame& frame) {
  Request request;
  ParsedPacket packet;
  if (parse_packet(frame.bytes, packet) != PacketParseError::none) return request;
  ArpMessage arp;
  if (read_arp(frame.bytes, packet, arp) == ArpCheck::ok && arp.operation == kArpRequest) {
    request = {true, true, arp.sender_ip, arp.target_ip, arp.sender_mac};
    return request;
  }
  NdMessage nd;
  if (read_nd(frame.bytes, packet, nd) == NdCheck::ok && nd.type == kNeighbourSolicitation)
    request = {true, false, nd.source, nd.target, nd.link_address};
  return request;
}

TEST(NeighbourManager, StartPublishesStaticNeighboursAndAnnouncesEveryOwnAddress) {
  auto settings = Rig::base_settings();
  settings.static_neighbours.push_back({kOutside, v4(198, 18, 1, 254), mac(0xfe), false});
  Rig rig(settings);
  rig.manager.start(0);
  ASSERT_EQ(rig.tables.size(), 1u);
  EXPECT_EQ(rig.find(kOutside, v4(198, 18, 1, 254)), mac(0xfe));
  EXPECT_FALSE(rig.find(kInside, v4(198, 18, 1, 254)));
  ASSERT_EQ(rig.sent.size(), 4u);  // two addresses a port
  int arp = 0, na = 0;
  for (const SentFrame& frame : rig.sent) {
    ParsedPacket packet;
    ASSERT_EQ(parse_packet(frame.bytes, packet), PacketParseError::none);
    ArpMessage gratuitous;
    NdMessage advertisement;
    if (read_arp(frame.bytes, packet, gratuitous) == ArpCheck::ok) {
      ++arp;
      EXPECT_EQ(gratuitous.sender_ip, gratuitous.target_ip);
      EXPECT_EQ(gratuitous.sender_mac, frame.side == kInside ? mac(0xa0) : mac(0xb0));
    } else {
      ASSERT_EQ(read_nd(frame.bytes, packet, advertisement), NdCheck::ok);
      ++na;
      EXPECT_EQ(advertisement.type, kNeighbourAdvertisement);
      EXPECT_FALSE(advertisement.solicited);
      EXPECT_EQ(advertisement.target, frame.side == kInside ? v6(1, 1) : v6(2, 1));
    }
  }
  EXPECT_EQ(arp, 2);
  EXPECT_EQ(na, 2);
  EXPECT_EQ(rig.manager.stats().announcements_sent, 4u);
}

TEST(NeighbourManager, AnyAddressStaticNeighbourAnswersEveryAddressOfThePort) {
  // Azure: the platform answers for every address of the subnet with one MAC.
  auto settings = Rig::base_settings();
  settings.static_neighbours.push_back({kOutside, v4(0, 0, 0, 0), MacAddress{{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}}, true});
  Rig rig(settings);
  rig.manager.start(0);
  const MacAddress azure{{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}};
  EXPECT_EQ(rig.find(kOutside, v4(198, 18, 1, 1 + 0)), azure);
  EXPECT_EQ(rig.find(kOutside, v4(198, 18, 1, 77)), azure);
  EXPECT_FALSE(rig.find(kOutside, v6(2, 77)));  // IPv6 is resolved
  EXPECT_FALSE(rig.find(kInside, v4(198, 18, 0, 77)));
  const size_t sent = rig.sent.size();
  rig.manager.wanted(kOutside, v4(198, 18, 1, 77), 10);  // never resolved: the fallback answers
  EXPECT_EQ(rig.sent.size(), sent);
  EXPECT_EQ(rig.manager.state(kOutside, v4(198, 18, 1, 77)), NeighbourState::absent);
}

TEST(NeighbourManager, AMissSendsARequestAndTheAnswerIsPublished) {
  Rig rig;
  rig.manager.start(0);
  rig.sent.clear();
  rig.manager.wanted(kOutside, v4(198, 18, 1, 254), 100);
  ASSERT_EQ(rig.sent.size(), 1u);
  const Request request = read_request(rig.sent[0]);
  ASSERT_TRUE(request.ok);
  EXPECT_TRUE(request.arp);
  EXPECT_EQ(rig.sent[0].side, kOutside);
  EXPECT_EQ(request.source, v4(198, 18, 1, 1));
  EXPECT_EQ(request.target, v4(198, 18, 1, 254));
  EXPECT_EQ(request.from, mac(0xb0));
  EXPECT_EQ(rig.manager.state(kOutside, v4(198, 18, 1, 254)), NeighbourState::resolving);
  EXPECT_FALSE(rig.find(kOutside, v4(198, 18, 1, 254)));

  rig.manager.wanted(kOutside, v4(198, 18, 1, 254), 200);  // more misses: no second request yet
  EXPECT_EQ(rig.sent.size(), 1u);

  rig.manager.observed(kOutside, v4(198, 18, 1, 254), mac(0xfe), 300);
  EXPECT_EQ(rig.manager.state(kOutside, v4(198, 18, 1, 254)), NeighbourState::reachable);
  EXPECT_EQ(rig.find(kOutside, v4(198, 18, 1, 254)), mac(0xfe));
  EXPECT_EQ(rig.manager.stats().resolved, 1u);
}

TEST(NeighbourManager, Ipv6MissSendsASolicitationFromTheConnectedAddress) {
  auto settings = Rig::base_settings();
  settings.ports[0].addresses.push_back({v6(9, 1), 64});  // a second IPv6 prefix inside
  Rig rig(settings);
  rig.manager.start(0);
  rig.sent.clear();
  rig.manager.wanted(kInside, v6(9, 0x33), 5);
  ASSERT_EQ(rig.sent.size(), 1u);
  const Request request = read_request(rig.sent[0]);
  ASSERT_TRUE(request.ok);
  EXPECT_FALSE(request.arp);
  EXPECT_EQ(request.source, v6(9, 1));
  EXPECT_EQ(request.target, v6(9, 0x33));
  EXPECT_EQ(request.from, mac(0xa0));
  rig.manager.observed(kInside, v6(9, 0x33), mac(0x33), 6);
  EXPECT_EQ(rig.find(kInside, v6(9, 0x33)), mac(0x33));
}

TEST(NeighbourManager, UnansweredRequestsAreRetriedThenGivenUp) {
  Rig rig;
  rig.manager.start(0);
  rig.sent.clear();
  rig.manager.wanted(kOutside, v4(198, 18, 1, 9), 0);
  rig.manager.tick(999);
  EXPECT_EQ(rig.sent.size(), 1u);  // not due yet
  rig.manager.tick(1000);
  EXPECT_EQ(rig.sent.size(), 2u);
  rig.manager.tick(2000);
  EXPECT_EQ(rig.sent.size(), 3u);
  EXPECT_EQ(rig.manager.state(kOutside, v4(198, 18, 1, 9)), NeighbourState::resolving);
  rig.manager.tick(3000);  // the third went unanswered: given up
  EXPECT_EQ(rig.sent.size(), 3u);
  EXPECT_EQ(rig.manager.state(kOutside, v4(198, 18, 1, 9)), NeighbourState::absent);
  EXPECT_EQ(rig.manager.stats().failed, 1u);
  for (const SentFrame& frame : rig.sent) EXPECT_EQ(read_request(frame).target, v4(198, 18, 1, 9));
  rig.manager.wanted(kOutside, v4(198, 18, 1, 9), 3001);  // a new miss starts again
  EXPECT_EQ(rig.sent.size(), 4u);
}

TEST(NeighbourManager, ReachableEntryIsRefreshedAndKeptWhileItAnswers) {
  Rig rig;
  rig.manager.start(0);
  rig.manager.wanted(kOutside, v4(198, 18, 1, 254), 0);
  rig.manager.observed(kOutside, v4(198, 18, 1, 254), mac(0xfe), 10);
  rig.sent.clear();
  const size_t tables = rig.tables.size();
  rig.manager.tick(300'009);
  EXPECT_TRUE(rig.sent.empty());
  rig.manager.tick(300'010);
  ASSERT_EQ(rig.sent.size(), 1u);
  EXPECT_EQ(read_request(rig.sent[0]).target, v4(198, 18, 1, 254));
  EXPECT_EQ(rig.manager.state(kOutside, v4(198, 18, 1, 254)), NeighbourState::refreshing);
  EXPECT_EQ(rig.find(kOutside, v4(198, 18, 1, 254)), mac(0xfe));  // still used meanwhile
  rig.manager.observed(kOutside, v4(198, 18, 1, 254), mac(0xfe), 300'500);
  EXPECT_EQ(rig.manager.state(kOutside, v4(198, 18, 1, 254)), NeighbourState::reachable);
  EXPECT_EQ(rig.tables.size(), tables);  // nothing changed for the workers: no new table
}

TEST(NeighbourManager, EntryThatStopsAnsweringIsRemovedFromTheTable) {
  Rig rig;
  rig.manager.start(0);
  rig.manager.wanted(kOutside, v4(198, 18, 1, 254), 0);
  rig.manager.observed(kOutside, v4(198, 18, 1, 254), mac(0xfe), 0);
  for (uint64_t t = 300'000; t <= 303'000; t += 1'000) rig.manager.tick(t);
  EXPECT_EQ(rig.manager.state(kOutside, v4(198, 18, 1, 254)), NeighbourState::absent);
  EXPECT_FALSE(rig.find(kOutside, v4(198, 18, 1, 254)));
  EXPECT_EQ(rig.manager.stats().expired, 1u);
}

TEST(NeighbourManager, ChangedMacIsPublished) {
  Rig rig;
  rig.manager.start(0);
  rig.manager.observed(kInside, v4(198, 18, 0, 50), mac(0x50), 0);
  EXPECT_EQ(rig.find(kInside, v4(198, 18, 0, 50)), mac(0x50));
  rig.manager.observed(kInside, v4(198, 18, 0, 50), mac(0x51), 1);
  EXPECT_EQ(rig.find(kInside, v4(198, 18, 0, 50)), mac(0x51));
  EXPECT_EQ(rig.manager.stats().mac_changes, 1u);
}

TEST(NeighbourManager, ObservationsCannotOverrideStaticOrOwnAddressesOrLeaveTheirSide) {
  auto settings = Rig::base_settings();
  settings.static_neighbours.push_back({kOutside, v4(198, 18, 1, 254), mac(0xfe), false});
  Rig rig(settings);
  rig.manager.start(0);
  rig.manager.observed(kOutside, v4(198, 18, 1, 254), mac(0x66), 0);  // a lie about the gateway
  rig.manager.observed(kInside, v4(198, 18, 0, 1), mac(0x66), 0);     // the appliance's own address
  rig.manager.observed(kInside, v4(198, 18, 1, 254), mac(0x66), 0);   // an outside address, inside
  EXPECT_EQ(rig.find(kOutside, v4(198, 18, 1, 254)), mac(0xfe));
  EXPECT_FALSE(rig.find(kInside, v4(198, 18, 0, 1)));
  EXPECT_FALSE(rig.find(kInside, v4(198, 18, 1, 254)));
  EXPECT_EQ(rig.manager.stats().ignored_static, 2u);
  EXPECT_EQ(rig.manager.stats().refused_not_connected, 1u);
}

TEST(NeighbourManager, MissOutsideTheConnectedPrefixesIsRefused) {
  Rig rig;
  rig.manager.start(0);
  rig.sent.clear();
  rig.manager.wanted(kOutside, v4(198, 19, 0, 9), 0);
  EXPECT_TRUE(rig.sent.empty());
  EXPECT_EQ(rig.manager.stats().refused_not_connected, 1u);
}

TEST(NeighbourManager, FamilyWithoutAnOwnAddressOnThePortIsNotConnected) {
  auto settings = Rig::base_settings();
  settings.ports[0].addresses = {{v6(1, 1), 64}};  // inside: IPv6 only
  Rig rig(settings);
  rig.manager.start(0);
  rig.sent.clear();
  rig.manager.wanted(kInside, v4(198, 18, 0, 9), 0);
  EXPECT_TRUE(rig.sent.empty());
  EXPECT_EQ(rig.manager.stats().refused_not_connected, 1u);
}

TEST(NeighbourManager, FloodOfObservationsCannotCrowdOutNextHops) {
  auto settings = Rig::base_settings();
  settings.ports[0].addresses = {{v4(198, 18, 0, 1), 16}};
  settings.capacity = 8;
  Rig rig(settings);
  rig.manager.start(0);
  for (uint8_t i = 10; i < 30; ++i) rig.manager.observed(kInside, v4(198, 18, 0, i), mac(i), i);
  EXPECT_EQ(rig.manager.stats().reachable, 4u);  // half the capacity
  EXPECT_EQ(rig.manager.stats().refused_full, 16u);
  // Misses fill the rest, then take the place of observed entries.
  for (uint8_t i = 100; i < 108; ++i) rig.manager.wanted(kInside, v4(198, 18, 1, i), 100);
  EXPECT_EQ(rig.manager.stats().resolving, 8u);
  EXPECT_EQ(rig.manager.stats().reachable, 0u);
  rig.manager.wanted(kInside, v4(198, 18, 1, 200), 100);  // full of misses: refused
  EXPECT_EQ(rig.manager.state(kInside, v4(198, 18, 1, 200)), NeighbourState::absent);
  EXPECT_EQ(rig.manager.stats().refused_full, 17u);
}

TEST(NeighbourManager, UnsolicitedObservationIsUsableAtOnce) {
  // A client that ARPs for the appliance is known before its answer traffic misses.
  Rig rig;
  rig.manager.start(0);
  rig.manager.observed(kInside, v4(198, 18, 0, 10), mac(0x10), 0);
  EXPECT_EQ(rig.find(kInside, v4(198, 18, 0, 10)), mac(0x10));
  EXPECT_EQ(rig.manager.state(kInside, v4(198, 18, 0, 10)), NeighbourState::reachable);
}

TEST(NeighbourSettings, FromTheConfigsPortsStaticNeighboursAndTimers) {
  config::ApplianceConfig config;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"(
    ports { role: INSIDE addresses: "198.18.0.1/24" addresses: "2001:db8:1::1/64" }
    ports { role: OUTSIDE addresses: "198.18.1.1/30" }
    routing {
      mode: ROUTED
      static_neighbours { address: "198.18.1.2" mac: "02:00:00:00:00:fe" port: OUTSIDE }
      static_neighbours { address: "0.0.0.0" mac: "12:34:56:78:9a:bc" port: OUTSIDE }
      neighbour_timers { reachable_seconds: 30 retry_ms: 250 }
    })", &config));
  const MacAddress macs[2] = {mac(0xa0), mac(0xb0)};
  const auto tables = build_routing_tables(config, macs);
  const NeighbourSettings settings = neighbour_settings(*tables, config);
  ASSERT_EQ(settings.ports.size(), 2u);
  EXPECT_EQ(settings.ports[0].side, kInside);
  EXPECT_EQ(settings.ports[0].mac, mac(0xa0));
  ASSERT_EQ(settings.ports[0].addresses.size(), 2u);
  EXPECT_EQ(settings.ports[0].addresses[0].address, v4(198, 18, 0, 1));
  EXPECT_EQ(settings.ports[0].addresses[0].prefix_length, 24);
  EXPECT_EQ(settings.ports[0].addresses[1].address, v6(1, 1));
  EXPECT_EQ(settings.ports[0].addresses[1].prefix_length, 64);
  EXPECT_EQ(settings.ports[1].side, kOutside);
  EXPECT_EQ(settings.ports[1].addresses[0].prefix_length, 30);
  ASSERT_EQ(settings.static_neighbours.size(), 2u);
  EXPECT_FALSE(settings.static_neighbours[0].any_address);
  EXPECT_EQ(settings.static_neighbours[0].address, v4(198, 18, 1, 2));
  EXPECT_TRUE(settings.static_neighbours[1].any_address);
  EXPECT_EQ(settings.static_neighbours[1].address.family, 4);
  EXPECT_EQ(settings.reachable_ms, 30'000u);
  EXPECT_EQ(settings.retry_ms, 250u);
}

}  // namespace
}  // namespace sluice

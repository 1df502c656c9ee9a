// Routed mode's config: what the loader refuses (FILE:LINE: field) and the tables built from it.
#include "controlplane/config/routing_config.h"

#include <gtest/gtest.h>

#include <string>

#include "controlplane/config/config_loader.h"
#include "controlplane/policy/cidr.h"
#include "tests/unit/policy_error_expectations.h"

namespace sluice {
namespace {

const std::string kFile = "appliance.textproto";

using test::all_errors;
using test::Expected;

LoadedConfig load(const std::string& text) { return load_config_text(text, kFile); }
void expect_errors(const PolicyErrors& errors, const std::vector<Expected>& expected) {
  test::expect_errors(errors, expected, kFile);
}
IpAddress ip(const char* text) { return *parse_ip(text); }

// A valid hub: line numbers matter to the tests that edit it.
const std::string kHub = R"(ports { device: "a" role: INSIDE addresses: "198.18.0.1/24" addresses: "2001:db8::1/64" }
ports { device: "b" role: OUTSIDE addresses: "198.19.0.2/24" mtu: 9000 }
routing {
  mode: ROUTED snat { addresses: "198.19.0.2" }
  routes { prefix: "0.0.0.0/0" via: "198.19.0.1" port: OUTSIDE snat: true }
  routes { prefix: "198.18.8.0/22" via: "198.18.0.254" port: INSIDE }
  static_neighbours { address: "198.19.0.1" mac: "12:34:56:78:9a:bc" port: OUTSIDE }
}
)";

TEST(RoutingConfig, AValidHubLoads) {
  const LoadedConfig loaded = load(kHub);
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded.errors);
  EXPECT_TRUE(is_routed(loaded.config));
  const MacAddress macs[2] = {*parse_mac("02:00:00:00:00:01"), *parse_mac("02:00:00:00:00:02")};
  const auto tables = build_routing_tables(loaded.config, macs);
  EXPECT_EQ(tables->port(1).mtu, 9000u);
  EXPECT_EQ(tables->port(0).mtu, 1500u);  // the default
  EXPECT_EQ(tables->port(1).mac, macs[1]);
  EXPECT_EQ(tables->owner_of(ip("2001:db8::1")), 0);
  const RouteResult internet = tables->lookup(ip("198.51.100.7"));
  ASSERT_NE(internet.route, nullptr);
  EXPECT_TRUE(internet.route->snat);
  EXPECT_EQ(internet.next_hop, ip("198.19.0.1"));
  EXPECT_EQ(tables->lookup(ip("198.18.9.1")).next_hop, ip("198.18.0.254"));
  EXPECT_EQ(tables->lookup(ip("2001:db8::7")).next_hop, ip("2001:db8::7"));
  const auto neighbours = build_static_neighbours(loaded.config);
  MacAddress mac;
  ASSERT_TRUE(neighbours->find(1, ip("198.19.0.1"), mac));
  EXPECT_EQ(format_mac(mac), "12:34:56:78:9a:bc");
  EXPECT_FALSE(neighbours->find(0, ip("198.19.0.1"), mac));
}

TEST(RoutingConfig, JumboMtusGetBuffersThatHoldTheirFramesWhole) {
  LoadedConfig loaded = load(kHub);  // a 9000-byte MTU on the outside port
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded.errors);
  EXPECT_EQ(routed_frame_room(loaded.config), 9216u);  // 9000 + 18, rounded up to 1 KiB
  loaded.config.mutable_ports(1)->set_mtu(2030);         // 2048 with Ethernet and a VLAN tag
  EXPECT_EQ(routed_frame_room(loaded.config), 0u);
  loaded.config.mutable_ports(1)->set_mtu(2031);
  EXPECT_EQ(routed_frame_room(loaded.config), 3072u);
  loaded.config.mutable_routing()->set_mode(config::Routing::BRIDGE);
  EXPECT_EQ(routed_frame_room(loaded.config), 0u);
}

TEST(RoutingConfig, BridgeModeRefusesRoutedFields) {
  expect_errors(load(R"(ports { device: "a" role: INSIDE addresses: "198.18.0.1/24" }
ports { device: "b" role: OUTSIDE }
routing {
  routes { prefix: "0.0.0.0/0" via: "198.19.0.1" port: OUTSIDE }
  static_neighbours { address: "198.19.0.1" mac: "12:34:56:78:9a:bc" port: OUTSIDE }
}
)").errors,
                {{1, "ports[0].addresses", "routed mode's"},
                 {4, "routing.routes", "routed mode's"},
                 {5, "routing.static_neighbours", "routed mode's"}});
}

TEST(RoutingConfig, BridgeModeIsUnchangedWithoutRoutedFields) {
  const LoadedConfig loaded = load("ports { device: \"a\" role: INSIDE }\nports { device: \"b\" role: OUTSIDE }\n");
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded.errors);
  EXPECT_FALSE(is_routed(loaded.config));
}

TEST(RoutingConfig, PortAddressesAndMtu) {
  expect_errors(load(R"(ports { device: "a" role: INSIDE addresses: "198.18.0.1" addresses: "198.18.0.0/24"
  addresses: "224.0.0.1/4" addresses: "198.18.0.1/33" addresses: "nonsense/24" addresses: "2001:db8::1/64" mtu: 1000 }
ports { device: "b" role: OUTSIDE addresses: "2001:db8::1/64" }
routing { mode: ROUTED }
)").errors,
                {{1, "ports[0].addresses[0]", "needs its prefix length"},
                 {1, "ports[0].addresses[1]", "network address"},
                 {2, "ports[0].addresses[2]", "not a unicast address"},
                 {2, "ports[0].addresses[3]", "not a prefix length"},
                 {2, "ports[0].addresses[4]", "not an IP address"},
                 {2, "ports[0].mtu", "below 1280"},
                 {3, "ports[1].addresses[0]", "is also ports[0].addresses[5]"}});
}

TEST(RoutingConfig, EveryPortNeedsAnAddressAndPrefixesMustNotOverlap) {
  expect_errors(load(R"(ports { device: "a" role: INSIDE }
ports { device: "b" role: OUTSIDE addresses: "198.19.0.2/24" }
routing { mode: ROUTED }
)").errors,
                {{1, "ports[0].addresses", "at least one address"}});
  const PolicyErrors overlap = load(R"(ports { device: "a" role: INSIDE addresses: "198.18.0.1/16" }
ports { device: "b" role: OUTSIDE addresses: "198.18.5.2/24" }
routing { mode: ROUTED }
)").errors;
  ASSERT_EQ(overlap.size(), 1u) << all_errors(overlap);
  EXPECT_EQ(overlap[0].field, "ports");
  EXPECT_NE(overlap[0].message.find("overlap"), std::string::npos);
}

TEST(RoutingConfig, Routes) {
  expect_errors(load(R"(ports { device: "a" role: INSIDE addresses: "198.18.0.1/24" }
ports { device: "b" role: OUTSIDE addresses: "198.19.0.2/24" }
routing {
  mode: ROUTED
  routes { prefix: "198.18.8.1/22" via: "198.18.0.254" port: INSIDE }
  routes { prefix: "0.0.0.0/0" via: "198.19.0.1" }
  routes { prefix: "0.0.0.0/0" via: "198.18.0.9" port: OUTSIDE }
  routes { prefix: "::/0" via: "198.19.0.1" port: OUTSIDE }
  routes { prefix: "198.18.12.0/22" via: "198.18.0.1" port: INSIDE }
  routes { prefix: "198.18.16.0/22" port: INSIDE }
  routes { prefix: "198.18.20.0/22" via: "x" port: INSIDE }
}
)").errors,
                {{5, "routing.routes[0].prefix", "host bits"},
                 {6, "routing.routes[1].port", "missing port"},
                 {7, "routing.routes[2].prefix", "is also routing.routes[1].prefix"},
                 {7, "routing.routes[2].via", "no connected prefix of the OUTSIDE port"},
                 {8, "routing.routes[3].via", "not of the prefix's family"},
                 {9, "routing.routes[4].via", "own addresses"},
                 {10, "routing.routes[5].via", "missing next hop"},
                 {11, "routing.routes[6].via", "not an IP address"}});
}

TEST(RoutingConfig, StaticNeighbours) {
  expect_errors(load(R"(ports { device: "a" role: INSIDE addresses: "198.18.0.1/24" }
ports { device: "b" role: OUTSIDE addresses: "198.19.0.2/24" }
routing {
  mode: ROUTED
  static_neighbours { address: "198.19.0.1" mac: "12:34:56:78:9a:bc" port: OUTSIDE }
  static_neighbours { address: "198.19.0.1" mac: "12:34:56:78:9a:bd" port: OUTSIDE }
  static_neighbours { address: "198.19.0.3" mac: "ff:ff:ff:ff:ff:ff" port: OUTSIDE }
  static_neighbours { address: "198.19.0.4" mac: "12:34" port: OUTSIDE }
  static_neighbours { address: "198.20.0.1" mac: "12:34:56:78:9a:bc" port: OUTSIDE }
  static_neighbours { address: "198.19.0.5" mac: "12:34:56:78:9a:bc" }
  static_neighbours { address: "nope" mac: "12:34:56:78:9a:bc" port: INSIDE }
}
)").errors,
                {{6, "routing.static_neighbours[1].address", "is also routing.static_neighbours[0].address"},
                 {7, "routing.static_neighbours[2].mac", "not a unicast MAC"},
                 {8, "routing.static_neighbours[3].mac", "not a MAC address"},
                 {9, "routing.static_neighbours[4].address", "no connected prefix"},
                 {10, "routing.static_neighbours[5].port", "missing port"},
                 {11, "routing.static_neighbours[6].address", "not an IP address"}});
}

TEST(RoutingConfig, UnspecifiedStaticNeighbourIsEveryAddressOfThePort) {
  // Azure: the platform answers ARP for the gateway and every other address with one MAC.
  const LoadedConfig loaded = load(R"(ports { device: "a" role: INSIDE addresses: "198.18.0.1/24" }
ports { device: "b" role: OUTSIDE addresses: "198.19.0.2/24" }
routing {
  mode: ROUTED
  static_neighbours { address: "0.0.0.0" mac: "12:34:56:78:9a:bc" port: OUTSIDE }
}
)");
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded.errors);
  const auto neighbours = build_static_neighbours(loaded.config);
  MacAddress mac;
  ASSERT_TRUE(neighbours->find(1, ip("198.19.0.1"), mac));
  EXPECT_EQ(format_mac(mac), "12:34:56:78:9a:bc");
  ASSERT_TRUE(neighbours->find(1, ip("198.19.0.77"), mac));
  EXPECT_FALSE(neighbours->find(0, ip("198.18.0.7"), mac));
  EXPECT_FALSE(neighbours->find(1, ip("2001:db8::7"), mac));
}

}  // namespace
}  // namespace sluice

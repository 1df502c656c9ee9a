// Routed mode's routing tables: longest prefix match over static routes and connected prefixes,
// own addresses.
#include "dataplane/route/routing_tables.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "controlplane/policy/cidr.h"

namespace sluice {
namespace {

IpAddress ip(const char* text) { return *parse_ip(text); }

RouteEntry route(const char* prefix, uint8_t length, const char* via, uint8_t port, bool snat = false) {
  RouteEntry entry;
  entry.prefix = ip(prefix);
  entry.prefix_length = length;
  entry.via = ip(via);
  entry.port = port;
  entry.snat = snat;
  return entry;
}

RoutingTables hub() {
  RoutingTables tables;
  tables.add_route(route("0.0.0.0", 0, "198.19.0.1", 1, true));
  tables.add_route(route("198.18.8.0", 22, "198.18.0.254", 0));
  tables.add_route(route("198.18.9.0", 24, "198.18.0.253", 0));
  tables.add_route(route("::", 0, "2001:db8:1::1", 1));
  RoutedPort inside;
  inside.addresses = {{ip("198.18.0.1"), 24}, {ip("2001:db8::1"), 64}};
  inside.mtu = 1500;
  RoutedPort outside;
  outside.addresses = {{ip("198.19.0.2"), 24}, {ip("2001:db8:1::2"), 64}};
  outside.mtu = 9000;
  tables.set_port(0, inside);
  tables.set_port(1, outside);
  tables.seal();
  return tables;
}

TEST(RoutingTables, LongestPrefixWins) {
  const RoutingTables tables = hub();
  RouteResult to_spoke = tables.lookup(ip("198.18.9.7"));  // /24 beats /22 and /0
  ASSERT_NE(to_spoke.route, nullptr);
  EXPECT_EQ(to_spoke.route->port, 0);
  EXPECT_EQ(to_spoke.next_hop, ip("198.18.0.253"));
  RouteResult other_spoke = tables.lookup(ip("198.18.10.1"));
  ASSERT_NE(other_spoke.route, nullptr);
  EXPECT_EQ(other_spoke.next_hop, ip("198.18.0.254"));
  RouteResult internet = tables.lookup(ip("198.51.100.1"));
  ASSERT_NE(internet.route, nullptr);
  EXPECT_EQ(internet.route->port, 1);
  EXPECT_TRUE(internet.route->snat);
  EXPECT_EQ(internet.next_hop, ip("198.19.0.1"));
}

TEST(RoutingTables, ConnectedPrefixesRouteToTheDestinationItself) {
  const RoutingTables tables = hub();
  RouteResult client = tables.lookup(ip("198.18.0.77"));
  ASSERT_NE(client.route, nullptr);
  EXPECT_TRUE(client.route->connected);
  EXPECT_EQ(client.route->port, 0);
  EXPECT_EQ(client.next_hop, ip("198.18.0.77"));
  RouteResult v6 = tables.lookup(ip("2001:db8:1::9"));
  ASSERT_NE(v6.route, nullptr);
  EXPECT_TRUE(v6.route->connected);
  EXPECT_EQ(v6.route->port, 1);
  RouteResult v6_default = tables.lookup(ip("2001:db8:ffff::1"));
  ASSERT_NE(v6_default.route, nullptr);
  EXPECT_FALSE(v6_default.route->connected);
  EXPECT_EQ(v6_default.next_hop, ip("2001:db8:1::1"));
}

TEST(RoutingTables, NoRouteWithoutADefault) {
  RoutingTables tables;
  RoutedPort inside;
  inside.addresses = {{ip("198.18.0.1"), 24}};
  tables.set_port(0, inside);
  tables.seal();
  EXPECT_EQ(tables.lookup(ip("198.19.0.1")).route, nullptr);
  EXPECT_EQ(tables.lookup(ip("2001:db8::1")).route, nullptr);  // no IPv6 at all
  EXPECT_EQ(tables.lookup(IpAddress{}).route, nullptr);
  EXPECT_NE(tables.lookup(ip("198.18.0.200")).route, nullptr);
}

TEST(RoutingTables, UnsealedTablesFindNothing) {
  RoutingTables tables;
  tables.add_route(route("0.0.0.0", 0, "198.19.0.1", 1));
  EXPECT_EQ(tables.lookup(ip("198.51.100.1")).route, nullptr);
  tables.seal();
  EXPECT_NE(tables.lookup(ip("198.51.100.1")).route, nullptr);
}

TEST(RoutingTables, AStaticRouteReplacesTheConnectedOneOfItsPrefix) {
  RoutingTables tables;
  tables.add_route(route("198.18.0.0", 24, "198.19.0.1", 1));
  RoutedPort inside;
  inside.addresses = {{ip("198.18.0.1"), 24}};
  tables.set_port(0, inside);
  tables.seal();
  RouteResult result = tables.lookup(ip("198.18.0.5"));
  ASSERT_NE(result.route, nullptr);
  EXPECT_FALSE(result.route->connected);
  EXPECT_EQ(result.route->port, 1);
  EXPECT_EQ(tables.route_count(), 1u);
}

TEST(RoutingTables, OwnAddresses) {
  const RoutingTables tables = hub();
  EXPECT_EQ(tables.owner_of(ip("198.18.0.1")), 0);
  EXPECT_EQ(tables.owner_of(ip("2001:db8:1::2")), 1);
  EXPECT_EQ(tables.owner_of(ip("198.18.0.2")), kNoPort);
  ASSERT_NE(tables.own_address(1, 4), nullptr);
  EXPECT_EQ(*tables.own_address(1, 4), ip("198.19.0.2"));
  EXPECT_EQ(*tables.own_address(0, 6), ip("2001:db8::1"));
  EXPECT_EQ(tables.own_address(2, 4), nullptr);
  EXPECT_EQ(tables.own_address(7, 4), nullptr);
  EXPECT_EQ(tables.port(1).mtu, 9000u);
  EXPECT_TRUE(tables.port(0).present);
  EXPECT_FALSE(tables.port(2).present);
}

TEST(RoutingTables, PrefixArithmetic) {
  EXPECT_EQ(mask_address(ip("198.18.5.77"), 22), ip("198.18.4.0"));
  EXPECT_EQ(mask_address(ip("198.18.5.77"), 32), ip("198.18.5.77"));
  EXPECT_EQ(mask_address(ip("198.18.5.77"), 0), ip("0.0.0.0"));
  EXPECT_EQ(mask_address(ip("2001:db8:abcd::1"), 33), ip("2001:db8:8000::"));
  EXPECT_TRUE(prefix_contains(ip("198.18.0.1"), 24, ip("198.18.0.255")));
  EXPECT_FALSE(prefix_contains(ip("198.18.0.1"), 24, ip("198.18.1.0")));
  EXPECT_FALSE(prefix_contains(ip("198.18.0.1"), 0, ip("::1")));  // another family
}

// Every prefix length of both families against a bit-by-bit reference: the byte-wise masking
// must keep exactly the first `length` bits and clear every other byte (v4 uses bytes 0-3 only).
TEST(RoutingTables, MaskKeepsExactlyThePrefixBits) {
  for (IpAddress address : {ip("198.19.255.255"), ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")}) {
    address.bytes[15] |= address.family == 4 ? 0xff : 0;  // a stray byte past a v4 address is cleared too
    const int total_bits = address.family == 4 ? 32 : 128;
    for (int length = 0; length <= 130; ++length) {
      IpAddress expected = address;
      for (int bit = 0; bit < 128; ++bit)
        if (bit >= std::min(length, total_bits)) expected.bytes[bit / 8] &= uint8_t(~(0x80u >> (bit % 8)));
      EXPECT_EQ(mask_address(address, uint8_t(length)), expected) << "length " << length;
    }
  }
}

}  // namespace
}  // namespace sluice

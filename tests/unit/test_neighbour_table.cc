// Routed mode's neighbour table as workers read it, and MAC address text (dataplane/route/).
#include "dataplane/route/neighbour_table.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.family = 4;
  address.bytes[0] = a, address.bytes[1] = b, address.bytes[2] = c, address.bytes[3] = d;
  return address;
}

IpAddress v6_last(uint8_t last) {
  IpAddress address;
  address.family = 6;
  address.bytes[0] = 0x20, address.bytes[1] = 0x01, address.bytes[2] = 0x0d, address.bytes[3] = 0xb8;
  address.bytes[15] = last;
  return address;
}

TEST(MacAddress, ParsesAndFormats) {
  auto mac = parse_mac("12:34:56:78:9A:bc");
  ASSERT_TRUE(mac);
  EXPECT_EQ(format_mac(*mac), "12:34:56:78:9a:bc");
  EXPECT_FALSE(mac->is_multicast());
  EXPECT_TRUE(parse_mac("ff:ff:ff:ff:ff:ff")->is_multicast());
  EXPECT_TRUE(parse_mac("00:00:00:00:00:00")->is_zero());
}

TEST(MacAddress, RefusesOtherShapes) {
  for (const char* text : {"", "12:34:56:78:9a", "12:34:56:78:9a:bc:de", "12-34-56-78-9a-bc", "1234.5678.9abc",
                           "12:34:56:78:9a:bg", "12:34:56:78:9a:b", " 12:34:56:78:9a:bc", "12:34:56:78:9a:bc "})
    EXPECT_FALSE(parse_mac(text)) << text;
}

TEST(NeighbourTable, FindsBySideAndAddress) {
  NeighbourTable table;
  table.add(1, v4(198, 18, 1, 1), *parse_mac("02:00:00:00:00:01"));
  table.add(0, v4(198, 18, 1, 1), *parse_mac("02:00:00:00:00:02"));
  table.add(1, v6_last(1), *parse_mac("02:00:00:00:00:03"));
  table.seal();
  MacAddress mac;
  ASSERT_TRUE(table.find(1, v4(198, 18, 1, 1), mac));
  EXPECT_EQ(format_mac(mac), "02:00:00:00:00:01");
  ASSERT_TRUE(table.find(0, v4(198, 18, 1, 1), mac));
  EXPECT_EQ(format_mac(mac), "02:00:00:00:00:02");
  ASSERT_TRUE(table.find(1, v6_last(1), mac));
  EXPECT_EQ(format_mac(mac), "02:00:00:00:00:03");
  EXPECT_FALSE(table.find(0, v6_last(1), mac));      // other port
  EXPECT_FALSE(table.find(1, v4(198, 18, 1, 2), mac));  // other address
  EXPECT_EQ(table.size(), 3u);
}

TEST(NeighbourTable, ALaterAddReplacesTheMac) {
  NeighbourTable table;
  table.add(1, v4(198, 18, 1, 1), *parse_mac("02:00:00:00:00:01"));
  table.add(1, v4(198, 18, 1, 1), *parse_mac("02:00:00:00:00:09"));
  table.seal();
  MacAddress mac;
  ASSERT_TRUE(table.find(1, v4(198, 18, 1, 1), mac));
  EXPECT_EQ(format_mac(mac), "02:00:00:00:00:09");
  EXPECT_EQ(table.size(), 1u);
}

TEST(NeighbourTable, AnUnsealedTableFindsNothing) {
  NeighbourTable table;
  table.add(1, v4(198, 18, 1, 1), *parse_mac("02:00:00:00:00:01"));
  MacAddress mac;
  EXPECT_FALSE(table.find(1, v4(198, 18, 1, 1), mac));
}

TEST(NeighbourTable, FallbackAnswersEveryOtherAddressOfItsSideAndFamily) {
  NeighbourTable table;
  table.add(1, v4(198, 18, 1, 1), *parse_mac("02:00:00:00:00:01"));
  table.set_fallback(1, 4, *parse_mac("12:34:56:78:9a:bc"));
  table.seal();
  MacAddress mac;
  ASSERT_TRUE(table.find(1, v4(198, 18, 1, 1), mac));  // its own entry first
  EXPECT_EQ(format_mac(mac), "02:00:00:00:00:01");
  ASSERT_TRUE(table.find(1, v4(198, 18, 7, 7), mac));
  EXPECT_EQ(format_mac(mac), "12:34:56:78:9a:bc");
  EXPECT_FALSE(table.find(0, v4(198, 18, 7, 7), mac));  // other side
  EXPECT_FALSE(table.find(1, v6_last(7), mac));         // other family
  table.set_fallback(1, 4, MacAddress{});               // a zero MAC clears it
  EXPECT_FALSE(table.find(1, v4(198, 18, 7, 7), mac));
}

}  // namespace
}  // namespace sluice

#include "controlplane/policy/cidr.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace sluice {
namespace {

TEST(ParseIp, AcceptsBothFamilies) {
  const auto v4 = parse_ip("198.18.0.1");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, 4);
  EXPECT_EQ(v4->bytes[0], 198);
  EXPECT_EQ(v4->bytes[3], 1);
  EXPECT_EQ(v4->bytes[4], 0);

  const auto v6 = parse_ip("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, 6);
  EXPECT_EQ(v6->bytes[0], 0x20);
  EXPECT_EQ(v6->bytes[1], 0x01);
  EXPECT_EQ(v6->bytes[15], 1);
}

TEST(ParseIp, RefusesJunk) {
  for (const char* text : {"", " 198.18.0.1", "198.18.0.1 ", "198.18.0", "198.18.0.256", "example.com",
                           "2001:db8::1::2", "fe80::1%eth0", "198.18.0.1/32"}) {
    EXPECT_FALSE(parse_ip(text)) << text;
  }
  // A view into a longer buffer: the byte after the view must not be read as part of it.
  const std::string text = "198.18.0.12";
  const auto address = parse_ip(std::string_view(text).substr(0, 10));
  ASSERT_TRUE(address);
  EXPECT_EQ(address->bytes[3], 1);
  // An embedded NUL must not cut the text short into something valid.
  EXPECT_FALSE(parse_ip(std::string_view("198.18.0.1\0junk", 15)));
}

TEST(ParseCidr, BareAddressIsAHostPrefix) {
  Cidr cidr;
  ASSERT_EQ(parse_cidr("198.18.0.1", cidr), CidrError::none);
  EXPECT_EQ(cidr.prefix_length, 32);
  EXPECT_EQ(format_cidr(cidr), "198.18.0.1/32");

  ASSERT_EQ(parse_cidr("2001:db8::1", cidr), CidrError::none);
  EXPECT_EQ(cidr.prefix_length, 128);
  EXPECT_EQ(format_cidr(cidr), "2001:db8::1/128");
}

TEST(ParseCidr, AcceptsNetworks) {
  Cidr cidr;
  ASSERT_EQ(parse_cidr("198.18.0.0/15", cidr), CidrError::none);
  EXPECT_EQ(cidr.address.family, 4);
  EXPECT_EQ(cidr.prefix_length, 15);
  EXPECT_EQ(format_cidr(cidr), "198.18.0.0/15");

  ASSERT_EQ(parse_cidr("2001:DB8:0::/32", cidr), CidrError::none);
  EXPECT_EQ(cidr.address.family, 6);
  EXPECT_EQ(format_cidr(cidr), "2001:db8::/32");

  ASSERT_EQ(parse_cidr("0.0.0.0/0", cidr), CidrError::none);
  EXPECT_EQ(cidr.prefix_length, 0);
  ASSERT_EQ(parse_cidr("::/0", cidr), CidrError::none);
  EXPECT_EQ(cidr.address.family, 6);
  ASSERT_EQ(parse_cidr("198.18.0.128/25", cidr), CidrError::none);
}

TEST(ParseCidr, HostBitsSet) {
  Cidr cidr;
  EXPECT_EQ(parse_cidr("198.18.0.1/16", cidr), CidrError::host_bits_set);
  EXPECT_EQ(parse_cidr("198.18.0.0/14", cidr), CidrError::host_bits_set);  // 18 = 0b00010010: bit 14 is set
  EXPECT_EQ(parse_cidr("198.18.0.129/25", cidr), CidrError::host_bits_set);
  EXPECT_EQ(parse_cidr("2001:db8::1/64", cidr), CidrError::host_bits_set);
  EXPECT_EQ(parse_cidr("1.0.0.0/0", cidr), CidrError::host_bits_set);
}

TEST(ParseCidr, PrefixOutOfRange) {
  Cidr cidr;
  EXPECT_EQ(parse_cidr("198.18.0.0/33", cidr), CidrError::prefix_out_of_range);
  EXPECT_EQ(parse_cidr("2001:db8::/129", cidr), CidrError::prefix_out_of_range);
  EXPECT_EQ(parse_cidr("198.18.0.0/999", cidr), CidrError::prefix_out_of_range);
  EXPECT_EQ(parse_cidr("2001:db8::/128", cidr), CidrError::none);
}

TEST(ParseCidr, SyntaxErrors) {
  for (const char* text : {"", "/24", "198.18.0.0/", "198.18.0.0/1a", "198.18.0.0/+8", "198.18.0.0/-1",
                           " 198.18.0.0/15", "198.18.0.0/15 ", "198.18.0.0 /15", "198.18.0.0/ 15",
                           "198.18.0.0/15/16", "198.18.0.0/0015", "example.com/24", "host/33", "junk"}) {
    Cidr cidr;
    EXPECT_EQ(parse_cidr(text, cidr), CidrError::syntax) << '"' << text << '"';
  }
}

TEST(ParseCidr, LeavesOutputAloneOnError) {
  Cidr cidr;
  ASSERT_EQ(parse_cidr("198.18.7.0/24", cidr), CidrError::none);
  EXPECT_NE(parse_cidr("198.18.0.1/16", cidr), CidrError::none);
  EXPECT_EQ(format_cidr(cidr), "198.18.7.0/24");
}

TEST(DescribeCidrError, EachErrorHasItsOwnWords) {
  std::set<std::string> descriptions;
  for (CidrError error : {CidrError::none, CidrError::syntax, CidrError::prefix_out_of_range,
                          CidrError::host_bits_set}) {
    const std::string text = describe(error);
    EXPECT_FALSE(text.empty());
    descriptions.insert(text);
  }
  EXPECT_EQ(descriptions.size(), 4u);
  EXPECT_NE(std::string(describe(CidrError::host_bits_set)).find("host"), std::string::npos);
  EXPECT_NE(std::string(describe(CidrError::prefix_out_of_range)).find("prefix"), std::string::npos);
}

}  // namespace
}  // namespace sluice

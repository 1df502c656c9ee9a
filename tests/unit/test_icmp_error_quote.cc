// The quote of an ICMP/ICMPv6 error (dataplane/parse/icmp_error_quote.h): the quoted packet's
// addresses, protocol and ports or echo identifier, and a named error for every quote that
// cannot be read — never a read outside the bytes given.
#include <gtest/gtest.h>

#include <algorithm>

#include "dataplane/parse/icmp_error_quote.h"
#include "dataplane/parse/packet_parser.h"
#include "tests/unit/snat_frames.h"

namespace sluice {
namespace {

using test::Bytes;
using test::ip;
using test::operator+;

const IpAddress kClient = ip("198.18.1.10");
const IpAddress kServer = ip("198.19.0.7");
const IpAddress kClientV6 = ip("2001:db8:1::10");
const IpAddress kServerV6 = ip("2001:db8:ff::443");

// The quote at offset 8 of `bytes` (an ICMP header's room before it), as far as `keep` bytes.
IcmpQuoteError parse(const Bytes& quoted, uint8_t family, IcmpQuote& quote, size_t keep = 1 << 16) {
  Bytes bytes = Bytes(8, 0) + Bytes(quoted.begin(), quoted.begin() + std::min(keep, quoted.size()));
  return parse_icmp_quote(bytes, 8, bytes.size(), family, quote);
}

TEST(IcmpErrorQuote, ErrorTypesAreTheErrorsAboutAPacket) {
  for (uint8_t type : {3, 11, 12}) EXPECT_TRUE(is_icmp_error_type(4, type));
  for (uint8_t type : {0, 4, 5, 8, 13}) EXPECT_FALSE(is_icmp_error_type(4, type));
  for (uint8_t type : {1, 2, 3, 4}) EXPECT_TRUE(is_icmp_error_type(6, type));
  for (uint8_t type : {0, 128, 129, 133, 135, 137}) EXPECT_FALSE(is_icmp_error_type(6, type));
}

TEST(IcmpErrorQuote, ReadsTcpUdpAndEchoQuotesOfBothFamilies) {
  IcmpQuote quote;
  ASSERT_EQ(parse(test::ip_packet(kClient, kServer, kIpProtoTcp, test::tcp_segment(40000, 5432)), 4, quote, 28),
            IcmpQuoteError::none);
  EXPECT_TRUE(quote.src == kClient);
  EXPECT_TRUE(quote.dst == kServer);
  EXPECT_EQ(quote.protocol, kIpProtoTcp);
  EXPECT_TRUE(quote.has_ports);
  EXPECT_FALSE(quote.echo);
  EXPECT_EQ(quote.source_port, 40000);
  EXPECT_EQ(quote.destination_port, 5432);
  EXPECT_EQ(quote.l3, 8u);
  EXPECT_EQ(quote.l4, 28u);

  ASSERT_EQ(parse(test::ip_packet(kClientV6, kServerV6, kIpProtoUdp, test::udp_segment(5353, 53)), 6, quote),
            IcmpQuoteError::none);
  EXPECT_TRUE(quote.src == kClientV6);
  EXPECT_EQ(quote.protocol, kIpProtoUdp);
  EXPECT_EQ(quote.source_port, 5353);
  EXPECT_EQ(quote.destination_port, 53);
  EXPECT_EQ(quote.l4, 48u);

  ASSERT_EQ(parse(test::ip_packet(kClient, kServer, kIpProtoIcmp, test::icmp_message(8, 0, 0x12340001)), 4, quote),
            IcmpQuoteError::none);
  EXPECT_TRUE(quote.echo);
  EXPECT_TRUE(quote.echo_request);
  EXPECT_EQ(quote.source_port, 0x1234);
  EXPECT_EQ(quote.destination_port, 0);
  ASSERT_EQ(parse(test::ip_packet(kClientV6, kServerV6, kIpProtoIcmpv6, test::icmp_message(129, 0, 0x77770001)), 6,
                  quote),
            IcmpQuoteError::none);
  EXPECT_TRUE(quote.echo);
  EXPECT_FALSE(quote.echo_request);
  EXPECT_EQ(quote.source_port, 0x7777);
}

TEST(IcmpErrorQuote, OtherProtocolsGiveAddressesWithoutPorts) {
  IcmpQuote quote;
  ASSERT_EQ(parse(test::ip_packet(kClient, kServer, 47, Bytes(4, 0)), 4, quote), IcmpQuoteError::none);
  EXPECT_EQ(quote.protocol, 47);
  EXPECT_FALSE(quote.has_ports);
  EXPECT_TRUE(quote.src == kClient);
}

TEST(IcmpErrorQuote, MalformedQuotesAreRefusedByName) {
  IcmpQuote quote;
  const Bytes tcp = test::ip_packet(kClient, kServer, kIpProtoTcp, test::tcp_segment(40000, 5432));
  EXPECT_EQ(parse(tcp, 4, quote, 19), IcmpQuoteError::truncated_ip);
  EXPECT_EQ(parse(tcp, 4, quote, 27), IcmpQuoteError::truncated_l4);
  EXPECT_EQ(parse(tcp, 6, quote, 39), IcmpQuoteError::truncated_ip);
  EXPECT_EQ(parse(tcp, 6, quote), IcmpQuoteError::bad_ip_header);  // an IPv4 packet in an ICMPv6 error
  Bytes short_ihl = tcp;
  short_ihl[0] = 0x44;
  EXPECT_EQ(parse(short_ihl, 4, quote), IcmpQuoteError::bad_ip_header);
  Bytes long_ihl = tcp;
  long_ihl[0] = 0x4f;  // 60-byte header: the L4 header lies past the quote
  EXPECT_EQ(parse(long_ihl, 4, quote, 48), IcmpQuoteError::truncated_l4);
  Bytes later = tcp;
  later[7] = 0x10;
  EXPECT_EQ(parse(later, 4, quote), IcmpQuoteError::later_fragment);
  const Bytes error_about_error =
      test::ip_packet(kClient, kServer, kIpProtoIcmp, test::icmp_message(3, 1, 0) + Bytes(28, 0));
  EXPECT_EQ(parse(error_about_error, 4, quote), IcmpQuoteError::quoted_not_echo);
  EXPECT_EQ(parse(test::ip_packet(kClientV6, kServerV6, kIpProtoUdp, test::udp_segment(1, 2)), 6, quote, 47),
            IcmpQuoteError::truncated_l4);
  EXPECT_EQ(parse(Bytes{}, 4, quote), IcmpQuoteError::truncated_ip);
  EXPECT_EQ(parse_icmp_quote(tcp, 30, 20, 4, quote), IcmpQuoteError::truncated_ip);  // start past the end
  EXPECT_EQ(parse_icmp_quote(tcp, 0, 1000, 4, quote), IcmpQuoteError::none);        // end clamped to the span
  EXPECT_EQ(parse_icmp_quote(tcp, 0, 40, 5, quote), IcmpQuoteError::bad_ip_header);  // no such family
  EXPECT_STREQ(to_string(IcmpQuoteError::quoted_not_echo), "quoted_not_echo");
}

}  // namespace
}  // namespace sluice

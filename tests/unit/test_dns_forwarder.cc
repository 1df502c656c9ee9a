// The DNS forwarder on byte frames: a query to the appliance's INSIDE address goes to the
// resolver with every checksum right, its answer comes back from the address asked, and nothing
// else is touched.
#include "dataplane/nat/dns_forwarder.h"

#include <gtest/gtest.h>

#include "dataplane/nat/address_rewrite.h"
#include "tests/unit/snat_frames.h"

namespace sluice {
namespace {

using test::Bytes;
using test::ip;

const IpAddress kClient = ip("198.18.1.10");
const IpAddress kAppliance = ip("198.18.1.1");
const IpAddress kResolver = ip("198.19.53.53");
const IpAddress kOther = ip("198.19.66.66");
const IpAddress kClient6 = ip("2001:db8:1::10");
const IpAddress kAppliance6 = ip("2001:db8:1::1");
const IpAddress kResolver6 = ip("2001:db8:53::53");

struct Frame {
  Bytes bytes;
  ParsedPacket packet;
};

Frame parsed(Bytes bytes) {
  Frame frame{std::move(bytes), {}};
  EXPECT_EQ(parse_packet(frame.bytes, frame.packet), PacketParseError::none);
  return frame;
}

const Bytes kQuery = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1};

Frame udp(const IpAddress& src, uint16_t sport, const IpAddress& dst, uint16_t dport, bool checksum = true) {
  return parsed(test::ether(test::ip_packet(src, dst, kIpProtoUdp, test::udp_segment(sport, dport, kQuery), checksum)));
}

Frame tcp(const IpAddress& src, uint16_t sport, const IpAddress& dst, uint16_t dport) {
  return parsed(test::ether(test::ip_packet(src, dst, kIpProtoTcp, test::tcp_segment(sport, dport, kQuery))));
}

DnsForwardTable table(uint32_t capacity = 8) {
  DnsForwardTable t;
  EXPECT_TRUE(t.init(capacity, 100, 99));
  return t;
}

TEST(DnsForwarder, AQueryGoesToTheResolverAndItsAnswerComesBackFromTheAddressAsked) {
  for (const auto& [client, appliance, resolver] :
       {std::tuple{kClient, kAppliance, kResolver}, std::tuple{kClient6, kAppliance6, kResolver6}}) {
    DnsForwardTable forwards = table();
    Frame query = udp(client, 40000, appliance, 53);
    ASSERT_EQ(forwards.forward_query(query.bytes, query.packet, resolver, 1), DnsForwardStatus::forwarded);
    EXPECT_EQ(query.bytes, udp(client, 40000, resolver, 53).bytes);  // checksums and all
    EXPECT_TRUE(query.packet.dst == resolver);
    Frame answer = udp(resolver, 53, client, 40000);
    ASSERT_EQ(forwards.restore_answer(answer.bytes, answer.packet, 2), DnsForwardStatus::restored);
    EXPECT_EQ(answer.bytes, udp(appliance, 53, client, 40000).bytes);
    EXPECT_TRUE(answer.packet.src == appliance);
    EXPECT_EQ(forwards.in_use(), 1u);
  }
}

TEST(DnsForwarder, TcpAndAZeroUdpChecksumToo) {
  DnsForwardTable forwards = table();
  Frame query = tcp(kClient, 40001, kAppliance, 53);
  ASSERT_EQ(forwards.forward_query(query.bytes, query.packet, kResolver, 1), DnsForwardStatus::forwarded);
  EXPECT_EQ(query.bytes, tcp(kClient, 40001, kResolver, 53).bytes);
  Frame none = udp(kClient, 40002, kAppliance, 53, false);
  ASSERT_EQ(forwards.forward_query(none.bytes, none.packet, kResolver, 1), DnsForwardStatus::forwarded);
  EXPECT_EQ(none.bytes, udp(kClient, 40002, kResolver, 53, false).bytes);
}

TEST(DnsForwarder, AnswersOfNoForwardedQueryAreLeftAlone) {
  DnsForwardTable forwards = table();
  Frame query = udp(kClient, 40000, kAppliance, 53);
  ASSERT_EQ(forwards.forward_query(query.bytes, query.packet, kResolver, 1), DnsForwardStatus::forwarded);
  // Another server's port 53, another client port, TCP for a UDP query: not ours, untouched.
  for (Frame other : {udp(kOther, 53, kClient, 40000), udp(kResolver, 53, kClient, 40001), tcp(kResolver, 53, kClient, 40000)}) {
    const Bytes before = other.bytes;
    EXPECT_EQ(forwards.restore_answer(other.bytes, other.packet, 2), DnsForwardStatus::not_ours);
    EXPECT_EQ(other.bytes, before);
  }
  Frame not_dns = udp(kResolver, 54, kClient, 40000);
  EXPECT_EQ(forwards.restore_answer(not_dns.bytes, not_dns.packet, 2), DnsForwardStatus::malformed);
}

TEST(DnsForwarder, NoResolverOfTheFamilyAFullTableAndAging) {
  DnsForwardTable forwards = table(2);
  Frame six = udp(kClient6, 1, kAppliance6, 53);
  const Bytes before = six.bytes;
  EXPECT_EQ(forwards.forward_query(six.bytes, six.packet, kResolver, 1), DnsForwardStatus::no_resolver);
  EXPECT_EQ(forwards.forward_query(six.bytes, six.packet, IpAddress{}, 1), DnsForwardStatus::no_resolver);
  EXPECT_EQ(six.bytes, before);
  for (uint16_t port : {1, 2}) {
    Frame q = udp(kClient, port, kAppliance, 53);
    EXPECT_EQ(forwards.forward_query(q.bytes, q.packet, kResolver, 10), DnsForwardStatus::forwarded);
  }
  Frame third = udp(kClient, 3, kAppliance, 53);
  EXPECT_EQ(forwards.forward_query(third.bytes, third.packet, kResolver, 10), DnsForwardStatus::table_full);
  // A retry of a remembered query still goes.
  Frame retry = udp(kClient, 1, kAppliance, 53);
  EXPECT_EQ(forwards.forward_query(retry.bytes, retry.packet, kResolver, 50), DnsForwardStatus::forwarded);
  forwards.age(140, 2);  // port 2 idle 130 > 100; port 1 idle 90
  EXPECT_EQ(forwards.in_use(), 1u);
  EXPECT_EQ(forwards.forward_query(third.bytes, third.packet, kResolver, 141), DnsForwardStatus::forwarded);
  Frame late = udp(kResolver, 53, kClient, 2);
  EXPECT_EQ(forwards.restore_answer(late.bytes, late.packet, 142), DnsForwardStatus::not_ours);
}

TEST(DnsForwarder, OnlyUdpOrTcpToPort53IsForwarded) {
  DnsForwardTable forwards = table();
  Frame other_port = udp(kClient, 1, kAppliance, 5353);
  EXPECT_EQ(forwards.forward_query(other_port.bytes, other_port.packet, kResolver, 1), DnsForwardStatus::malformed);
  Frame later = udp(kClient, 1, kAppliance, 53);
  later.packet.is_fragment = later.packet.is_later_fragment = true;
  EXPECT_EQ(forwards.forward_query(later.bytes, later.packet, kResolver, 1), DnsForwardStatus::malformed);
  Frame cut = udp(kClient, 1, kAppliance, 53);
  EXPECT_EQ(forwards.forward_query(std::span<uint8_t>(cut.bytes.data(), cut.packet.l4_offset + 4), cut.packet, kResolver, 1),
            DnsForwardStatus::malformed);
  EXPECT_EQ(forwards.in_use(), 0u);
}

TEST(AddressRewrite, RefusesAnotherFamilyAndKeepsChecksumsOfALaterFragmentsHeader) {
  Frame frame = udp(kClient, 1, kAppliance, 53);
  EXPECT_FALSE(rewrite_address(frame.bytes, frame.packet, false, kResolver6));
  frame.packet.is_fragment = frame.packet.is_later_fragment = true;
  ASSERT_TRUE(rewrite_address(frame.bytes, frame.packet, true, kOther));
  // The IPv4 header sums right after the rewrite.
  EXPECT_EQ(checksum_fold(checksum_sum(frame.bytes.data() + 14, 20)), 0);
}

}  // namespace
}  // namespace sluice

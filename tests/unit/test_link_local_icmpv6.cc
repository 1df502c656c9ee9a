#include "dataplane/parse/link_local_icmpv6.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;
using test::put16;
using test::operator+;

const Bytes kLinkLocal = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Bytes kGlobal = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const Bytes kAllNodes = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Bytes kAllRouters = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
const Bytes kSolicitedNode = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 2};
const Bytes kMldv2Routers = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16};
const Bytes kSiteMulticast = {0xff, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

// Ethernet + IPv6 (hop limit `hops`) + an ICMPv6 message (`icmp`: type, code, checksum, body).
Bytes frame(const Bytes& destination, uint8_t hops, const Bytes& icmp) {
  Bytes b = {0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1};
  put16(b, 0x86DD);
  b = b + Bytes{0x60, 0, 0, 0};
  put16(b, uint16_t(icmp.size()));
  b.push_back(kIpProtoIcmpv6);
  b.push_back(hops);
  return b + kLinkLocal + destination + icmp;
}

// A neighbour solicitation for `target` with a source link-layer address option.
Bytes neighbour_solicitation(const Bytes& options = {1, 1, 2, 0, 0, 0, 0, 1}) {
  return Bytes{135, 0, 0, 0, 0, 0, 0, 0} + kGlobal + options;
}

Bytes mldv1_report() { return Bytes{131, 0, 0, 0, 0, 0, 0, 0} + kSolicitedNode; }

LinkLocalIcmpv6 classify(const Bytes& bytes) {
  ParsedPacket p;
  EXPECT_EQ(parse_packet(bytes, p), PacketParseError::none);
  return classify_link_local_icmpv6(bytes, p);
}

TEST(LinkLocalIcmpv6, NeighbourDiscoveryOnTheLinkPasses) {
  for (const Bytes& destination : {kLinkLocal, kAllNodes, kAllRouters, kSolicitedNode})
    EXPECT_EQ(classify(frame(destination, 255, neighbour_solicitation())), LinkLocalIcmpv6::on_link);
  EXPECT_EQ(classify(frame(kAllRouters, 255, Bytes{133, 0, 0, 0, 0, 0, 0, 0})), LinkLocalIcmpv6::on_link);
  EXPECT_EQ(classify(frame(kAllNodes, 255, Bytes{134, 0, 0, 0, 64, 0, 0, 0} + Bytes(8, 0))), LinkLocalIcmpv6::on_link);
  // Without options.
  EXPECT_EQ(classify(frame(kSolicitedNode, 255, neighbour_solicitation({}))), LinkLocalIcmpv6::on_link);
}

TEST(LinkLocalIcmpv6, MulticastListenerDiscoveryOnTheLinkPasses) {
  EXPECT_EQ(classify(frame(kSolicitedNode, 1, mldv1_report())), LinkLocalIcmpv6::on_link);
  // MLDv2 report with one record (no sources, no aux data) to ff02::16.
  Bytes report = Bytes{143, 0, 0, 0, 0, 0, 0, 1} + Bytes{4, 0, 0, 0} + kSolicitedNode;
  EXPECT_EQ(classify(frame(kMldv2Routers, 1, report)), LinkLocalIcmpv6::on_link);
  // MLDv2 query with one source.
  Bytes query = Bytes{130, 0, 0, 0, 0, 0, 0, 0} + Bytes(16, 0) + Bytes{0, 0, 0, 1} + kGlobal;
  EXPECT_EQ(classify(frame(kAllNodes, 1, query)), LinkLocalIcmpv6::on_link);
}

// The frame's source is fe80::1 (kLinkLocal), its MAC 02:00:00:00:00:01.
Bytes neighbour_advertisement(const Bytes& target, const Bytes& options = {2, 1, 2, 0, 0, 0, 0, 1}) {
  return Bytes{136, 0, 0, 0, 0x60, 0, 0, 0} + target + options;  // S and O set
}

TEST(LinkLocalIcmpv6, UnicastNeighbourDiscoveryWithNoBytesOfItsOwnPasses) {
  // NUD probe: target = destination, source link-layer address = the frame's source MAC.
  EXPECT_EQ(classify(frame(kGlobal, 255, neighbour_solicitation())), LinkLocalIcmpv6::on_link);
  EXPECT_EQ(classify(frame(kGlobal, 255, neighbour_solicitation({}))), LinkLocalIcmpv6::on_link);
  // A solicited advertisement to a global address: target = its own source address.
  EXPECT_EQ(classify(frame(kGlobal, 255, neighbour_advertisement(kLinkLocal))), LinkLocalIcmpv6::on_link);
}

TEST(LinkLocalIcmpv6, UnicastNeighbourDiscoveryCarryingBytesIsJudged) {
  Bytes other_target = kGlobal;
  other_target[15] = 0x99;
  EXPECT_EQ(classify(frame(kGlobal, 255, Bytes{135, 0, 0, 0, 0, 0, 0, 0} + other_target)), LinkLocalIcmpv6::off_link);
  EXPECT_EQ(classify(frame(kGlobal, 255, neighbour_advertisement(kGlobal))), LinkLocalIcmpv6::off_link);
  // A MAC that is not the frame's, a reserved byte set, another option, a longer list.
  EXPECT_EQ(classify(frame(kGlobal, 255, neighbour_solicitation({1, 1, 'E', 'X', 'F', 'I', 'L', '!'}))),
            LinkLocalIcmpv6::off_link);
  Bytes reserved = neighbour_advertisement(kLinkLocal);
  reserved[7] = 'X';
  EXPECT_EQ(classify(frame(kGlobal, 255, reserved)), LinkLocalIcmpv6::off_link);
  EXPECT_EQ(classify(frame(kGlobal, 255, neighbour_solicitation({14, 1, 'E', 'X', 'F', 'I', 'L', '!'}))),
            LinkLocalIcmpv6::off_link);
  EXPECT_EQ(classify(frame(kGlobal, 255, neighbour_advertisement(kLinkLocal, {2, 1, 2, 0, 0, 0, 0, 1, 2, 1, 2, 0, 0, 0, 0, 1}))),
            LinkLocalIcmpv6::off_link);
  // Hop limit below 255: it came through a router.
  EXPECT_EQ(classify(frame(kGlobal, 254, neighbour_solicitation())), LinkLocalIcmpv6::off_link);
  // Router advertisements to a unicast global address are judged.
  EXPECT_EQ(classify(frame(kGlobal, 255, Bytes{134, 0, 0, 0, 64, 0, 0, 0} + Bytes(8, 0))), LinkLocalIcmpv6::off_link);
}

TEST(LinkLocalIcmpv6, OffLinkDestinationsAreJudgedLikeAnyIcmpv6) {
  EXPECT_EQ(classify(frame(kGlobal, 255, neighbour_solicitation({200, 1, 'E', 'X', 'F', 'I', 'L', '!'}))),
            LinkLocalIcmpv6::off_link);
  EXPECT_EQ(classify(frame(kSiteMulticast, 255, neighbour_solicitation())), LinkLocalIcmpv6::off_link);
  EXPECT_EQ(classify(frame(kGlobal, 1, mldv1_report())), LinkLocalIcmpv6::off_link);
  // ND to a link-scope group that is not all-nodes, all-routers or solicited-node.
  EXPECT_EQ(classify(frame(kMldv2Routers, 255, neighbour_solicitation())), LinkLocalIcmpv6::off_link);
}

TEST(LinkLocalIcmpv6, MalformedOnTheLinkIsRefused) {
  // Hop limit: ND needs 255 (RFC 4861), MLD 1.
  EXPECT_EQ(classify(frame(kSolicitedNode, 254, neighbour_solicitation())), LinkLocalIcmpv6::malformed);
  EXPECT_EQ(classify(frame(kSolicitedNode, 255, mldv1_report())), LinkLocalIcmpv6::malformed);
  // Code must be 0.
  Bytes coded = neighbour_solicitation();
  coded[1] = 1;
  EXPECT_EQ(classify(frame(kSolicitedNode, 255, coded)), LinkLocalIcmpv6::malformed);
  // Too short for its type.
  EXPECT_EQ(classify(frame(kSolicitedNode, 255, Bytes{135, 0, 0, 0, 0, 0, 0, 0})), LinkLocalIcmpv6::malformed);
  // Options: zero length, running past the end, trailing bytes that are no option.
  EXPECT_EQ(classify(frame(kSolicitedNode, 255, neighbour_solicitation({1, 0, 2, 0, 0, 0, 0, 1}))),
            LinkLocalIcmpv6::malformed);
  EXPECT_EQ(classify(frame(kSolicitedNode, 255, neighbour_solicitation({1, 2, 2, 0, 0, 0, 0, 1}))),
            LinkLocalIcmpv6::malformed);
  EXPECT_EQ(classify(frame(kSolicitedNode, 255, neighbour_solicitation({1, 1, 2, 0, 0, 0, 0, 1, 'X', 'X'}))),
            LinkLocalIcmpv6::malformed);
  // MLD with data after the message, and MLDv2 records that do not add up.
  EXPECT_EQ(classify(frame(kSolicitedNode, 1, mldv1_report() + Bytes{'X', 'X', 'X', 'X'})), LinkLocalIcmpv6::malformed);
  Bytes report = Bytes{143, 0, 0, 0, 0, 0, 0, 2} + Bytes{4, 0, 0, 0} + kSolicitedNode;
  EXPECT_EQ(classify(frame(kMldv2Routers, 1, report)), LinkLocalIcmpv6::malformed);
  Bytes padded_report = Bytes{143, 0, 0, 0, 0, 0, 0, 1} + Bytes{4, 0, 0, 0} + kSolicitedNode + Bytes(8, 'X');
  EXPECT_EQ(classify(frame(kMldv2Routers, 1, padded_report)), LinkLocalIcmpv6::malformed);
}

TEST(LinkLocalIcmpv6, OtherPacketsAreNotLinkControl) {
  EXPECT_EQ(classify(frame(kLinkLocal, 64, Bytes{128, 0, 0, 0, 0, 1, 0, 1})), LinkLocalIcmpv6::not_link_control);
  ParsedPacket v4;
  v4.ip_version = 4;
  v4.l4_protocol = kIpProtoIcmp;
  v4.icmp_type = 135;
  EXPECT_EQ(classify_link_local_icmpv6({}, v4), LinkLocalIcmpv6::not_link_control);
}

}  // namespace
}  // namespace sluice

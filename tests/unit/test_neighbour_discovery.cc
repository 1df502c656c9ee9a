// IPv6 neighbour solicitations and advertisements (dataplane/route/neighbour_discovery.h): what
// routed mode answers, learns and sends. The expected frames were written by scapy.
#include "dataplane/route/neighbour_discovery.h"

#include <gtest/gtest.h>

#include <string>

#include "dataplane/parse/tcp_checksum.h"
#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

IpAddress v6(uint16_t group3, uint8_t last) {  // 2001:db8:<group3>::<last>
  IpAddress address;
  address.family = 6;
  address.bytes[0] = 0x20, address.bytes[1] = 0x01, address.bytes[2] = 0x0d, address.bytes[3] = 0xb8;
  address.bytes[4] = uint8_t(group3 >> 8), address.bytes[5] = uint8_t(group3);
  address.bytes[15] = last;
  return address;
}

const MacAddress kOwnMac{{0x02, 0, 0, 0, 0, 0x01}};
const MacAddress kClientMac{{0x02, 0, 0, 0, 0, 0x10}};
const IpAddress kOwnIp = v6(1, 1);
const IpAddress kClientIp = v6(1, 0x10);

// From 2001:db8:1::10 (02:..:10) for 2001:db8:1::1, to its solicited-node group, with a source
// link-layer address option.
const std::string kScapySolicitation =
    "3333ff00000102000000001086dd6000000000203aff20010db8000100000000000000000010ff0200000000000000000001ff0000018700"
    "1c090000000020010db80001000000000000000000010101020000000010";
// 2001:db8:1::10's solicited answer to 2001:db8:1::1 (R clear, S and O set).
const std::string kScapyAdvertisement =
    "02000000000102000000001086dd6000000000203aff20010db800010000000000000000001020010db80001000000000000000000018800"
    "8a446000000020010db80001000000000000000000100201020000000010";
// What the appliance (2001:db8:1::1, 02:..:01) must send, as scapy writes it.
const std::string kExpectedSolicitation =
    "3333ff00001002000000000186dd6000000000203aff20010db8000100000000000000000001ff0200000000000000000001ff0000108700"
    "1c090000000020010db80001000000000000000000100101020000000001";
const std::string kExpectedUnsolicited =
    "33330000000102000000000186dd6000000000203aff20010db8000100000000000000000001ff0200000000000000000000000000018800"
    "7928a000000020010db80001000000000000000000010201020000000001";
const std::string kExpectedReply =
    "02000000001002000000000186dd6000000000203aff20010db800010000000000000000000120010db80001000000000000000000108800"
    "0a62e000000020010db80001000000000000000000010201020000000001";

NdCheck read(const Bytes& frame, NdMessage& message) {
  ParsedPacket packet;
  if (parse_packet(frame, packet) != PacketParseError::none) return NdCheck::not_nd;
  return read_nd(frame, packet, message);
}

// Recomputes the ICMPv6 checksum of a frame (Ethernet + IPv6 + ICMPv6, no extension header)
// after a test changed a byte of it, so that the check under test is the one that fails.
void refresh_checksum(Bytes& frame) {
  ParsedPacket packet;
  ASSERT_EQ(parse_packet(frame, packet), PacketParseError::none);
  uint8_t* icmp = frame.data() + 54;
  icmp[2] = icmp[3] = 0;
  const uint16_t sum = l4_checksum(packet.src, packet.dst, kIpProtoIcmpv6, {icmp, frame.size() - 54});
  icmp[2] = uint8_t(sum >> 8), icmp[3] = uint8_t(sum);
}

TEST(NeighbourDiscovery, ReadsASolicitationWrittenByScapy) {
  NdMessage message;
  ASSERT_EQ(read(from_hex(kScapySolicitation), message), NdCheck::ok);
  EXPECT_EQ(message.type, kNeighbourSolicitation);
  EXPECT_EQ(message.source, kClientIp);
  EXPECT_EQ(message.target, kOwnIp);
  ASSERT_TRUE(message.has_link_address);
  EXPECT_EQ(message.link_address, kClientMac);
}

TEST(NeighbourDiscovery, ReadsAnAdvertisementWrittenByScapy) {
  NdMessage message;
  ASSERT_EQ(read(from_hex(kScapyAdvertisement), message), NdCheck::ok);
  EXPECT_EQ(message.type, kNeighbourAdvertisement);
  EXPECT_EQ(message.target, kClientIp);
  EXPECT_TRUE(message.solicited);
  EXPECT_TRUE(message.override_flag);
  EXPECT_FALSE(message.router);
  ASSERT_TRUE(message.has_link_address);
  EXPECT_EQ(message.link_address, kClientMac);
}

TEST(NeighbourDiscovery, BuildsTheSolicitationScapyWrites) {
  Bytes out(kNdFrameLength);
  ASSERT_EQ(build_neighbour_solicitation(out, kOwnMac, kOwnIp, kClientIp), kNdFrameLength);
  EXPECT_EQ(out, from_hex(kExpectedSolicitation));
  NdMessage message;
  EXPECT_EQ(read(out, message), NdCheck::ok);
}

TEST(NeighbourDiscovery, BuildsTheUnsolicitedAdvertisementScapyWrites) {
  Bytes out(kNdFrameLength);
  ASSERT_EQ(build_unsolicited_neighbour_advertisement(out, kOwnMac, kOwnIp), kNdFrameLength);
  EXPECT_EQ(out, from_hex(kExpectedUnsolicited));
  NdMessage message;
  ASSERT_EQ(read(out, message), NdCheck::ok);
  EXPECT_FALSE(message.solicited);
  EXPECT_TRUE(message.router);
  EXPECT_TRUE(message.override_flag);
}

TEST(NeighbourDiscovery, AnswersASolicitationToItsSender) {
  NdMessage solicitation;
  ASSERT_EQ(read(from_hex(kScapySolicitation), solicitation), NdCheck::ok);
  Bytes out(kNdFrameLength + 20);
  ASSERT_EQ(build_neighbour_advertisement_reply(out, kOwnMac, kOwnIp, solicitation, kClientMac), kNdFrameLength);
  out.resize(kNdFrameLength);
  EXPECT_EQ(out, from_hex(kExpectedReply));
}

TEST(NeighbourDiscovery, AnswersDuplicateAddressDetectionToAllNodes) {
  Bytes frame = from_hex(kScapySolicitation);
  frame.resize(frame.size() - 8);  // no link-layer address from ::
  frame[19] = 24;                  // payload length
  for (int i = 22; i < 38; ++i) frame[i] = 0;  // source ::
  refresh_checksum(frame);
  NdMessage solicitation;
  ASSERT_EQ(read(frame, solicitation), NdCheck::ok);
  Bytes out(kNdFrameLength);
  ASSERT_EQ(build_neighbour_advertisement_reply(out, kOwnMac, kOwnIp, solicitation, kClientMac), kNdFrameLength);
  NdMessage reply;
  ASSERT_EQ(read(out, reply), NdCheck::ok);
  EXPECT_FALSE(reply.solicited);
  EXPECT_EQ(reply.destination.bytes[0], 0xff);
  EXPECT_EQ(reply.destination.bytes[15], 1);
  EXPECT_EQ(out[0], 0x33);
}

TEST(NeighbourDiscovery, DuplicateAddressDetectionWithALinkAddressIsRefused) {
  Bytes frame = from_hex(kScapySolicitation);
  for (int i = 22; i < 38; ++i) frame[i] = 0;
  refresh_checksum(frame);
  NdMessage message;
  EXPECT_EQ(read(frame, message), NdCheck::bad_dad);
}

TEST(NeighbourDiscovery, WrongChecksumIsRefused) {
  Bytes frame = from_hex(kScapySolicitation);
  frame[57] ^= 1;
  NdMessage message;
  EXPECT_EQ(read(frame, message), NdCheck::bad_checksum);
}

TEST(NeighbourDiscovery, HopLimitBelow255IsMalformed) {
  Bytes frame = from_hex(kScapySolicitation);
  frame[21] = 254;
  NdMessage message;
  EXPECT_EQ(read(frame, message), NdCheck::malformed);
}

TEST(NeighbourDiscovery, NonZeroCodeAndZeroLengthOptionAreMalformed) {
  Bytes code = from_hex(kScapySolicitation);
  code[55] = 1;
  refresh_checksum(code);
  NdMessage message;
  EXPECT_EQ(read(code, message), NdCheck::malformed);
  Bytes option = from_hex(kScapySolicitation);
  option[79] = 0;
  refresh_checksum(option);
  EXPECT_EQ(read(option, message), NdCheck::malformed);
}

TEST(NeighbourDiscovery, TruncatedBodyIsMalformed) {
  Bytes frame = from_hex(kScapySolicitation);
  frame.resize(frame.size() - 8 - 4);
  frame[19] = 20;
  NdMessage message;
  EXPECT_EQ(read(frame, message), NdCheck::malformed);
}

TEST(NeighbourDiscovery, MulticastTargetIsRefused) {
  Bytes frame = from_hex(kScapySolicitation);
  frame[62] = 0xff;
  refresh_checksum(frame);
  NdMessage message;
  EXPECT_EQ(read(frame, message), NdCheck::bad_target);
}

TEST(NeighbourDiscovery, LongOrMulticastOrRepeatedLinkAddressIsRefused) {
  NdMessage message;
  Bytes multicast = from_hex(kScapySolicitation);
  multicast[80] = 0x01;
  refresh_checksum(multicast);
  EXPECT_EQ(read(multicast, message), NdCheck::bad_link_address);

  Bytes repeated = from_hex(kScapySolicitation);
  const Bytes option(repeated.end() - 8, repeated.end());
  repeated.insert(repeated.end(), option.begin(), option.end());
  repeated[19] = 40;
  refresh_checksum(repeated);
  EXPECT_EQ(read(repeated, message), NdCheck::bad_link_address);

  Bytes longer = from_hex(kScapySolicitation);
  longer.insert(longer.end(), 8, 0);
  longer[79] = 2;
  longer[19] = 40;
  refresh_checksum(longer);
  EXPECT_EQ(read(longer, message), NdCheck::bad_link_address);
}

TEST(NeighbourDiscovery, UnknownOptionsAreSkipped) {
  Bytes frame = from_hex(kScapySolicitation);
  const Bytes nonce = {14, 1, 1, 2, 3, 4, 5, 6};  // RFC 7527 nonce option
  frame.insert(frame.end() - 8, nonce.begin(), nonce.end());
  frame[19] = 40;
  refresh_checksum(frame);
  NdMessage message;
  ASSERT_EQ(read(frame, message), NdCheck::ok);
  EXPECT_EQ(message.link_address, kClientMac);
}

TEST(NeighbourDiscovery, LinkAddressThatIsNotTheFramesSourceIsNotBelieved) {
  Bytes frame = from_hex(kScapySolicitation);
  frame[85] = 0x66;
  refresh_checksum(frame);
  NdMessage message;
  EXPECT_EQ(read(frame, message), NdCheck::link_address_mismatch);
}

TEST(NeighbourDiscovery, SolicitedAdvertisementToAllNodesIsRefused) {
  Bytes out(kNdFrameLength);
  ASSERT_EQ(build_unsolicited_neighbour_advertisement(out, kOwnMac, kOwnIp), kNdFrameLength);
  out[58] |= 0x40;  // S
  refresh_checksum(out);
  NdMessage message;
  EXPECT_EQ(read(out, message), NdCheck::bad_solicited_flag);
}

TEST(NeighbourDiscovery, OtherIcmpv6IsNotNd) {
  Bytes frame = from_hex(kScapySolicitation);
  frame[54] = 133;  // router solicitation
  refresh_checksum(frame);
  NdMessage message;
  EXPECT_EQ(read(frame, message), NdCheck::not_nd);
}

TEST(NeighbourDiscovery, BuildersRefuseAShortBufferOrAnIpv4Address) {
  Bytes short_buffer(kNdFrameLength - 1);
  EXPECT_EQ(build_neighbour_solicitation(short_buffer, kOwnMac, kOwnIp, kClientIp), 0u);
  IpAddress v4;
  v4.family = 4;
  Bytes out(kNdFrameLength);
  EXPECT_EQ(build_unsolicited_neighbour_advertisement(out, kOwnMac, v4), 0u);
  EXPECT_EQ(build_neighbour_solicitation(out, kOwnMac, v4, kClientIp), 0u);
}

TEST(NeighbourDiscovery, SolicitedNodeGroupAndItsMac) {
  const IpAddress group = solicited_node_group(v6(1, 0x10));
  EXPECT_EQ(group.bytes[0], 0xff);
  EXPECT_EQ(group.bytes[1], 0x02);
  EXPECT_EQ(group.bytes[11], 0x01);
  EXPECT_EQ(group.bytes[12], 0xff);
  EXPECT_EQ(group.bytes[15], 0x10);
  const MacAddress mac = ipv6_multicast_mac(group);
  const MacAddress expected{{0x33, 0x33, 0xff, 0, 0, 0x10}};
  EXPECT_EQ(mac, expected);
}

TEST(NeighbourDiscovery, EveryCheckHasAName) {
  for (int i = 0; i < int(NdCheck::count); ++i) EXPECT_STRNE(to_string(NdCheck(i)), "unknown") << i;
}

}  // namespace
}  // namespace sluice

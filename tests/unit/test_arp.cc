// ARP reading and building (dataplane/route/arp.h): what routed mode answers, learns and sends.
#include "dataplane/route/arp.h"

#include <gtest/gtest.h>

#include <string>

#include "dataplane/parse/byte_reader.h"
#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.family = 4;
  address.bytes[0] = a, address.bytes[1] = b, address.bytes[2] = c, address.bytes[3] = d;
  return address;
}

const MacAddress kOwnMac{{0x02, 0, 0, 0, 0, 0x01}};
const MacAddress kClientMac{{0x02, 0, 0, 0, 0, 0x10}};
const IpAddress kOwnIp = v4(198, 18, 1, 1);
const IpAddress kClientIp = v4(198, 18, 1, 10);

// Scapy's Ether(src=02:..:10, dst=broadcast)/ARP(op=1, psrc=198.18.1.10, pdst=198.18.1.1): a
// request written by another implementation.
const std::string kScapyRequest =
    "ffffffffffff02000000001008060001080006040001020000000010c612010a000000000000c6120101";

ArpCheck read(const Bytes& frame, ArpMessage& message) {
  ParsedPacket packet;
  if (parse_packet(frame, packet) != PacketParseError::none) return ArpCheck::not_arp;
  return read_arp(frame, packet, message);
}

TEST(Arp, ReadsARequestWrittenByScapy) {
  ArpMessage message;
  ASSERT_EQ(read(from_hex(kScapyRequest), message), ArpCheck::ok);
  EXPECT_EQ(message.operation, kArpRequest);
  EXPECT_EQ(message.sender_mac, kClientMac);
  EXPECT_EQ(message.sender_ip, kClientIp);
  EXPECT_EQ(message.target_ip, kOwnIp);
  EXPECT_TRUE(message.target_mac.is_zero());
  EXPECT_FALSE(is_arp_probe(message));
}

TEST(Arp, ReplyAnswersTheRequesterAndReadsBack) {
  ArpMessage request;
  ASSERT_EQ(read(from_hex(kScapyRequest), request), ArpCheck::ok);
  Bytes out(kArpFrameLength + 10, 0xee);
  ASSERT_EQ(build_arp_reply(out, kOwnMac, kOwnIp, request), kArpFrameLength);
  out.resize(kArpFrameLength);
  // Ethernet: to the requester, from the appliance.
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 6), Bytes(kClientMac.bytes, kClientMac.bytes + 6));
  EXPECT_EQ(Bytes(out.begin() + 6, out.begin() + 12), Bytes(kOwnMac.bytes, kOwnMac.bytes + 6));
  for (size_t i = 42; i < kArpFrameLength; ++i) EXPECT_EQ(out[i], 0) << "padding byte " << i;
  ArpMessage reply;
  ASSERT_EQ(read(out, reply), ArpCheck::ok);
  EXPECT_EQ(reply.operation, kArpReply);
  EXPECT_EQ(reply.sender_mac, kOwnMac);
  EXPECT_EQ(reply.sender_ip, kOwnIp);
  EXPECT_EQ(reply.target_mac, kClientMac);
  EXPECT_EQ(reply.target_ip, kClientIp);
}

TEST(Arp, RequestIsBroadcastAndMatchesScapysBytes) {
  Bytes out(kArpFrameLength);
  ASSERT_EQ(build_arp_request(out, kClientMac, kClientIp, kOwnIp), kArpFrameLength);
  const Bytes expected = from_hex(kScapyRequest);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 42), expected);
}

TEST(Arp, GratuitousAnnouncesTheOwnAddressAsSenderAndTarget) {
  Bytes out(kArpFrameLength);
  ASSERT_EQ(build_gratuitous_arp(out, kOwnMac, kOwnIp), kArpFrameLength);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], 0xff);
  ArpMessage message;
  ASSERT_EQ(read(out, message), ArpCheck::ok);
  EXPECT_EQ(message.operation, kArpRequest);
  EXPECT_EQ(message.sender_ip, kOwnIp);
  EXPECT_EQ(message.target_ip, kOwnIp);
  EXPECT_EQ(message.sender_mac, kOwnMac);
}

TEST(Arp, BuildersRefuseAShortBufferOrAnIpv6Address) {
  Bytes out(kArpFrameLength - 1);
  EXPECT_EQ(build_arp_request(out, kOwnMac, kOwnIp, kClientIp), 0u);
  Bytes room(kArpFrameLength);
  IpAddress v6;
  v6.family = 6;
  EXPECT_EQ(build_arp_request(room, kOwnMac, kOwnIp, v6), 0u);
  EXPECT_EQ(build_gratuitous_arp(room, kOwnMac, v6), 0u);
}

TEST(Arp, ProbeIsReadButNamedAProbe) {
  Bytes frame = from_hex(kScapyRequest);
  for (int i = 28; i < 32; ++i) frame[i] = 0;  // sender address 0.0.0.0 (RFC 5227)
  ArpMessage message;
  ASSERT_EQ(read(frame, message), ArpCheck::ok);
  EXPECT_TRUE(is_arp_probe(message));
  Bytes out(kArpFrameLength);
  ASSERT_EQ(build_arp_reply(out, kOwnMac, kOwnIp, message), kArpFrameLength);
  ArpMessage reply;
  ASSERT_EQ(read(out, reply), ArpCheck::ok);
  EXPECT_EQ(reply.target_ip, v4(0, 0, 0, 0));
  EXPECT_EQ(reply.target_mac, kClientMac);
}

TEST(Arp, SenderMacThatIsNotTheFramesSourceIsNotBelieved) {
  Bytes frame = from_hex(kScapyRequest);
  frame[22 + 5] = 0x66;  // ARP sender hardware address, last byte
  ArpMessage message;
  EXPECT_EQ(read(frame, message), ArpCheck::sender_mac_mismatch);
}

TEST(Arp, MulticastOrZeroSenderMacIsRefused) {
  for (uint8_t first : {uint8_t(0x01), uint8_t(0xff)}) {
    Bytes frame = from_hex(kScapyRequest);
    frame[6] = first;   // Ethernet source
    frame[22] = first;  // ARP sender
    ArpMessage message;
    EXPECT_EQ(read(frame, message), ArpCheck::bad_sender_mac) << int(first);
  }
  Bytes frame = from_hex(kScapyRequest);
  for (int i = 0; i < 6; ++i) frame[6 + i] = frame[22 + i] = 0;
  ArpMessage message;
  EXPECT_EQ(read(frame, message), ArpCheck::bad_sender_mac);
}

TEST(Arp, UnusableSenderAddressesAreRefused) {
  for (uint8_t first : {uint8_t(127), uint8_t(224), uint8_t(239), uint8_t(240), uint8_t(255)}) {
    Bytes frame = from_hex(kScapyRequest);
    frame[28] = first;
    ArpMessage message;
    EXPECT_EQ(read(frame, message), ArpCheck::bad_sender_ip) << int(first);
  }
}

TEST(Arp, MalformedBodiesNeverReachTheReader) {
  // parse_packet refuses them; read_arp refuses a packet it did not accept as ARP.
  const Bytes good = from_hex(kScapyRequest);
  struct Case {
    size_t at;
    uint8_t value;
  };
  for (Case c : {Case{15, 6}, Case{16, 0x86}, Case{18, 8}, Case{19, 16}, Case{21, 3}, Case{21, 0}}) {
    Bytes frame = good;
    frame[c.at] = c.value;
    ArpMessage message;
    EXPECT_EQ(read(frame, message), ArpCheck::not_arp) << "byte " << c.at;
  }
  Bytes truncated(good.begin(), good.end() - 1);
  ArpMessage message;
  EXPECT_EQ(read(truncated, message), ArpCheck::not_arp);
  Bytes trailing = good;
  trailing.resize(60, 0);
  trailing[59] = 'X';
  EXPECT_EQ(read(trailing, message), ArpCheck::not_arp);
}

TEST(Arp, ReaderRefusesAPacketThatIsNotItsFrames) {
  const Bytes frame = from_hex(kScapyRequest);
  ParsedPacket packet;
  ASSERT_EQ(parse_packet(frame, packet), PacketParseError::none);
  ArpMessage message;
  const Bytes shorter(frame.begin(), frame.begin() + 30);
  EXPECT_EQ(read_arp(shorter, packet, message), ArpCheck::not_arp);  // never reads past the span
  ParsedPacket ipv4 = packet;
  ipv4.ethertype = kEtherTypeIpv4;
  ipv4.ip_version = 4;
  EXPECT_EQ(read_arp(frame, ipv4, message), ArpCheck::not_arp);
}

TEST(Arp, VlanTaggedRequestIsRead) {
  const Bytes plain = from_hex(kScapyRequest);
  Bytes tagged(plain.begin(), plain.begin() + 12);
  put16(tagged, kEtherTypeVlan);
  put16(tagged, 7);
  tagged.insert(tagged.end(), plain.begin() + 12, plain.end());
  ArpMessage message;
  ASSERT_EQ(read(tagged, message), ArpCheck::ok);
  EXPECT_EQ(message.sender_ip, kClientIp);
}

TEST(Arp, EveryCheckHasAName) {
  for (int i = 0; i < int(ArpCheck::count); ++i) EXPECT_STRNE(to_string(ArpCheck(i)), "unknown") << i;
}

}  // namespace
}  // namespace sluice

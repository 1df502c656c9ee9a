#include "dataplane/verdict/icmp_unreachable.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "dataplane/verdict/internet_checksum.h"
#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;
using test::put16;
using test::put32;
using test::operator+;

const Bytes kClientMac = {2, 0, 0, 0, 0, 1};
const Bytes kGatewayMac = {2, 0, 0, 0, 0, 2};
const Bytes kClient4 = {198, 18, 0, 1};
const Bytes kServer4 = {198, 19, 0, 2};
const Bytes kClient6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Bytes kServer6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

// From the client: destination MAC the gateway's, source the client's.
Bytes ethernet(uint16_t ethertype, std::vector<uint16_t> tags = {}) {
  Bytes b = kGatewayMac + kClientMac;
  for (uint16_t tag : tags) {
    put16(b, tag);
    put16(b, 100);
  }
  put16(b, ethertype);
  return b;
}

Bytes udp(size_t payload_length) {
  Bytes b;
  put16(b, 40000);
  put16(b, 53);
  put16(b, uint16_t(8 + payload_length));
  put16(b, 0x1234);
  for (size_t i = 0; i < payload_length; ++i) b.push_back(uint8_t(i * 7 + 3));
  return b;
}

Bytes ipv4(const Bytes& l4, uint16_t fragment = 0, size_t option_bytes = 0, uint8_t protocol = kIpProtoUdp) {
  Bytes b;
  b.push_back(uint8_t(0x40 | ((20 + option_bytes) / 4)));
  b.push_back(0x10);
  put16(b, uint16_t(20 + option_bytes + l4.size()));
  put16(b, 0xbeef);
  put16(b, fragment);
  b.push_back(57);
  b.push_back(protocol);
  put16(b, 0x5555);  // the original's checksum is quoted as is
  b = b + kClient4 + kServer4;
  for (size_t i = 0; i < option_bytes; ++i) b.push_back(1);  // NOP options
  return b + l4;
}

Bytes ipv6(const Bytes& l4, uint8_t next_header = kIpProtoUdp) {
  Bytes b;
  put32(b, 0x60012345);
  put16(b, uint16_t(l4.size()));
  b.push_back(next_header);
  b.push_back(50);
  return b + kClient6 + kServer6 + l4;
}

// A fragment header in front of `l4`; offset in 8-byte units.
Bytes ipv6_fragment(const Bytes& l4, uint16_t offset, bool more, uint32_t id) {
  Bytes header = {kIpProtoUdp, 0};
  put16(header, uint16_t(offset << 3 | (more ? 1 : 0)));
  put32(header, id);
  return ipv6(header + l4, 44);
}

uint16_t read16(const Bytes& b, size_t at) { return uint16_t(b[at] << 8 | b[at + 1]); }
Bytes slice(const Bytes& b, size_t at, size_t length) { return Bytes(b.begin() + at, b.begin() + at + length); }

// Zero when the summed range (checksum field included) is valid.
uint16_t verify(const uint8_t* data, size_t length, uint32_t sum = 0) {
  return checksum_fold(checksum_sum(data, length, sum));
}

struct Built {
  Bytes original;
  ParsedPacket in;
  Bytes frame;
  ParsedPacket out;
};

Built build(const Bytes& original, size_t out_size = 2048) {
  Built b{original, {}, {}, {}};
  EXPECT_EQ(parse_packet(original, b.in), PacketParseError::none);
  Bytes out(out_size, 0xcc);
  size_t length = build_icmp_unreachable(original, b.in, out);
  EXPECT_GT(length, 0u);
  out.resize(length);
  b.frame = out;
  EXPECT_EQ(parse_packet(b.frame, b.out), PacketParseError::none);
  return b;
}

// Checks an IPv4 error for a UDP datagram from the client that starts at `l3` in `original`.
void expect_ipv4_error(const Built& b, size_t l3, size_t original_ip_length, size_t original_header_length) {
  const Bytes& f = b.frame;
  const size_t quoted = std::min(original_ip_length, original_header_length + 64);
  ASSERT_EQ(f.size(), l3 + 20 + 8 + quoted);
  // L2: MACs swapped, the rest (tags, EtherType) as it was.
  EXPECT_EQ(slice(f, 0, 6), kClientMac);
  EXPECT_EQ(slice(f, 6, 6), kGatewayMac);
  EXPECT_EQ(slice(f, 12, l3 - 12), slice(b.original, 12, l3 - 12));
  // IPv4 header.
  const uint8_t* ip = f.data() + l3;
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(read16(f, l3 + 2), 20 + 8 + quoted);  // total length
  EXPECT_EQ(read16(f, l3 + 6) & 0x1fff, 0);       // no fragment offset
  EXPECT_EQ((read16(f, l3 + 6) & 0x2000), 0);     // no more fragments
  EXPECT_EQ(ip[8], 64);                            // TTL
  EXPECT_EQ(ip[9], kIpProtoIcmp);
  EXPECT_EQ(slice(f, l3 + 12, 4), kServer4);  // from the denied destination…
  EXPECT_EQ(slice(f, l3 + 16, 4), kClient4);  // …back to the sender
  EXPECT_EQ(verify(ip, 20), 0) << "IPv4 header checksum";
  // ICMP.
  const size_t icmp = l3 + 20;
  EXPECT_EQ(f[icmp], 3);
  EXPECT_EQ(f[icmp + 1], 13);
  EXPECT_EQ(slice(f, icmp + 4, 4), Bytes(4, 0));  // unused
  EXPECT_EQ(verify(f.data() + icmp, 8 + quoted), 0) << "ICMP checksum";
  EXPECT_EQ(slice(f, icmp + 8, quoted), slice(b.original, l3, quoted));
  // And the parser reads it back as such.
  EXPECT_EQ(b.out.ip_version, 4);
  EXPECT_EQ(b.out.l4_protocol, kIpProtoIcmp);
  EXPECT_EQ(b.out.icmp_type, 3);
  EXPECT_EQ(b.out.icmp_code, 13);
  EXPECT_EQ(b.out.src, b.in.dst);
  EXPECT_EQ(b.out.dst, b.in.src);
  EXPECT_EQ(b.out.vlan_count, b.in.vlan_count);
}

void expect_ipv6_error(const Built& b, size_t l3, size_t original_ip_length) {
  const Bytes& f = b.frame;
  const size_t quoted = std::min<size_t>(original_ip_length, 1280 - 48);
  ASSERT_EQ(f.size(), l3 + 40 + 8 + quoted);
  EXPECT_LE(f.size() - l3, 1280u);
  EXPECT_EQ(slice(f, 0, 6), kClientMac);
  EXPECT_EQ(slice(f, 6, 6), kGatewayMac);
  EXPECT_EQ(slice(f, 12, l3 - 12), slice(b.original, 12, l3 - 12));
  const uint8_t* ip = f.data() + l3;
  EXPECT_EQ(ip[0] >> 4, 6);
  EXPECT_EQ(read16(f, l3 + 4), 8 + quoted);  // payload length
  EXPECT_EQ(ip[6], kIpProtoIcmpv6);          // next header
  EXPECT_EQ(ip[7], 64);                      // hop limit
  EXPECT_EQ(slice(f, l3 + 8, 16), kServer6);
  EXPECT_EQ(slice(f, l3 + 24, 16), kClient6);
  const size_t icmp = l3 + 40;
  EXPECT_EQ(f[icmp], 1);
  EXPECT_EQ(f[icmp + 1], 1);
  EXPECT_EQ(slice(f, icmp + 4, 4), Bytes(4, 0));
  // RFC 8200 8.1 pseudo-header: source, destination, 32-bit upper-layer length, 3 zeros, next header.
  Bytes pseudo = slice(f, l3 + 8, 32);
  put32(pseudo, uint32_t(8 + quoted));
  pseudo = pseudo + Bytes{0, 0, 0, kIpProtoIcmpv6};
  EXPECT_EQ(verify(f.data() + icmp, 8 + quoted, checksum_sum(pseudo.data(), pseudo.size())), 0) << "ICMPv6 checksum";
  EXPECT_EQ(slice(f, icmp + 8, quoted), slice(b.original, l3, quoted));
  EXPECT_EQ(b.out.ip_version, 6);
  EXPECT_EQ(b.out.l4_protocol, kIpProtoIcmpv6);
  EXPECT_EQ(b.out.icmp_type, 1);
  EXPECT_EQ(b.out.icmp_code, 1);
  EXPECT_EQ(b.out.src, b.in.dst);
  EXPECT_EQ(b.out.dst, b.in.src);
}

TEST(IcmpUnreachable, Ipv4UdpDatagram) {
  Bytes original = ethernet(0x0800) + ipv4(udp(500));
  Built b = build(original);
  expect_ipv4_error(b, 14, 20 + 8 + 500, 20);
  EXPECT_EQ(b.frame.size(), 14u + 20 + 8 + 84);
}

TEST(IcmpUnreachable, Ipv4ShortDatagramIsQuotedWhole) {
  // Odd length: 20 + 8 + 7 = 35 bytes quoted.
  Built b = build(ethernet(0x0800) + ipv4(udp(7)));
  expect_ipv4_error(b, 14, 35, 20);
}

TEST(IcmpUnreachable, Ipv4EthernetPaddingIsNotQuoted) {
  Bytes original = ethernet(0x0800) + ipv4(udp(2));
  original.resize(60, 0xee);
  Built b = build(original);
  expect_ipv4_error(b, 14, 30, 20);
  // The quote ends where the IP packet ends: the checked frame length leaves no room for padding.
  EXPECT_EQ(b.frame.size(), 14u + 20 + 8 + 30);
}

TEST(IcmpUnreachable, Ipv4ExactlyHeaderPlus64) {
  Built b = build(ethernet(0x0800) + ipv4(udp(56)));  // 20 + 64 bytes
  expect_ipv4_error(b, 14, 84, 20);
  Built longer = build(ethernet(0x0800) + ipv4(udp(57)));
  expect_ipv4_error(longer, 14, 85, 20);
  EXPECT_EQ(longer.frame.size(), b.frame.size());
}

TEST(IcmpUnreachable, Ipv4OptionsAreQuotedToo) {
  Bytes original = ethernet(0x0800) + ipv4(udp(200), 0, 8);
  Built b = build(original);
  expect_ipv4_error(b, 14, 28 + 8 + 200, 28);  // header 28 + 64
}

TEST(IcmpUnreachable, Ipv4FirstFragmentIsAnswered) {
  Bytes original = ethernet(0x0800) + ipv4(udp(100), 0x2000);  // MF, offset 0
  Built b = build(original);
  expect_ipv4_error(b, 14, 128, 20);
}

TEST(IcmpUnreachable, Ipv4InVlanKeepsTheTag) {
  Bytes original = ethernet(0x0800, {0x8100}) + ipv4(udp(300));
  Built b = build(original);
  EXPECT_EQ(b.out.vlan_count, 1);
  EXPECT_EQ(slice(b.frame, 12, 6), slice(original, 12, 6));
  expect_ipv4_error(b, 18, 328, 20);
}

TEST(IcmpUnreachable, Ipv4InQinQKeepsBothTags) {
  Bytes original = ethernet(0x0800, {0x88A8, 0x8100}) + ipv4(udp(30));
  Built b = build(original);
  EXPECT_EQ(b.out.vlan_count, 2);
  expect_ipv4_error(b, 22, 58, 20);
}

TEST(IcmpUnreachable, Ipv6UdpDatagramOf1500Bytes) {
  Bytes original = ethernet(0x86DD) + ipv6(udp(1500 - 40 - 8));
  ASSERT_EQ(original.size(), 14u + 1500);
  Built b = build(original);
  expect_ipv6_error(b, 14, 1500);
  EXPECT_EQ(b.frame.size(), 14u + 1280);
}

TEST(IcmpUnreachable, Ipv6ShortDatagramIsQuotedWhole) {
  Built b = build(ethernet(0x86DD) + ipv6(udp(13)));
  expect_ipv6_error(b, 14, 61);
}

TEST(IcmpUnreachable, Ipv6InVlan) {
  Bytes original = ethernet(0x86DD, {0x8100}) + ipv6(udp(1400));
  Built b = build(original);
  EXPECT_EQ(b.out.vlan_count, 1);
  expect_ipv6_error(b, 18, 1448);
  EXPECT_EQ(b.frame.size(), 18u + 1280);
}

TEST(IcmpUnreachable, Ipv6FirstFragmentIsAnswered) {
  Bytes original = ethernet(0x86DD) + ipv6_fragment(udp(100), 0, true, 0x11223344);
  Built b = build(original);
  expect_ipv6_error(b, 14, 40 + 8 + 108);
}

TEST(IcmpUnreachable, LaterFragmentIsNotAnswered) {
  ParsedPacket in;
  Bytes out(2048);
  Bytes v4 = ethernet(0x0800) + ipv4(udp(100), 0x0010);  // offset 16 × 8
  ASSERT_EQ(parse_packet(v4, in), PacketParseError::none);
  ASSERT_TRUE(in.is_later_fragment);
  EXPECT_EQ(build_icmp_unreachable(v4, in, out), 0u);

  Bytes v4_last = ethernet(0x0800) + ipv4(udp(100), 0x2001);  // MF and offset 8
  ASSERT_EQ(parse_packet(v4_last, in), PacketParseError::none);
  ASSERT_TRUE(in.is_later_fragment);
  EXPECT_EQ(build_icmp_unreachable(v4_last, in, out), 0u);

  Bytes v6 = ethernet(0x86DD) + ipv6_fragment(udp(100), 185, false, 7);
  ASSERT_EQ(parse_packet(v6, in), PacketParseError::none);
  ASSERT_TRUE(in.is_later_fragment);
  EXPECT_EQ(build_icmp_unreachable(v6, in, out), 0u);
}

TEST(IcmpUnreachable, OutTooSmall) {
  ParsedPacket in;
  Bytes v4 = ethernet(0x0800) + ipv4(udp(500));
  ASSERT_EQ(parse_packet(v4, in), PacketParseError::none);
  const size_t v4_length = 14 + 20 + 8 + 84;
  Bytes small(v4_length - 1);
  EXPECT_EQ(build_icmp_unreachable(v4, in, small), 0u);
  Bytes exact(v4_length);
  EXPECT_EQ(build_icmp_unreachable(v4, in, exact), v4_length);
  EXPECT_EQ(build_icmp_unreachable(v4, in, std::span<uint8_t>()), 0u);

  Bytes v6 = ethernet(0x86DD) + ipv6(udp(1452));
  ASSERT_EQ(parse_packet(v6, in), PacketParseError::none);
  Bytes small6(14 + 1280 - 1);
  EXPECT_EQ(build_icmp_unreachable(v6, in, small6), 0u);
  Bytes exact6(14 + 1280);
  EXPECT_EQ(build_icmp_unreachable(v6, in, exact6), 14u + 1280);
}

TEST(IcmpUnreachable, RefusesWhatItCannotAnswer) {
  ParsedPacket in;
  Bytes out(2048);
  // ARP: no IP packet.
  Bytes arp = ethernet(0x0806) + Bytes{0, 1, 8, 0, 6, 4, 0, 1} + Bytes(20, 0);  // an ARP request
  ASSERT_EQ(parse_packet(arp, in), PacketParseError::none);
  EXPECT_EQ(build_icmp_unreachable(arp, in, out), 0u);
  // A parse that does not belong to this frame.
  Bytes v4 = ethernet(0x0800) + ipv4(udp(10));
  ASSERT_EQ(parse_packet(v4, in), PacketParseError::none);
  EXPECT_EQ(build_icmp_unreachable(Bytes(10), in, out), 0u);
  EXPECT_EQ(build_icmp_unreachable(Bytes(14), in, out), 0u);
}

void expect_in_place_matches(const Bytes& original) {
  ParsedPacket in;
  ASSERT_EQ(parse_packet(original, in), PacketParseError::none);
  Bytes separate(2048, 0xcc);
  size_t expected_length = build_icmp_unreachable(original, in, separate);
  ASSERT_GT(expected_length, 0u);
  separate.resize(expected_length);

  // The frame sits at the start of a buffer large enough for the answer.
  Bytes buffer = original;
  buffer.resize(std::max(original.size(), expected_length) + 16, 0xcc);
  std::span<const uint8_t> frame(buffer.data(), original.size());
  size_t length = build_icmp_unreachable(frame, in, buffer);
  ASSERT_EQ(length, expected_length);
  buffer.resize(length);
  EXPECT_EQ(buffer, separate);
}

TEST(IcmpUnreachable, InPlaceGivesTheSameBytes) {
  expect_in_place_matches(ethernet(0x0800) + ipv4(udp(500)));
  expect_in_place_matches(ethernet(0x0800) + ipv4(udp(5)));          // the answer is longer than the frame
  expect_in_place_matches(ethernet(0x0800, {0x8100}) + ipv4(udp(40), 0, 12));
  expect_in_place_matches(ethernet(0x86DD) + ipv6(udp(1452)));
  expect_in_place_matches(ethernet(0x86DD, {0x88A8, 0x8100}) + ipv6(udp(3)));
}

}  // namespace
}  // namespace sluice

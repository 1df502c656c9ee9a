#include "dataplane/parse/packet_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;
using test::put16;
using test::put32;
using test::operator+;

// Destination MAC 02:00:00:00:00:02, source 02:00:00:00:00:01, then one tag per entry of `tags`.
Bytes ethernet(uint16_t ethertype, std::vector<uint16_t> tags = {}) {
  Bytes b = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
  for (uint16_t tag : tags) {
    put16(b, tag);
    put16(b, 100);  // VLAN id 100
  }
  put16(b, ethertype);
  return b;
}

const Bytes kSrc4 = {198, 18, 0, 1};
const Bytes kDst4 = {198, 19, 0, 2};
const Bytes kSrc6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const Bytes kDst6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

Bytes ipv4(uint8_t protocol, const Bytes& l4, uint16_t fragment = 0, size_t option_bytes = 0) {
  Bytes b;
  b.push_back(uint8_t(0x40 | ((20 + option_bytes) / 4)));
  b.push_back(0);
  put16(b, uint16_t(20 + option_bytes + l4.size()));
  put16(b, 0x1234);
  put16(b, fragment);
  b.push_back(64);
  b.push_back(protocol);
  put16(b, 0);
  b = b + kSrc4 + kDst4;
  b.resize(b.size() + option_bytes, 1);  // NOP options
  return b + l4;
}

Bytes ipv6(uint8_t next_header, const Bytes& payload) {
  Bytes b;
  put32(b, 0x60000000);
  put16(b, uint16_t(payload.size()));
  b.push_back(next_header);
  b.push_back(64);
  return b + kSrc6 + kDst6 + payload;
}

// A generic extension header (hop-by-hop, routing, destination options): (units + 1) * 8 bytes.
Bytes ipv6_extension(uint8_t next_header, uint8_t units) {
  Bytes b((units + 1) * 8, 0);
  b[0] = next_header;
  b[1] = units;
  return b;
}

Bytes ipv6_fragment(uint8_t next_header, uint16_t offset_units, bool more) {
  Bytes b = {next_header, 0};
  put16(b, uint16_t((offset_units << 3) | (more ? 1 : 0)));
  put32(b, 0xabcdef01);
  return b;
}

Bytes tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const Bytes& payload = {},
          size_t option_bytes = 0) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, seq);
  put32(b, ack);
  b.push_back(uint8_t(((20 + option_bytes) / 4) << 4));
  b.push_back(flags);
  put16(b, 65535);
  put16(b, 0);
  put16(b, 0);
  b.resize(b.size() + option_bytes, 1);
  return b + payload;
}

Bytes udp(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, uint16_t(8 + payload.size()));
  put16(b, 0);
  return b + payload;
}

const Bytes kHello = {'h', 'e', 'l', 'l', 'o'};

PacketParseError parse(const Bytes& frame, ParsedPacket& out) { return parse_packet(frame, out); }

TEST(PacketParser, Ipv4TcpSegment) {
  Bytes frame = ethernet(0x0800) + ipv4(kIpProtoTcp, tcp(40000, 443, 1000, 2000, kTcpPsh | kTcpAck, kHello));
  ParsedPacket p;
  ASSERT_EQ(parse(frame, p), PacketParseError::none);
  EXPECT_EQ(p.ethertype, 0x0800);
  EXPECT_EQ(p.vlan_count, 0);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.l3_offset, 14);
  EXPECT_EQ(p.l4_offset, 34);
  EXPECT_EQ(p.payload_offset, 54);
  EXPECT_EQ(p.payload_length, 5);
  EXPECT_EQ(p.l4_protocol, kIpProtoTcp);
  EXPECT_FALSE(p.is_fragment);
  EXPECT_EQ(format_ip(p.src), "198.18.0.1");
  EXPECT_EQ(format_ip(p.dst), "198.19.0.2");
  EXPECT_EQ(p.src.v4_host_order(), 0xc6120001u);
  EXPECT_EQ(p.src_port, 40000);
  EXPECT_EQ(p.dst_port, 443);
  EXPECT_EQ(p.tcp_seq, 1000u);
  EXPECT_EQ(p.tcp_ack, 2000u);
  EXPECT_EQ(p.tcp_flags, kTcpPsh | kTcpAck);
  EXPECT_EQ(frame[p.payload_offset], 'h');
}

TEST(PacketParser, TcpOptionsMovePayload) {
  Bytes frame = ethernet(0x0800) + ipv4(kIpProtoTcp, tcp(1, 2, 0xfffffffe, 0, kTcpSyn, kHello, 12));
  ParsedPacket p;
  ASSERT_EQ(parse(frame, p), PacketParseError::none);
  EXPECT_EQ(p.payload_offset, 14 + 20 + 32);
  EXPECT_EQ(p.payload_length, 5);
  EXPECT_EQ(p.tcp_seq, 0xfffffffeu);
  EXPECT_EQ(p.tcp_flags, kTcpSyn);
}

TEST(PacketParser, Ipv4OptionsMoveL4) {
  Bytes frame = ethernet(0x0800) + ipv4(kIpProtoUdp, udp(5353, 53, kHello), 0, 8);
  ParsedPacket p;
  ASSERT_EQ(parse(frame, p), PacketParseError::none);
  EXPECT_EQ(p.l4_offset, 14 + 28);
  EXPECT_EQ(p.payload_offset, 14 + 28 + 8);
  EXPECT_EQ(p.src_port, 5353);
  EXPECT_EQ(p.dst_port, 53);
}

TEST(PacketParser, EthernetPaddingIsNotPayload) {
  Bytes frame = ethernet(0x0800) + ipv4(kIpProtoTcp, tcp(1, 80, 5, 6, kTcpAck));
  ASSERT_EQ(frame.size(), 54u);
  frame.resize(60, 0xee);  // the minimum Ethernet frame, padded by the sender's NIC
  ParsedPacket p;
  ASSERT_EQ(parse(frame, p), PacketParseError::none);
  EXPECT_EQ(p.payload_offset, 54);
  EXPECT_EQ(p.payload_length, 0);

  Bytes small_udp = ethernet(0x0800) + ipv4(kIpProtoUdp, udp(1, 53, {7}));
  small_udp.resize(60, 0xee);
  ASSERT_EQ(parse(small_udp, p), PacketParseError::none);
  EXPECT_EQ(p.payload_length, 1);
}

// l3_end is where the IP packet ends, whatever follows it in the frame: the packet path cuts
// every forwarded frame there, so padding or a trailer never leaves.
TEST(PacketParser, L3EndIsTheIpLength) {
  ParsedPacket p;
  const Bytes v4 = ethernet(0x0800) + ipv4(kIpProtoUdp, udp(1, 53, kHello));
  ASSERT_EQ(parse(v4, p), PacketParseError::none);
  EXPECT_EQ(p.l3_end, v4.size());
  Bytes trailer = v4 + Bytes(200, 'X');
  ASSERT_EQ(parse(trailer, p), PacketParseError::none);
  EXPECT_EQ(p.l3_end, v4.size());

  const Bytes tagged = ethernet(0x86DD, {0x88A8, 0x8100}) + ipv6(kIpProtoTcp, tcp(1, 443, 1, 2, kTcpAck, kHello));
  ASSERT_EQ(parse(tagged + Bytes(30, 'X'), p), PacketParseError::none);
  EXPECT_EQ(p.l3_end, tagged.size());

  // A later fragment (no L4 header read) ends at its IP length too.
  const Bytes later = ethernet(0x0800) + ipv4(kIpProtoUdp, kHello, 0x0001);
  ASSERT_EQ(parse(later + Bytes(9, 'X'), p), PacketParseError::none);
  EXPECT_TRUE(p.is_later_fragment);
  EXPECT_EQ(p.l3_end, later.size());
  const Bytes later6 = ethernet(0x86DD) + ipv6(44, ipv6_fragment(kIpProtoUdp, 2, false) + kHello);
  ASSERT_EQ(parse(later6 + Bytes(9, 'X'), p), PacketParseError::none);
  EXPECT_EQ(p.l3_end, later6.size());

  // ARP ends at its 28-byte body, after zero padding too.
  Bytes arp = ethernet(0x0806, {0x8100});
  put16(arp, 1);
  put16(arp, 0x0800);
  arp = arp + Bytes{6, 4, 0, 1, 2, 0, 0, 0, 0, 1} + kSrc4 + Bytes(6, 0) + kDst4;
  ASSERT_EQ(parse(arp + Bytes(64 - arp.size(), 0), p), PacketParseError::none);
  EXPECT_EQ(p.l3_end, 18 + 28);
}

// An IP length claiming more than the frame holds is refused by name: no frame is forwarded
// with bytes the parser did not see.
TEST(PacketParser, IpLengthPastTheFrameIsRefused) {
  ParsedPacket p;
  Bytes v4 = ethernet(0x0800) + ipv4(kIpProtoUdp, udp(1, 53, kHello));
  v4[16] = 0x05;  // total length 1280 + ...
  EXPECT_EQ(parse(v4, p), PacketParseError::truncated_ipv4);
  Bytes v6 = ethernet(0x86DD) + ipv6(kIpProtoUdp, udp(1, 53, kHello));
  v6[18] = 0x05;
  EXPECT_EQ(parse(v6, p), PacketParseError::truncated_ipv6);
  // Padding behind the packet does not make up for a length past the frame's end.
  Bytes short_by_one = ethernet(0x0800) + ipv4(kIpProtoUdp, udp(1, 53, kHello));
  short_by_one.pop_back();
  EXPECT_EQ(parse(short_by_one, p), PacketParseError::truncated_ipv4);
}

TEST(PacketParser, VlanAndQinQ) {
  ParsedPacket p;
  Bytes one = ethernet(0x0800, {0x8100}) + ipv4(kIpProtoUdp, udp(1, 2, kHello));
  ASSERT_EQ(parse(one, p), PacketParseError::none);
  EXPECT_EQ(p.vlan_count, 1);
  EXPECT_EQ(p.l3_offset, 18);
  EXPECT_EQ(p.ethertype, 0x0800);
  EXPECT_EQ(p.payload_offset, 18 + 28);

  Bytes two = ethernet(0x86DD, {0x88A8, 0x8100}) + ipv6(kIpProtoUdp, udp(1, 2, kHello));
  ASSERT_EQ(parse(two, p), PacketParseError::none);
  EXPECT_EQ(p.vlan_count, 2);
  EXPECT_EQ(p.l3_offset, 22);
  EXPECT_EQ(p.ethertype, 0x86DD);
  EXPECT_EQ(p.l4_offset, 62);

  Bytes three = ethernet(0x0800, {0x88A8, 0x8100, 0x8100}) + ipv4(kIpProtoUdp, udp(1, 2, kHello));
  EXPECT_EQ(parse(three, p), PacketParseError::too_many_vlan_tags);
  EXPECT_EQ(p.vlan_count, 2);
}

// Ethernet/IPv4 ARP: htype 1, ptype 0x0800, lengths 6/4, `operation`, then sender and target.
Bytes arp_body(uint16_t operation = 1) {
  Bytes b;
  put16(b, 1);
  put16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  put16(b, operation);
  b = b + Bytes{2, 0, 0, 0, 0, 1} + kSrc4 + Bytes(6, 0) + kDst4;
  return b;
}

TEST(PacketParser, ArpIsParsedWithoutIp) {
  Bytes frame = ethernet(0x0806) + arp_body();
  ParsedPacket p;
  ASSERT_EQ(parse(frame, p), PacketParseError::none);
  EXPECT_EQ(p.ethertype, 0x0806);
  EXPECT_EQ(p.ip_version, 0);
  EXPECT_EQ(p.l3_offset, 14);
  EXPECT_EQ(parse(ethernet(0x0806) + arp_body(2), p), PacketParseError::none);
  EXPECT_EQ(parse(ethernet(0x0806, {0x8100}) + arp_body(), p), PacketParseError::none);
}

// Ethernet pads a 42-byte ARP frame to 60 bytes with zeros (some stacks to 64): that passes.
TEST(PacketParser, ArpZeroPaddingPasses) {
  ParsedPacket p;
  Bytes padded = ethernet(0x0806) + arp_body();
  padded.resize(60, 0);
  EXPECT_EQ(parse(padded, p), PacketParseError::none);
  padded.resize(64, 0);
  EXPECT_EQ(parse(padded, p), PacketParseError::none);
}

// Anything after the body that is not zero padding of a short frame is data riding on ARP.
TEST(PacketParser, ArpTrailingDataIsRefused) {
  ParsedPacket p;
  Bytes marked = ethernet(0x0806) + arp_body();
  marked.resize(60, 0);
  marked[59] = 'X';
  EXPECT_EQ(parse(marked, p), PacketParseError::arp_trailing_data);
  Bytes long_zeros = ethernet(0x0806) + arp_body();
  long_zeros.resize(65, 0);
  EXPECT_EQ(parse(long_zeros, p), PacketParseError::arp_trailing_data);
  Bytes big = ethernet(0x0806) + arp_body() + Bytes(1400, 'X');
  EXPECT_EQ(parse(big, p), PacketParseError::arp_trailing_data);
}

TEST(PacketParser, NonArpBehindArpEthertypeIsRefused) {
  ParsedPacket p;
  EXPECT_EQ(parse(ethernet(0x0806) + Bytes(28, 0), p), PacketParseError::bad_arp);
  EXPECT_EQ(parse(ethernet(0x0806) + arp_body(3), p), PacketParseError::bad_arp);  // RARP request
  Bytes ipv6_arp = arp_body();
  ipv6_arp[3] = 0xdd;  // protocol 0x08dd
  EXPECT_EQ(parse(ethernet(0x0806) + ipv6_arp, p), PacketParseError::bad_arp);
  Bytes long_hardware = arp_body();
  long_hardware[4] = 8;
  EXPECT_EQ(parse(ethernet(0x0806) + long_hardware, p), PacketParseError::bad_arp);
  Bytes not_ethernet = arp_body();
  not_ethernet[1] = 6;  // IEEE 802
  EXPECT_EQ(parse(ethernet(0x0806) + not_ethernet, p), PacketParseError::bad_arp);
  Bytes cut = ethernet(0x0806) + arp_body();
  cut.pop_back();
  EXPECT_EQ(parse(cut, p), PacketParseError::bad_arp);
}

// IPv4 with explicit option bytes (a multiple of 4) after the 20-byte header.
Bytes ipv4_with_options(const Bytes& options, const Bytes& l4) {
  Bytes b = ipv4(kIpProtoUdp, l4, 0, options.size());
  std::copy(options.begin(), options.end(), b.begin() + 20);
  return b;
}

TEST(PacketParser, Ipv4SourceRouteIsFlagged) {
  ParsedPacket p;
  // LSRR (131) and SSRR (137): type, length 7, pointer 4, one address; then End.
  for (uint8_t type : {uint8_t(131), uint8_t(137)}) {
    Bytes options = {type, 7, 4, 198, 19, 0, 9, 0};
    ASSERT_EQ(parse(ethernet(0x0800) + ipv4_with_options(options, udp(1, 53, kHello)), p), PacketParseError::none);
    EXPECT_TRUE(p.source_routed) << int(type);
    EXPECT_EQ(p.ttl, 64);
  }
  // Behind a NOP, too.
  Bytes after_nop = {1, 131, 7, 4, 198, 19, 0, 9};
  ASSERT_EQ(parse(ethernet(0x0800) + ipv4_with_options(after_nop, udp(1, 53, kHello)), p), PacketParseError::none);
  EXPECT_TRUE(p.source_routed);
  // Record route (7) and NOPs name no path.
  Bytes record_route = {7, 7, 4, 0, 0, 0, 0, 0};
  ASSERT_EQ(parse(ethernet(0x0800) + ipv4_with_options(record_route, udp(1, 53, kHello)), p), PacketParseError::none);
  EXPECT_FALSE(p.source_routed);
  ASSERT_EQ(parse(ethernet(0x0800) + ipv4(kIpProtoUdp, udp(1, 53, kHello), 0, 8), p), PacketParseError::none);
  EXPECT_FALSE(p.source_routed);
  // After End (0), bytes are padding, not options.
  Bytes after_end = {0, 131, 7, 4, 198, 19, 0, 9};
  ASSERT_EQ(parse(ethernet(0x0800) + ipv4_with_options(after_end, udp(1, 53, kHello)), p), PacketParseError::none);
  EXPECT_FALSE(p.source_routed);
}

TEST(PacketParser, MalformedIpv4OptionsAreRefused) {
  ParsedPacket p;
  for (const Bytes& options : {Bytes{131, 0, 0, 0}, Bytes{131, 1, 0, 0}, Bytes{131, 9, 4, 0, 0, 0, 0, 0},
                               Bytes{1, 1, 1, 7}}) {
    EXPECT_EQ(parse(ethernet(0x0800) + ipv4_with_options(options, udp(1, 53, kHello)), p),
              PacketParseError::bad_ipv4_options);
  }
}

TEST(PacketParser, Ipv6RoutingHeaderType0IsFlagged) {
  ParsedPacket p;
  Bytes type0 = ipv6_extension(kIpProtoUdp, 2);  // one address after the 8-byte head
  type0[2] = 0;                                  // routing type 0
  type0[3] = 1;                                  // segments left
  ASSERT_EQ(parse(ethernet(0x86DD) + ipv6(43, type0 + udp(1, 53, kHello)), p), PacketParseError::none);
  EXPECT_TRUE(p.source_routed);
  EXPECT_EQ(p.ttl, 64);
  EXPECT_EQ(p.l4_protocol, kIpProtoUdp);
  // Behind a hop-by-hop header too.
  ASSERT_EQ(parse(ethernet(0x86DD) + ipv6(0, ipv6_extension(43, 0) + type0 + udp(1, 53, kHello)), p),
            PacketParseError::none);
  EXPECT_TRUE(p.source_routed);
  // Type 2 (mobile IPv6) and segment routing (4) are not type 0.
  for (uint8_t type : {uint8_t(2), uint8_t(4)}) {
    Bytes other = type0;
    other[2] = type;
    ASSERT_EQ(parse(ethernet(0x86DD) + ipv6(43, other + udp(1, 53, kHello)), p), PacketParseError::none);
    EXPECT_FALSE(p.source_routed) << int(type);
  }
}

// Bytes in the IP header that no layer the appliance judges reads: any IPv4 option, any IPv6
// extension header but the fragment header (docs/POLICY.md: dropped before a verdict).
TEST(PacketParser, IpOptionsAreFlagged) {
  ParsedPacket p;
  ASSERT_EQ(parse(ethernet(0x0800) + ipv4(kIpProtoUdp, udp(1, 53, kHello)), p), PacketParseError::none);
  EXPECT_FALSE(p.ip_options);
  for (const Bytes& options : {Bytes{1, 1, 1, 0}, Bytes{7, 7, 4, 0, 0, 0, 0, 0}, Bytes{0x9e, 4, 'M', 'K'}}) {
    ASSERT_EQ(parse(ethernet(0x0800) + ipv4_with_options(options, udp(1, 53, kHello)), p), PacketParseError::none);
    EXPECT_TRUE(p.ip_options) << int(options[0]);
  }
  ASSERT_EQ(parse(ethernet(0x86DD) + ipv6(kIpProtoUdp, udp(1, 53, kHello)), p), PacketParseError::none);
  EXPECT_FALSE(p.ip_options);
  for (uint8_t header : {uint8_t(0), uint8_t(43), uint8_t(60)}) {  // hop-by-hop, routing, destination options
    Bytes extension = ipv6_extension(kIpProtoUdp, 0);
    if (header == 43) extension[2] = 4;  // segment routing: not type 0, still bytes
    ASSERT_EQ(parse(ethernet(0x86DD) + ipv6(header, extension + udp(1, 53, kHello)), p), PacketParseError::none);
    EXPECT_TRUE(p.ip_options) << int(header);
    EXPECT_EQ(p.l4_protocol, kIpProtoUdp);
  }
  // A fragment header is how IPv6 fragments: not an option.
  Bytes fragment = {kIpProtoUdp, 0, 0, 0, 0, 0, 0, 1};  // offset 0, last fragment
  ASSERT_EQ(parse(ethernet(0x86DD) + ipv6(44, fragment + udp(1, 53, kHello)), p), PacketParseError::none);
  EXPECT_TRUE(p.is_fragment);
  EXPECT_FALSE(p.ip_options);
}

TEST(PacketParser, UnsupportedEthertype) {
  ParsedPacket p;
  EXPECT_EQ(parse(ethernet(0x88CC) + Bytes(40, 0), p), PacketParseError::unsupported_ethertype);
  EXPECT_EQ(p.ethertype, 0x88CC);
}

TEST(PacketParser, BadIpv4Headers) {
  ParsedPacket p;
  Bytes good = ethernet(0x0800) + ipv4(kIpProtoUdp, udp(1, 2, kHello));

  Bytes version = good;
  version[14] = 0x65;
  EXPECT_EQ(parse(version, p), PacketParseError::bad_ipv4_header);

  Bytes short_ihl = good;
  short_ihl[14] = 0x44;
  EXPECT_EQ(parse(short_ihl, p), PacketParseError::bad_ipv4_header);

  Bytes short_total = good;
  short_total[16] = 0;
  short_total[17] = 19;
  EXPECT_EQ(parse(short_total, p), PacketParseError::bad_ipv4_header);

  Bytes long_total = good;
  long_total[17] = uint8_t(long_total[17] + 1);
  EXPECT_EQ(parse(long_total, p), PacketParseError::truncated_ipv4);

  // IHL pointing past the total length: options would swallow the transport header.
  Bytes ihl_past_total = ethernet(0x0800) + ipv4(kIpProtoUdp, {});
  ihl_past_total[14] = 0x46;
  EXPECT_EQ(parse(ihl_past_total, p), PacketParseError::bad_ipv4_header);
}

TEST(PacketParser, Ipv4Fragments) {
  ParsedPacket p;
  Bytes first = ethernet(0x0800) + ipv4(kIpProtoTcp, tcp(1234, 80, 1, 2, kTcpAck, kHello), 0x2000);
  ASSERT_EQ(parse(first, p), PacketParseError::none);
  EXPECT_TRUE(p.is_fragment);
  EXPECT_FALSE(p.is_later_fragment);
  EXPECT_EQ(p.dst_port, 80);

  // The later fragment's payload looks like a TCP header; it must not be read as one.
  Bytes later = ethernet(0x0800) + ipv4(kIpProtoTcp, tcp(1234, 80, 1, 2, kTcpAck), 0x2000 | 185);
  ASSERT_EQ(parse(later, p), PacketParseError::none);
  EXPECT_TRUE(p.is_fragment);
  EXPECT_TRUE(p.is_later_fragment);
  EXPECT_EQ(p.l4_protocol, kIpProtoTcp);
  EXPECT_EQ(p.src_port, 0);
  EXPECT_EQ(p.dst_port, 0);
  EXPECT_EQ(p.l4_offset, 34);
  EXPECT_EQ(p.payload_offset, 34);
  EXPECT_EQ(p.payload_length, 20);

  Bytes last = ethernet(0x0800) + ipv4(kIpProtoUdp, {1, 2, 3}, 370);
  ASSERT_EQ(parse(last, p), PacketParseError::none);
  EXPECT_TRUE(p.is_later_fragment);
  EXPECT_EQ(p.payload_length, 3);

  Bytes dont_fragment = ethernet(0x0800) + ipv4(kIpProtoUdp, udp(1, 2, kHello), 0x4000);
  ASSERT_EQ(parse(dont_fragment, p), PacketParseError::none);
  EXPECT_FALSE(p.is_fragment);
}

TEST(PacketParser, Ipv6TcpUdpIcmp) {
  ParsedPacket p;
  Bytes tcp_frame = ethernet(0x86DD) + ipv6(kIpProtoTcp, tcp(50000, 443, 7, 8, kTcpSyn));
  ASSERT_EQ(parse(tcp_frame, p), PacketParseError::none);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(format_ip(p.src), "2001:db8::1");
  EXPECT_EQ(format_ip(p.dst), "2001:db8::2");
  EXPECT_EQ(p.l4_offset, 54);
  EXPECT_EQ(p.payload_offset, 74);
  EXPECT_EQ(p.payload_length, 0);
  EXPECT_EQ(p.dst_port, 443);

  Bytes udp_frame = ethernet(0x86DD) + ipv6(kIpProtoUdp, udp(5353, 53, kHello));
  ASSERT_EQ(parse(udp_frame, p), PacketParseError::none);
  EXPECT_EQ(p.payload_offset, 62);
  EXPECT_EQ(p.payload_length, 5);

  Bytes icmp_frame = ethernet(0x86DD) + ipv6(kIpProtoIcmpv6, {135, 0, 0, 0, 0, 0, 0, 0});
  ASSERT_EQ(parse(icmp_frame, p), PacketParseError::none);
  EXPECT_EQ(p.icmp_type, 135);
  EXPECT_EQ(p.icmp_code, 0);
  EXPECT_EQ(p.src_port, 0);
}

TEST(PacketParser, Ipv4Icmp) {
  ParsedPacket p;
  ASSERT_EQ(parse(ethernet(0x0800) + ipv4(kIpProtoIcmp, {3, 4, 0, 0, 0, 0, 0, 0}), p), PacketParseError::none);
  EXPECT_EQ(p.icmp_type, 3);
  EXPECT_EQ(p.icmp_code, 4);
  EXPECT_EQ(p.l4_offset, 34);
  EXPECT_EQ(parse(ethernet(0x0800) + ipv4(kIpProtoIcmp, {8, 0, 0}), p), PacketParseError::truncated_icmp);
  EXPECT_EQ(parse(ethernet(0x86DD) + ipv6(kIpProtoIcmpv6, {128}), p), PacketParseError::truncated_icmp);
}

TEST(PacketParser, OtherProtocolIsOpaque) {
  ParsedPacket p;
  ASSERT_EQ(parse(ethernet(0x0800) + ipv4(47, Bytes(12, 0)), p), PacketParseError::none);
  EXPECT_EQ(p.l4_protocol, 47);
  EXPECT_EQ(p.l4_offset, 34);
  EXPECT_EQ(p.payload_offset, 34);
  EXPECT_EQ(p.payload_length, 12);
  EXPECT_EQ(p.src_port, 0);
}

TEST(PacketParser, Ipv6ExtensionHeaders) {
  // hop-by-hop (8) -> routing (24) -> AH (len 4: 24 bytes) -> destination options (16) -> TCP
  Bytes ah = {60, 4};
  ah.resize(24, 0);
  Bytes chain = ipv6_extension(43, 0) + ipv6_extension(51, 2) + ah + ipv6_extension(kIpProtoTcp, 1);
  Bytes frame = ethernet(0x86DD) + ipv6(0, chain + tcp(1, 443, 1, 0, kTcpSyn, kHello));
  ParsedPacket p;
  ASSERT_EQ(parse(frame, p), PacketParseError::none);
  EXPECT_EQ(p.l4_protocol, kIpProtoTcp);
  EXPECT_EQ(p.l4_offset, 54 + 8 + 24 + 24 + 16);
  EXPECT_EQ(p.dst_port, 443);
  EXPECT_EQ(p.payload_length, 5);
  EXPECT_FALSE(p.is_fragment);
}

TEST(PacketParser, Ipv6Fragments) {
  ParsedPacket p;
  Bytes first = ethernet(0x86DD) + ipv6(44, ipv6_fragment(kIpProtoUdp, 0, true) + udp(1, 53, kHello));
  ASSERT_EQ(parse(first, p), PacketParseError::none);
  EXPECT_TRUE(p.is_fragment);
  EXPECT_FALSE(p.is_later_fragment);
  EXPECT_EQ(p.l4_protocol, kIpProtoUdp);
  EXPECT_EQ(p.dst_port, 53);

  Bytes later = ethernet(0x86DD) + ipv6(44, ipv6_fragment(kIpProtoUdp, 100, false) + udp(1, 53, kHello));
  ASSERT_EQ(parse(later, p), PacketParseError::none);
  EXPECT_TRUE(p.is_later_fragment);
  EXPECT_EQ(p.l4_protocol, kIpProtoUdp);
  EXPECT_EQ(p.l4_offset, 62);
  EXPECT_EQ(p.payload_offset, 62);
  EXPECT_EQ(p.payload_length, 13);
  EXPECT_EQ(p.dst_port, 0);
}

TEST(PacketParser, Ipv6ExtensionChainLimits) {
  ParsedPacket p;
  Bytes eight;
  for (int i = 0; i < kMaxIpv6ExtensionHeaders; ++i) {
    eight = eight + ipv6_extension(i + 1 == kMaxIpv6ExtensionHeaders ? kIpProtoUdp : 60, 0);
  }
  ASSERT_EQ(parse(ethernet(0x86DD) + ipv6(60, eight + udp(1, 2, {})), p), PacketParseError::none);
  EXPECT_EQ(p.l4_offset, 54 + 8 * kMaxIpv6ExtensionHeaders);

  Bytes nine = ipv6_extension(60, 0) + eight;
  EXPECT_EQ(parse(ethernet(0x86DD) + ipv6(60, nine + udp(1, 2, {})), p), PacketParseError::ipv6_extension_chain);

  // A header whose length runs past the IPv6 payload, and one cut before its 8 bytes.
  Bytes overlong = ipv6_extension(kIpProtoUdp, 3);
  overlong.resize(16);
  EXPECT_EQ(parse(ethernet(0x86DD) + ipv6(0, overlong), p), PacketParseError::ipv6_extension_chain);
  EXPECT_EQ(parse(ethernet(0x86DD) + ipv6(60, {17, 0, 0, 0}), p), PacketParseError::ipv6_extension_chain);
}

TEST(PacketParser, BadIpv6Headers) {
  ParsedPacket p;
  Bytes good = ethernet(0x86DD) + ipv6(kIpProtoUdp, udp(1, 2, kHello));
  Bytes version = good;
  version[14] = 0x40;
  EXPECT_EQ(parse(version, p), PacketParseError::bad_ipv6_header);
  Bytes long_payload = good;
  long_payload[19] = uint8_t(long_payload[19] + 1);
  EXPECT_EQ(parse(long_payload, p), PacketParseError::truncated_ipv6);
  // Padding past the IPv6 payload length is not payload.
  Bytes padded = good;
  padded.resize(good.size() + 10, 0);
  ASSERT_EQ(parse(padded, p), PacketParseError::none);
  EXPECT_EQ(p.payload_length, 5);
}

TEST(PacketParser, BadTransportHeaders) {
  ParsedPacket p;
  Bytes segment = tcp(1, 2, 3, 4, kTcpAck, kHello);
  Bytes small_offset = segment;
  small_offset[12] = 0x40;
  EXPECT_EQ(parse(ethernet(0x0800) + ipv4(kIpProtoTcp, small_offset), p), PacketParseError::bad_tcp_header);
  Bytes past_end = segment;
  past_end[12] = 0x70;  // 28 bytes of header, 25 in the packet
  EXPECT_EQ(parse(ethernet(0x0800) + ipv4(kIpProtoTcp, past_end), p), PacketParseError::bad_tcp_header);
  // The header must fit inside the IP payload, not merely inside the (padded) frame.
  Bytes cut = ethernet(0x0800) + ipv4(kIpProtoTcp, Bytes(segment.begin(), segment.begin() + 10));
  cut.resize(80, 0);
  EXPECT_EQ(parse(cut, p), PacketParseError::truncated_tcp);
  EXPECT_EQ(parse(ethernet(0x86DD) + ipv6(kIpProtoUdp, {0, 1, 0, 2, 0, 8, 0}), p), PacketParseError::truncated_udp);
}

TEST(PacketParser, TruncatedL2) {
  ParsedPacket p;
  EXPECT_EQ(parse({}, p), PacketParseError::truncated_ethernet);
  EXPECT_EQ(parse(Bytes(13, 0), p), PacketParseError::truncated_ethernet);
  Bytes tag_cut = ethernet(0x0800, {0x8100});
  tag_cut.resize(16);
  EXPECT_EQ(parse(tag_cut, p), PacketParseError::truncated_vlan);
}

// Every prefix of a valid frame is a frame cut short: never "none", never a read past the end.
TEST(PacketParser, EveryPrefixIsRefused) {
  const std::vector<Bytes> samples = {
      ethernet(0x0800, {0x8100}) + ipv4(kIpProtoTcp, tcp(1, 443, 1, 2, kTcpAck, kHello, 8)),
      ethernet(0x86DD, {0x88A8, 0x8100}) + ipv6(0, ipv6_extension(44, 0) + ipv6_fragment(kIpProtoUdp, 0, true) +
                                                       udp(1, 53, kHello)),
      ethernet(0x0800) + ipv4(kIpProtoIcmp, {8, 0, 0, 0, 1, 2, 3, 4}, 0, 4),
      ethernet(0x0800) + ipv4_with_options({131, 7, 4, 198, 19, 0, 9, 0}, udp(1, 53, kHello)),
      ethernet(0x0806) + arp_body(),
  };
  for (const Bytes& sample : samples) {
    ParsedPacket p;
    ASSERT_EQ(parse(sample, p), PacketParseError::none);
    for (size_t length = 0; length < sample.size(); ++length) {
      Bytes prefix(sample.begin(), sample.begin() + long(length));  // exact size: ASan sees over-reads
      EXPECT_NE(parse(prefix, p), PacketParseError::none) << "prefix length " << length;
    }
  }
}

// Random corruption of valid frames: whatever the parser accepts must lie inside the frame.
TEST(PacketParser, CorruptedFramesStayInBounds) {
  const std::vector<Bytes> samples = {
      ethernet(0x0800) + ipv4(kIpProtoTcp, tcp(1, 443, 1, 2, kTcpAck, kHello)),
      ethernet(0x86DD, {0x8100}) + ipv6(0, ipv6_extension(51, 0) + Bytes{6, 0, 0, 0, 0, 0, 0, 0} +
                                               tcp(1, 443, 1, 2, kTcpAck, kHello)),
  };
  std::mt19937 random(12345);
  for (const Bytes& sample : samples) {
    for (int round = 0; round < 20000; ++round) {
      Bytes frame = sample;
      const int flips = 1 + int(random() % 4);
      for (int i = 0; i < flips; ++i) frame[random() % frame.size()] = uint8_t(random());
      frame.resize(random() % (frame.size() + 1));
      ParsedPacket p;
      if (parse(frame, p) != PacketParseError::none || p.ip_version == 0) continue;
      ASSERT_LE(size_t(p.l4_offset), frame.size());
      ASSERT_LE(size_t(p.payload_offset) + p.payload_length, frame.size());
      ASSERT_GE(p.payload_offset, p.l4_offset);
    }
  }
}

TEST(PacketParser, ErrorNames) {
  EXPECT_STREQ(to_string(PacketParseError::none), "none");
  EXPECT_STREQ(to_string(PacketParseError::ipv6_extension_chain), "ipv6_extension_chain");
  EXPECT_STREQ(to_string(PacketParseError::truncated_icmp), "truncated_icmp");
  EXPECT_STREQ(to_string(PacketParseError::bad_ipv4_options), "bad_ipv4_options");
  EXPECT_STREQ(to_string(PacketParseError::bad_arp), "bad_arp");
  EXPECT_STREQ(to_string(PacketParseError::arp_trailing_data), "arp_trailing_data");
  for (int error = 0; error < int(PacketParseError::count); ++error)
    EXPECT_STRNE(to_string(PacketParseError(error)), "unknown") << error;
}

TEST(IpAddress, Formats) {
  IpAddress v4;
  v4.family = 4;
  v4.bytes[0] = 198;
  v4.bytes[1] = 18;
  v4.bytes[3] = 7;
  EXPECT_EQ(format_ip(v4), "198.18.0.7");
  IpAddress v6;
  v6.family = 6;
  v6.bytes[0] = 0x20;
  v6.bytes[1] = 0x01;
  v6.bytes[2] = 0x0d;
  v6.bytes[3] = 0xb8;
  v6.bytes[15] = 0x01;
  EXPECT_EQ(format_ip(v6), "2001:db8::1");
  EXPECT_EQ(format_ip(IpAddress{}), "");
}

}  // namespace
}  // namespace sluice

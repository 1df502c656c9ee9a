#include "dataplane/verdict/tcp_reset.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;
using test::put16;
using test::put32;
using test::operator+;

const Bytes kClientMac = {2, 0, 0, 0, 0, 1};
const Bytes kServerMac = {2, 0, 0, 0, 0, 2};

Bytes ethernet(uint16_t ethertype, std::vector<uint16_t> tags = {}) {
  Bytes b = kServerMac + kClientMac;
  for (uint16_t tag : tags) {
    put16(b, tag);
    put16(b, 100);
  }
  put16(b, ethertype);
  return b;
}

Bytes ipv4(const Bytes& l4, uint8_t protocol = kIpProtoTcp) {
  Bytes b = {0x45, 0};
  put16(b, uint16_t(20 + l4.size()));
  put32(b, 0x12340000);
  b = b + Bytes{57, protocol, 0, 0, 198, 18, 0, 1, 198, 19, 0, 2};
  return b + l4;
}

Bytes ipv6(const Bytes& l4) {
  Bytes b;
  put32(b, 0x60000000);
  put16(b, uint16_t(l4.size()));
  b = b + Bytes{kIpProtoTcp, 50};
  b = b + Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  b = b + Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  return b + l4;
}

Bytes tcp(uint32_t seq, uint32_t ack, uint8_t flags, size_t payload_length = 0) {
  Bytes b;
  put16(b, 40000);
  put16(b, 443);
  put32(b, seq);
  put32(b, ack);
  b = b + Bytes{0x50, flags, 0xff, 0xff, 0, 0, 0, 0};
  b.resize(b.size() + payload_length, 'x');
  return b;
}

// Ones' complement sum, folded: a header with a correct checksum sums to 0xffff.
uint16_t ones_complement_sum(const Bytes& data) {
  uint32_t sum = 0;
  for (size_t i = 0; i < data.size(); i += 2) {
    sum += uint32_t(data[i]) << 8;
    if (i + 1 < data.size()) sum += data[i + 1];
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

uint16_t read16(const Bytes& b, size_t at) { return uint16_t(b[at] << 8 | b[at + 1]); }

struct Reset {
  Bytes frame;
  ParsedPacket parsed;
};

// Parses `original`, builds its reset and parses that back.
Reset reset_for(const Bytes& original, ParsedPacket& in) {
  EXPECT_EQ(parse_packet(original, in), PacketParseError::none);
  Bytes out(256, 0xcc);
  size_t length = build_tcp_reset(original, in, out);
  EXPECT_GT(length, 0u);
  out.resize(length);
  Reset reset{out, {}};
  EXPECT_EQ(parse_packet(reset.frame, reset.parsed), PacketParseError::none);
  return reset;
}

void expect_valid_checksums(const Reset& reset) {
  const ParsedPacket& p = reset.parsed;
  const Bytes& f = reset.frame;
  Bytes segment(f.begin() + p.l4_offset, f.end());
  Bytes pseudo;
  if (p.ip_version == 4) {
    Bytes ip_header(f.begin() + p.l3_offset, f.begin() + p.l4_offset);
    EXPECT_EQ(ones_complement_sum(ip_header), 0xffff);
    pseudo = Bytes(f.begin() + p.l3_offset + 12, f.begin() + p.l3_offset + 20) + Bytes{0, kIpProtoTcp};
    put16(pseudo, uint16_t(segment.size()));
  } else {
    pseudo = Bytes(f.begin() + p.l3_offset + 8, f.begin() + p.l3_offset + 40);
    put32(pseudo, uint32_t(segment.size()));
    pseudo = pseudo + Bytes{0, 0, 0, kIpProtoTcp};
  }
  EXPECT_EQ(ones_complement_sum(pseudo + segment), 0xffff);
}

TEST(TcpReset, AnswersIpv4DataSegment) {
  Bytes original = ethernet(0x0800) + ipv4(tcp(1000, 5000, kTcpPsh | kTcpAck, 100));
  ParsedPacket in;
  Reset reset = reset_for(original, in);
  const ParsedPacket& out = reset.parsed;
  ASSERT_EQ(reset.frame.size(), 54u);
  EXPECT_EQ(Bytes(reset.frame.begin(), reset.frame.begin() + 6), kClientMac);
  EXPECT_EQ(Bytes(reset.frame.begin() + 6, reset.frame.begin() + 12), kServerMac);
  EXPECT_EQ(out.ip_version, 4);
  EXPECT_EQ(out.src, in.dst);
  EXPECT_EQ(out.dst, in.src);
  EXPECT_EQ(out.src_port, 443);
  EXPECT_EQ(out.dst_port, 40000);
  EXPECT_EQ(out.tcp_flags, kTcpRst | kTcpAck);
  EXPECT_EQ(out.tcp_seq, 5000u);
  EXPECT_EQ(out.tcp_ack, 1100u);
  EXPECT_EQ(out.payload_length, 0);
  const Bytes& f = reset.frame;
  EXPECT_EQ(f[14 + 8], 64);                 // TTL
  EXPECT_EQ(read16(f, 14 + 4), 0);          // id
  EXPECT_EQ(read16(f, 14 + 6), 0x4000);     // DF, no fragment offset
  EXPECT_EQ(read16(f, 14 + 2), 40);         // total length
  EXPECT_EQ(read16(f, 34 + 14), 0);         // window
  EXPECT_EQ(f[34 + 12], 0x50);              // data offset 5
  expect_valid_checksums(reset);
}

TEST(TcpReset, AnswersSynWithoutAck) {
  ParsedPacket in;
  Reset reset = reset_for(ethernet(0x0800) + ipv4(tcp(0x7fffffff, 0xdeadbeef, kTcpSyn)), in);
  EXPECT_EQ(reset.parsed.tcp_seq, 0u);  // the SYN's ack field means nothing without ACK
  EXPECT_EQ(reset.parsed.tcp_ack, 0x80000000u);
  expect_valid_checksums(reset);
}

TEST(TcpReset, FinAndSequenceWrap) {
  ParsedPacket in;
  Reset fin = reset_for(ethernet(0x0800) + ipv4(tcp(10, 20, kTcpFin | kTcpAck, 3)), in);
  EXPECT_EQ(fin.parsed.tcp_ack, 14u);
  Reset wrap = reset_for(ethernet(0x0800) + ipv4(tcp(0xffffffff, 1, kTcpSyn | kTcpAck)), in);
  EXPECT_EQ(wrap.parsed.tcp_ack, 0u);
  expect_valid_checksums(wrap);
}

TEST(TcpReset, EthernetPaddingIsNotAcknowledged) {
  Bytes original = ethernet(0x0800) + ipv4(tcp(77, 88, kTcpAck));
  original.resize(60, 0xee);
  ParsedPacket in;
  Reset reset = reset_for(original, in);
  EXPECT_EQ(reset.parsed.tcp_ack, 77u);
  EXPECT_EQ(reset.frame.size(), 54u);
}

TEST(TcpReset, AnswersIpv6InVlan) {
  Bytes original = ethernet(0x86DD, {0x8100}) + ipv6(tcp(1, 2, kTcpPsh | kTcpAck, 7));
  ParsedPacket in;
  Reset reset = reset_for(original, in);
  const ParsedPacket& out = reset.parsed;
  ASSERT_EQ(reset.frame.size(), 18u + 40 + 20);
  EXPECT_EQ(out.vlan_count, 1);
  EXPECT_EQ(Bytes(reset.frame.begin() + 12, reset.frame.begin() + 18),
            Bytes(original.begin() + 12, original.begin() + 18));  // the tag is kept
  EXPECT_EQ(out.ip_version, 6);
  EXPECT_EQ(format_ip(out.src), "2001:db8::2");
  EXPECT_EQ(format_ip(out.dst), "2001:db8::1");
  EXPECT_EQ(reset.frame[18 + 7], 64);  // hop limit
  EXPECT_EQ(out.tcp_seq, 2u);
  EXPECT_EQ(out.tcp_ack, 8u);
  EXPECT_EQ(out.tcp_flags, kTcpRst | kTcpAck);
  expect_valid_checksums(reset);
}

TEST(TcpReset, AnswersIpv4InQinQ) {
  ParsedPacket in;
  Reset reset = reset_for(ethernet(0x0800, {0x88A8, 0x8100}) + ipv4(tcp(5, 6, kTcpAck, 1)), in);
  EXPECT_EQ(reset.parsed.vlan_count, 2);
  EXPECT_EQ(reset.frame.size(), 22u + 20 + 20);
  expect_valid_checksums(reset);
}

TEST(TcpReset, RefusesWhatItCannotAnswer) {
  ParsedPacket in;
  Bytes out(256);
  Bytes udp = ethernet(0x0800) + ipv4({0, 1, 0, 2, 0, 8, 0, 0}, kIpProtoUdp);
  ASSERT_EQ(parse_packet(udp, in), PacketParseError::none);
  EXPECT_EQ(build_tcp_reset(udp, in, out), 0u);

  Bytes segment = ethernet(0x0800) + ipv4(tcp(1, 2, kTcpAck));
  ASSERT_EQ(parse_packet(segment, in), PacketParseError::none);
  Bytes small(53);
  EXPECT_EQ(build_tcp_reset(segment, in, small), 0u);
  Bytes exact(54);
  EXPECT_EQ(build_tcp_reset(segment, in, exact), 54u);

  // A later fragment has no TCP header to answer.
  Bytes fragment = ethernet(0x0800) + ipv4(tcp(1, 2, kTcpAck));
  fragment[14 + 7] = 10;
  ASSERT_EQ(parse_packet(fragment, in), PacketParseError::none);
  ASSERT_TRUE(in.is_later_fragment);
  EXPECT_EQ(build_tcp_reset(fragment, in, out), 0u);

  // A parse that does not belong to this frame is not trusted with its L2 length.
  ASSERT_EQ(parse_packet(segment, in), PacketParseError::none);
  EXPECT_EQ(build_tcp_reset(Bytes(10), in, out), 0u);
}

TEST(TcpReset, CanAnswerInPlace) {
  Bytes original = ethernet(0x86DD, {0x8100}) + ipv6(tcp(1, 2, kTcpAck, 30));
  ParsedPacket in;
  Reset expected = reset_for(original, in);
  Bytes buffer = original;
  size_t length = build_tcp_reset(buffer, in, buffer);
  ASSERT_EQ(length, expected.frame.size());
  buffer.resize(length);
  EXPECT_EQ(buffer, expected.frame);
}

}  // namespace
}  // namespace sluice

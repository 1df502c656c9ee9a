// build_tcp_reset and build_tcp_reset_onward: the resets back to a denied packet's sender and on
// to its receiver.
#include "dataplane/verdict/internet_checksum.h"
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

Bytes ipv4(const Bytes& l4, uint8_t protocol = kIpProtoTcp, uint16_t fragment = 0x4000) {
  Bytes b = {0x45, 0};
  put16(b, uint16_t(20 + l4.size()));
  put16(b, 0x1234);
  put16(b, fragment);
  b = b + Bytes{57, protocol, 0, 0, 198, 18, 0, 1, 198, 19, 0, 2};
  return b + l4;
}

Bytes ipv6(const Bytes& l4, uint8_t next_header = kIpProtoTcp) {
  Bytes b;
  put32(b, 0x60000000);
  put16(b, uint16_t(l4.size()));
  b = b + Bytes{next_header, 50};
  b = b + Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  b = b + Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  return b + l4;
}

Bytes tcp(uint32_t seq, uint32_t ack, uint8_t flags, size_t payload_length = 0, size_t option_bytes = 0) {
  Bytes b;
  put16(b, 40000);
  put16(b, 443);
  put32(b, seq);
  put32(b, ack);
  b = b + Bytes{uint8_t((20 + option_bytes) / 4 << 4), flags, 0xff, 0xff, 0xab, 0xcd, 0, 0};
  b.resize(b.size() + option_bytes, 1);  // NOP options
  b.resize(b.size() + payload_length, 'x');
  return b;
}

uint16_t read16(const Bytes& b, size_t at) { return uint16_t(b[at] << 8 | b[at + 1]); }

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


// build_tcp_reset_onward: the reset the denied packet's receiver gets in its place.

struct Onward {
  Bytes frame;
  ParsedPacket parsed;
};

Onward onward_for(const Bytes& original, ParsedPacket& in, uint32_t seq) {
  EXPECT_EQ(parse_packet(original, in), PacketParseError::none);
  Bytes out(256, 0xcc);
  size_t length = build_tcp_reset_onward(original, in, seq, out);
  EXPECT_GT(length, 0u);
  out.resize(length);
  Onward onward{out, {}};
  EXPECT_EQ(parse_packet(onward.frame, onward.parsed), PacketParseError::none);
  return onward;
}

// Recomputed with internet_checksum.h: a range with a valid checksum folds to 0.
void expect_valid_checksums(const Onward& o) {
  const ParsedPacket& p = o.parsed;
  const Bytes& f = o.frame;
  const size_t segment_length = f.size() - p.l4_offset;
  uint32_t pseudo = 0;
  if (p.ip_version == 4) {
    EXPECT_EQ(checksum_fold(checksum_sum(f.data() + p.l3_offset, 20)), 0) << "IPv4 header checksum";
    pseudo = checksum_sum(f.data() + p.l3_offset + 12, 8) + kIpProtoTcp + uint32_t(segment_length);
  } else {
    pseudo = checksum_sum(f.data() + p.l3_offset + 8, 32) + kIpProtoTcp + uint32_t(segment_length);
  }
  EXPECT_EQ(checksum_fold(checksum_sum(f.data() + p.l4_offset, segment_length, pseudo)), 0) << "TCP checksum";
}

void expect_as_the_sender(const Bytes& original, const ParsedPacket& in, const Onward& o) {
  // The same L2 header, MACs not swapped, tags kept.
  EXPECT_EQ(Bytes(o.frame.begin(), o.frame.begin() + in.l3_offset),
            Bytes(original.begin(), original.begin() + in.l3_offset));
  const ParsedPacket& out = o.parsed;
  EXPECT_EQ(out.vlan_count, in.vlan_count);
  EXPECT_EQ(out.ip_version, in.ip_version);
  EXPECT_EQ(out.src, in.src);
  EXPECT_EQ(out.dst, in.dst);
  EXPECT_EQ(out.src_port, in.src_port);
  EXPECT_EQ(out.dst_port, in.dst_port);
  EXPECT_EQ(out.l4_protocol, kIpProtoTcp);
  EXPECT_EQ(out.tcp_flags, kTcpRst | kTcpAck);
  EXPECT_EQ(out.tcp_ack, in.tcp_ack);
  EXPECT_EQ(out.payload_length, 0);
  EXPECT_FALSE(out.is_fragment);
  EXPECT_EQ(o.frame[out.l4_offset + 12], 0x50);       // data offset 5: no options
  EXPECT_EQ(read16(o.frame, out.l4_offset + 14), 0);  // window
  EXPECT_EQ(o.frame.size(), size_t(in.l3_offset) + (in.ip_version == 4 ? 20 : 40) + 20);
  expect_valid_checksums(o);
}

TEST(TcpResetOnward, Ipv4DataSegment) {
  Bytes original = ethernet(0x0800) + ipv4(tcp(1000, 5000, kTcpPsh | kTcpAck, 100));
  ParsedPacket in;
  Onward o = onward_for(original, in, 1000);
  expect_as_the_sender(original, in, o);
  EXPECT_EQ(Bytes(o.frame.begin(), o.frame.begin() + 6), kServerMac);
  EXPECT_EQ(Bytes(o.frame.begin() + 6, o.frame.begin() + 12), kClientMac);
  EXPECT_EQ(format_ip(o.parsed.src), "198.18.0.1");
  EXPECT_EQ(format_ip(o.parsed.dst), "198.19.0.2");
  EXPECT_EQ(o.parsed.src_port, 40000);
  EXPECT_EQ(o.parsed.dst_port, 443);
  EXPECT_EQ(o.parsed.tcp_seq, 1000u);
  EXPECT_EQ(o.parsed.tcp_ack, 5000u);
  ASSERT_EQ(o.frame.size(), 54u);
  EXPECT_EQ(o.frame[14 + 8], 64);              // TTL
  EXPECT_EQ(read16(o.frame, 14 + 2), 40);      // total length
  EXPECT_EQ(read16(o.frame, 14 + 6), 0x4000);  // DF
}

TEST(TcpResetOnward, SeqIsTheOneGiven) {
  Bytes original = ethernet(0x0800) + ipv4(tcp(1000, 5000, kTcpAck, 10));
  ParsedPacket in;
  for (uint32_t seq : {0u, 1u, 1010u, 0x7fffffffu, 0x80000000u, 0xffffffffu}) {
    Onward o = onward_for(original, in, seq);
    EXPECT_EQ(o.parsed.tcp_seq, seq);
    EXPECT_EQ(o.parsed.tcp_ack, 5000u);
    expect_valid_checksums(o);
  }
}

TEST(TcpResetOnward, AckIsThePacketsAckWhateverItsOtherFlags) {
  ParsedPacket in;
  for (uint8_t flags : {uint8_t(kTcpAck), uint8_t(kTcpAck | kTcpPsh), uint8_t(kTcpAck | kTcpFin),
                        uint8_t(kTcpAck | kTcpSyn), uint8_t(kTcpAck | kTcpRst)}) {
    Bytes original = ethernet(0x0800) + ipv4(tcp(0xfffffff0u, 0xdeadbeefu, flags, 3));
    Onward o = onward_for(original, in, 0x12345678u);
    EXPECT_EQ(o.parsed.tcp_seq, 0x12345678u);
    EXPECT_EQ(o.parsed.tcp_ack, 0xdeadbeefu);
    EXPECT_EQ(o.parsed.tcp_flags, kTcpRst | kTcpAck);
    expect_valid_checksums(o);
  }
}

TEST(TcpResetOnward, Ipv6InVlan) {
  Bytes original = ethernet(0x86DD, {0x8100}) + ipv6(tcp(1, 2, kTcpPsh | kTcpAck, 7));
  ParsedPacket in;
  Onward o = onward_for(original, in, 8);
  expect_as_the_sender(original, in, o);
  ASSERT_EQ(o.frame.size(), 18u + 40 + 20);
  EXPECT_EQ(format_ip(o.parsed.src), "2001:db8::1");
  EXPECT_EQ(format_ip(o.parsed.dst), "2001:db8::2");
  EXPECT_EQ(o.frame[18 + 7], 64);          // hop limit
  EXPECT_EQ(read16(o.frame, 18 + 4), 20);  // payload length
  EXPECT_EQ(o.parsed.tcp_seq, 8u);
  EXPECT_EQ(o.parsed.tcp_ack, 2u);
}

TEST(TcpResetOnward, Ipv4InQinQ) {
  Bytes original = ethernet(0x0800, {0x88A8, 0x8100}) + ipv4(tcp(5, 6, kTcpAck, 1));
  ParsedPacket in;
  Onward o = onward_for(original, in, 5);
  expect_as_the_sender(original, in, o);
  EXPECT_EQ(o.parsed.vlan_count, 2);
}

TEST(TcpResetOnward, OptionsAndPaddingAreNotCopied) {
  Bytes original = ethernet(0x0800) + ipv4(tcp(77, 88, kTcpAck, 0, 12));
  original.resize(80, 0xee);
  ParsedPacket in;
  Onward o = onward_for(original, in, 77);
  expect_as_the_sender(original, in, o);
  EXPECT_EQ(o.frame.size(), 54u);

  Bytes original6 = ethernet(0x86DD) + ipv6(tcp(77, 88, kTcpAck, 9, 20));
  Onward o6 = onward_for(original6, in, 77);
  expect_as_the_sender(original6, in, o6);
}

TEST(TcpResetOnward, PacketWithoutAckGetsNone) {
  ParsedPacket in;
  Bytes out(256);
  for (uint8_t flags : {uint8_t(kTcpSyn), uint8_t(0), uint8_t(kTcpRst), uint8_t(kTcpFin | kTcpPsh),
                        uint8_t(kTcpPsh)}) {
    Bytes v4 = ethernet(0x0800) + ipv4(tcp(1, 0xdeadbeef, flags, 5));
    ASSERT_EQ(parse_packet(v4, in), PacketParseError::none);
    EXPECT_EQ(build_tcp_reset_onward(v4, in, 1, out), 0u) << int(flags);
    Bytes v6 = ethernet(0x86DD) + ipv6(tcp(1, 0xdeadbeef, flags, 5));
    ASSERT_EQ(parse_packet(v6, in), PacketParseError::none);
    EXPECT_EQ(build_tcp_reset_onward(v6, in, 1, out), 0u) << int(flags);
  }
}

TEST(TcpResetOnward, RefusesWhatItCannotAnswer) {
  ParsedPacket in;
  Bytes out(256);
  // UDP, whose bytes at the TCP flags offset would read as ACK.
  Bytes udp_payload = {0, 1, 0, 2, 0, 24, 0, 0};
  udp_payload.resize(24, kTcpAck);
  Bytes udp = ethernet(0x0800) + ipv4(udp_payload, kIpProtoUdp);
  ASSERT_EQ(parse_packet(udp, in), PacketParseError::none);
  EXPECT_EQ(build_tcp_reset_onward(udp, in, 1, out), 0u);

  // Later fragment.
  Bytes fragment = ethernet(0x0800) + ipv4(tcp(1, 2, kTcpAck), kIpProtoTcp, 10);
  ASSERT_EQ(parse_packet(fragment, in), PacketParseError::none);
  ASSERT_TRUE(in.is_later_fragment);
  EXPECT_EQ(build_tcp_reset_onward(fragment, in, 1, out), 0u);

  // Out too small, and exactly large enough.
  Bytes segment = ethernet(0x0800) + ipv4(tcp(1, 2, kTcpAck));
  ASSERT_EQ(parse_packet(segment, in), PacketParseError::none);
  Bytes small(53);
  EXPECT_EQ(build_tcp_reset_onward(segment, in, 1, small), 0u);
  Bytes exact(54);
  EXPECT_EQ(build_tcp_reset_onward(segment, in, 1, exact), 54u);
  Bytes segment6 = ethernet(0x86DD) + ipv6(tcp(1, 2, kTcpAck));
  ASSERT_EQ(parse_packet(segment6, in), PacketParseError::none);
  Bytes small6(73);
  EXPECT_EQ(build_tcp_reset_onward(segment6, in, 1, small6), 0u);
  Bytes exact6(74);
  EXPECT_EQ(build_tcp_reset_onward(segment6, in, 1, exact6), 74u);

  // A parse that does not belong to this frame.
  ASSERT_EQ(parse_packet(segment, in), PacketParseError::none);
  EXPECT_EQ(build_tcp_reset_onward(Bytes(10), in, 1, out), 0u);
}

TEST(TcpResetOnward, CanAnswerInPlace) {
  for (const Bytes& original : {ethernet(0x86DD, {0x8100}) + ipv6(tcp(1, 2, kTcpAck, 30)),
                                ethernet(0x0800) + ipv4(tcp(9, 10, kTcpAck | kTcpPsh, 100))}) {
    ParsedPacket in;
    Onward expected = onward_for(original, in, 31);
    Bytes buffer = original;
    size_t length = build_tcp_reset_onward(buffer, in, 31, buffer);
    ASSERT_EQ(length, expected.frame.size());
    buffer.resize(length);
    EXPECT_EQ(buffer, expected.frame);
  }
}

TEST(TcpResetOnward, DiffersFromTheResetBackToTheSender) {
  Bytes original = ethernet(0x0800) + ipv4(tcp(1000, 5000, kTcpAck, 10));
  ParsedPacket in;
  ASSERT_EQ(parse_packet(original, in), PacketParseError::none);
  Bytes back(256), onward(256);
  size_t back_length = build_tcp_reset(original, in, back);
  size_t onward_length = build_tcp_reset_onward(original, in, 1000, onward);
  ASSERT_EQ(back_length, onward_length);
  back.resize(back_length);
  onward.resize(onward_length);
  ParsedPacket b, o;
  ASSERT_EQ(parse_packet(back, b), PacketParseError::none);
  ASSERT_EQ(parse_packet(onward, o), PacketParseError::none);
  EXPECT_EQ(b.src, o.dst);
  EXPECT_EQ(b.dst, o.src);
  EXPECT_EQ(b.src_port, o.dst_port);
  EXPECT_EQ(b.dst_port, o.src_port);
  EXPECT_EQ(b.tcp_seq, 5000u);   // the packet's ack
  EXPECT_EQ(b.tcp_ack, 1010u);   // past its payload
  EXPECT_EQ(o.tcp_seq, 1000u);
  EXPECT_EQ(o.tcp_ack, 5000u);
}

}  // namespace
}  // namespace sluice

// build_tcp_syn_ack: the health probe's answer, and every packet it must not answer.
#include "dataplane/verdict/tcp_syn_ack.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "dataplane/parse/tcp_checksum.h"
#include "tests/unit/frame_builder.h"

namespace sluice {
namespace {

using test::Bytes;
using test::put16;
using test::put32;
using test::Tcp4;

Tcp4 probe_syn() {
  Tcp4 spec;
  spec.src = "198.18.9.9";    // the balancer
  spec.dst = "198.18.1.254";  // the appliance
  spec.src_port = 51000;
  spec.dst_port = 8080;
  spec.flags = kTcpSyn;
  spec.seq = 0x01020304;
  spec.ack = 0xdeadbeef;  // meaningless without ACK
  return spec;
}

// Ethernet (with `tags`) + IPv6 + a 20-byte TCP header with `flags`.
Bytes tcp6_frame(uint8_t flags, std::vector<uint16_t> tags = {}) {
  Bytes frame{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  for (uint16_t tag : tags) {
    put16(frame, tag);
    put16(frame, 7);
  }
  put16(frame, 0x86DD);
  put32(frame, 0x60000000);
  put16(frame, 20);
  frame.push_back(kIpProtoTcp);
  frame.push_back(64);
  const Bytes client{0x20, 0x01, 0x0d, 0xb8, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  const Bytes appliance{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  frame.insert(frame.end(), client.begin(), client.end());
  frame.insert(frame.end(), appliance.begin(), appliance.end());
  put16(frame, 40001);
  put16(frame, 8080);
  put32(frame, 77);
  put32(frame, 0);
  frame.push_back(0x50);
  frame.push_back(flags);
  put16(frame, 1000);
  put32(frame, 0);
  return frame;
}

struct Answer {
  Bytes frame;
  ParsedPacket parsed;
};

Answer answer(const Bytes& original, uint32_t isn, ParsedPacket& in) {
  EXPECT_EQ(parse_packet(original, in), PacketParseError::none);
  Bytes out(256, 0xcc);
  const size_t length = build_tcp_syn_ack(original, in, isn, out);
  EXPECT_GT(length, 0u);
  out.resize(length);
  Answer result{out, {}};
  EXPECT_EQ(parse_packet(result.frame, result.parsed), PacketParseError::none);
  return result;
}

size_t try_answer(const Bytes& original, std::span<uint8_t> out) {
  ParsedPacket in;
  if (parse_packet(original, in) != PacketParseError::none) return 0;
  return build_tcp_syn_ack(original, in, 1, out);
}

TEST(TcpSynAck, AnswersIpv4Syn) {
  ParsedPacket in;
  const Answer a = answer(test::tcp4_frame(probe_syn()), 0xfeedf00d, in);
  const ParsedPacket& out = a.parsed;
  ASSERT_EQ(a.frame.size(), 54u);
  EXPECT_EQ(Bytes(a.frame.begin(), a.frame.begin() + 6), (Bytes{0x02, 0, 0, 0, 0, 0x01}));  // back to the sender
  EXPECT_EQ(Bytes(a.frame.begin() + 6, a.frame.begin() + 12), (Bytes{0x02, 0, 0, 0, 0, 0x02}));
  EXPECT_EQ(format_ip(out.src), "198.18.1.254");
  EXPECT_EQ(format_ip(out.dst), "198.18.9.9");
  EXPECT_EQ(out.src_port, 8080);
  EXPECT_EQ(out.dst_port, 51000);
  EXPECT_EQ(out.tcp_flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(out.tcp_seq, 0xfeedf00du);
  EXPECT_EQ(out.tcp_ack, 0x01020305u);
  EXPECT_EQ(out.ttl, 64);
  EXPECT_EQ(out.payload_length, 0);
  EXPECT_EQ(a.frame[34 + 14] << 8 | a.frame[34 + 15], kHealthProbeWindow);
  Bytes header(a.frame.begin() + 14, a.frame.begin() + 34);
  EXPECT_EQ(checksum_fold(checksum_sum(header.data(), header.size())), 0);  // a right header sums to 0xffff
  EXPECT_TRUE(tcp_checksum_ok(a.frame, out));
}

TEST(TcpSynAck, AnswersIpv6SynInVlanAndKeepsTheTag) {
  ParsedPacket in;
  const Bytes original = tcp6_frame(kTcpSyn, {0x8100});
  const Answer a = answer(original, 5, in);
  ASSERT_EQ(a.frame.size(), 18u + 40 + 20);
  EXPECT_EQ(Bytes(a.frame.begin() + 12, a.frame.begin() + 18), Bytes(original.begin() + 12, original.begin() + 18));
  EXPECT_EQ(format_ip(a.parsed.src), "2001:db8:1::1");
  EXPECT_EQ(format_ip(a.parsed.dst), "2001:db8:9::9");
  EXPECT_EQ(a.parsed.tcp_flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(a.parsed.tcp_ack, 78u);
  EXPECT_TRUE(tcp_checksum_ok(a.frame, a.parsed));
}

TEST(TcpSynAck, SequenceWrapsAndDataOnTheSynIsNotAcknowledged) {
  Tcp4 spec = probe_syn();
  spec.seq = 0xffffffff;
  spec.payload = Bytes(10, 'x');
  ParsedPacket in;
  const Answer a = answer(test::tcp4_frame(spec), 1, in);
  EXPECT_EQ(a.parsed.tcp_ack, 0u);
  EXPECT_EQ(a.frame.size(), 54u);  // nothing of the SYN's payload is echoed
}

TEST(TcpSynAck, OnlyAnOpeningSynIsAnswered) {
  Bytes out(256);
  for (uint8_t flags : {uint8_t(kTcpSyn | kTcpAck), uint8_t(kTcpAck), uint8_t(kTcpSyn | kTcpRst), uint8_t(kTcpSyn | kTcpFin),
                        uint8_t(kTcpRst), uint8_t(kTcpFin | kTcpAck), uint8_t(0)}) {
    Tcp4 spec = probe_syn();
    spec.flags = flags;
    EXPECT_EQ(try_answer(test::tcp4_frame(spec), out), 0u) << "flags " << int(flags);
    EXPECT_EQ(try_answer(tcp6_frame(flags), out), 0u) << "IPv6 flags " << int(flags);
  }
}

TEST(TcpSynAck, RefusesOtherProtocolsFragmentsAndShortOutput) {
  Bytes out(256);
  EXPECT_EQ(try_answer(test::tcp4_frame(probe_syn(), kIpProtoUdp), out), 0u);
  Bytes fragment = test::tcp4_frame(probe_syn());
  fragment[20] = 0x20;  // MF set, offset 0: a first fragment
  test::refresh_ipv4_checksum(fragment);
  ParsedPacket in;
  ASSERT_EQ(parse_packet(fragment, in), PacketParseError::none);
  ASSERT_TRUE(in.is_fragment);
  EXPECT_EQ(build_tcp_syn_ack(fragment, in, 1, out), 0u);
  Bytes small(53);
  EXPECT_EQ(try_answer(test::tcp4_frame(probe_syn()), small), 0u);
  Bytes exact(54);
  EXPECT_EQ(try_answer(test::tcp4_frame(probe_syn()), exact), 54u);
}

TEST(TcpSynAck, ParseThatDoesNotFitTheFrameIsRefused) {
  const Bytes frame = test::tcp4_frame(probe_syn());
  ParsedPacket in;
  ASSERT_EQ(parse_packet(frame, in), PacketParseError::none);
  Bytes out(256);
  const Bytes cut(frame.begin(), frame.begin() + 10);  // shorter than its parsed L2 header
  EXPECT_EQ(build_tcp_syn_ack(cut, in, 1, out), 0u);
}

TEST(TcpSynAck, WritesInPlaceOverTheSyn) {
  Bytes frame = test::tcp4_frame(probe_syn());
  ParsedPacket in;
  ASSERT_EQ(parse_packet(frame, in), PacketParseError::none);
  const size_t length = build_tcp_syn_ack(frame, in, 9, frame);
  ASSERT_EQ(length, 54u);
  ParsedPacket out;
  ASSERT_EQ(parse_packet(frame, out), PacketParseError::none);
  EXPECT_EQ(format_ip(out.src), "198.18.1.254");
  EXPECT_EQ(out.tcp_flags, kTcpSyn | kTcpAck);
  EXPECT_TRUE(tcp_checksum_ok(frame, out));
}

}  // namespace
}  // namespace sluice

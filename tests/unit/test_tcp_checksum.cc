#include "dataplane/parse/tcp_checksum.h"

#include <gtest/gtest.h>

#include "tests/unit/frame_builder.h"

namespace sluice {
namespace {

using test::Bytes;

ParsedPacket parsed(const Bytes& frame) {
  ParsedPacket p;
  EXPECT_EQ(parse_packet(frame, p), PacketParseError::none);
  return p;
}

TEST(TcpChecksum, RightChecksumPasses) {
  Bytes frame = test::tcp4_frame({.payload = test::http_get("pypi.org")});
  EXPECT_TRUE(tcp_checksum_ok(frame, parsed(frame)));
}

TEST(TcpChecksum, AnyFlippedByteFails) {
  const Bytes good = test::tcp4_frame({.payload = test::http_get("pypi.org")});
  // Every byte the checksum covers: addresses (26-33), TCP header and payload (34-).
  for (size_t i = 26; i < good.size(); ++i) {
    if (i == 50 || i == 51) continue;  // the checksum field itself
    Bytes frame = good;
    frame[i] ^= 0x40;
    ParsedPacket p;
    if (parse_packet(frame, p) != PacketParseError::none) continue;  // e.g. the data offset
    EXPECT_FALSE(tcp_checksum_ok(frame, p)) << "byte " << i;
  }
}

TEST(TcpChecksum, ZeroChecksumFails) {
  Bytes frame = test::tcp4_frame({.payload = test::http_get("pypi.org")});
  frame[50] = frame[51] = 0;
  EXPECT_FALSE(tcp_checksum_ok(frame, parsed(frame)));
}

TEST(TcpChecksum, Ipv6Segment) {
  IpAddress source{6}, destination{6};
  source.bytes[0] = destination.bytes[0] = 0x20;
  source.bytes[1] = destination.bytes[1] = 0x01;
  source.bytes[2] = destination.bytes[2] = 0x0d;
  source.bytes[3] = destination.bytes[3] = 0xb8;
  source.bytes[15] = 1;
  destination.bytes[15] = 2;
  Bytes segment = test::tcp4_frame({.payload = test::http_get("pypi.org")});
  segment.erase(segment.begin(), segment.begin() + 34);  // the TCP segment alone
  segment[16] = segment[17] = 0;
  const uint16_t checksum = l4_checksum(source, destination, kIpProtoTcp, segment);
  segment[16] = uint8_t(checksum >> 8);
  segment[17] = uint8_t(checksum);
  Bytes frame = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd, 0x60, 0, 0, 0};
  test::put16(frame, uint16_t(segment.size()));
  frame.push_back(kIpProtoTcp);
  frame.push_back(64);
  frame.insert(frame.end(), source.bytes, source.bytes + 16);
  frame.insert(frame.end(), destination.bytes, destination.bytes + 16);
  frame.insert(frame.end(), segment.begin(), segment.end());
  EXPECT_TRUE(tcp_checksum_ok(frame, parsed(frame)));
  frame.back() ^= 1;
  EXPECT_FALSE(tcp_checksum_ok(frame, parsed(frame)));
}

TEST(TcpChecksum, FragmentsAndOtherProtocolsAreNotChecked) {
  Bytes frame = test::tcp4_frame({.payload = test::http_get("pypi.org")});
  ParsedPacket p = parsed(frame);
  frame[60] ^= 1;
  p.is_fragment = true;
  EXPECT_TRUE(tcp_checksum_ok(frame, p));
  Bytes udp = test::tcp4_frame({.payload = test::http_get("pypi.org")}, kIpProtoUdp);
  EXPECT_TRUE(tcp_checksum_ok(udp, parsed(udp)));
}

}  // namespace
}  // namespace sluice

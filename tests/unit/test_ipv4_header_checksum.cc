#include "dataplane/parse/ipv4_header_checksum.h"

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

TEST(Ipv4HeaderChecksum, RightChecksumPasses) {
  const Bytes frame = test::tcp4_frame({.payload = test::http_get("pypi.org")});
  EXPECT_TRUE(ipv4_header_checksum_ok(frame, parsed(frame)));
  // A known header (RFC 1071's worked example is not IPv4; this one is from a capture):
  // 45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7.
  Bytes captured = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
                    0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61,
                    0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  captured.resize(14 + 0x73, 0);
  captured[14 + 20 + 4] = 0;
  captured[14 + 20 + 5] = 0x73 - 20;  // UDP length
  EXPECT_TRUE(ipv4_header_checksum_ok(captured, parsed(captured)));
}

// Every header byte counts: the payload does not.
TEST(Ipv4HeaderChecksum, AnyFlippedHeaderByteFails) {
  const Bytes good = test::tcp4_frame({.payload = test::http_get("pypi.org")});
  for (size_t i = 14; i < 34; ++i) {
    Bytes frame = good;
    frame[i] ^= 0x01;
    ParsedPacket p;
    if (parse_packet(frame, p) != PacketParseError::none) continue;  // e.g. the IHL or length
    EXPECT_FALSE(ipv4_header_checksum_ok(frame, p)) << "byte " << i;
  }
  Bytes payload_changed = good;
  payload_changed.back() ^= 0x01;
  EXPECT_TRUE(ipv4_header_checksum_ok(payload_changed, parsed(payload_changed)));
}

TEST(Ipv4HeaderChecksum, ZeroFieldFails) {
  Bytes frame = test::tcp4_frame({});
  frame[24] = frame[25] = 0;
  EXPECT_FALSE(ipv4_header_checksum_ok(frame, parsed(frame)));
}

// Options are part of the header the checksum covers.
TEST(Ipv4HeaderChecksum, OptionsAreCovered) {
  Bytes frame = test::tcp4_frame({});
  frame.insert(frame.begin() + 34, {1, 1, 1, 0});  // NOP NOP NOP EOL
  frame[14] = 0x46;
  frame[17] = uint8_t(frame[17] + 4);
  test::refresh_ipv4_checksum(frame);
  EXPECT_TRUE(ipv4_header_checksum_ok(frame, parsed(frame)));
  frame[36] = 0;  // an option byte: NOP → EOL
  EXPECT_FALSE(ipv4_header_checksum_ok(frame, parsed(frame)));
}

TEST(Ipv4HeaderChecksum, OnlyIpv4IsChecked) {
  ParsedPacket arp;
  arp.ip_version = 0;
  EXPECT_TRUE(ipv4_header_checksum_ok({}, arp));
  ParsedPacket v6;
  v6.ip_version = 6;
  EXPECT_TRUE(ipv4_header_checksum_ok({}, v6));
  // An IPv4 packet whose offsets do not fit the span is not passed.
  ParsedPacket bogus;
  bogus.ip_version = 4;
  bogus.l3_offset = 14;
  bogus.l4_offset = 34;
  EXPECT_FALSE(ipv4_header_checksum_ok(Bytes(20, 0), bogus));
}

}  // namespace
}  // namespace sluice

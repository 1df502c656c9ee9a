#include "dataplane/parse/tcp_options.h"

#include <gtest/gtest.h>

#include "tests/unit/frame_builder.h"

namespace sluice {
namespace {

using test::Bytes;

TcpOptionsStatus check(const Bytes& options) {
  Bytes frame = test::with_tcp_options(test::tcp4_frame({.flags = 0x02, .seq = 1, .ack = 0}), options);
  ParsedPacket parsed;
  EXPECT_EQ(parse_packet(frame, parsed), PacketParseError::none);
  return check_tcp_options(frame, parsed);
}

TEST(TcpOptions, NoOptionsPass) {
  Bytes frame = test::tcp4_frame({});
  ParsedPacket parsed;
  ASSERT_EQ(parse_packet(frame, parsed), PacketParseError::none);
  EXPECT_EQ(check_tcp_options(frame, parsed), TcpOptionsStatus::ok);
}

TEST(TcpOptions, ALinuxSynPasses) {
  // MSS 1460, SACK-permitted, timestamps, NOP, window scale 7: what Linux sends.
  EXPECT_EQ(check({2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7}), TcpOptionsStatus::ok);
}

TEST(TcpOptions, SackBlocksPass) {
  Bytes sack{1, 1, 5, 10};
  sack.insert(sack.end(), 8, 0x22);
  EXPECT_EQ(check(sack), TcpOptionsStatus::ok);
  Bytes four{1, 1, 5, 34};
  four.insert(four.end(), 32, 0x22);
  EXPECT_EQ(check(four), TcpOptionsStatus::ok);
}

TEST(TcpOptions, EolWithZeroPaddingPasses) { EXPECT_EQ(check({1, 1, 0, 0}), TcpOptionsStatus::ok); }

TEST(TcpOptions, BytesAfterEolAreMalformed) { EXPECT_EQ(check({0, 'M', 'K', 'R'}), TcpOptionsStatus::malformed); }

TEST(TcpOptions, FastOpenCookieIsNotAllowed) {
  EXPECT_EQ(check({34, 10, 'M', 'A', 'R', 'K', 'E', 'R', '0', '1', 1, 1}), TcpOptionsStatus::not_allowed);
  EXPECT_EQ(check({34, 2, 1, 1}), TcpOptionsStatus::not_allowed);  // a cookie request
}

TEST(TcpOptions, ExperimentalAndOtherKindsAreNotAllowed) {
  for (uint8_t kind : {6, 7, 19, 28, 29, 30, 253, 254})
    EXPECT_EQ(check({kind, 4, 'M', 'K'}), TcpOptionsStatus::not_allowed) << int(kind);
}

TEST(TcpOptions, WrongLengthsAreMalformed) {
  EXPECT_EQ(check({2, 3, 5, 1}), TcpOptionsStatus::malformed);           // MSS is 4 long
  EXPECT_EQ(check({3, 4, 7, 1}), TcpOptionsStatus::malformed);           // window scale is 3
  EXPECT_EQ(check({4, 4, 0, 0}), TcpOptionsStatus::malformed);           // SACK-permitted is 2
  EXPECT_EQ(check({8, 8, 0, 0, 0, 0, 0, 0}), TcpOptionsStatus::malformed);  // timestamps are 10
  EXPECT_EQ(check({5, 6, 0, 0, 0, 0, 1, 1}), TcpOptionsStatus::malformed);  // SACK: 2 + 8n
  EXPECT_EQ(check({2, 1, 0, 0}), TcpOptionsStatus::malformed);           // length below 2
  EXPECT_EQ(check({1, 1, 1, 2}), TcpOptionsStatus::malformed);           // no room for a length
  EXPECT_EQ(check({1, 1, 8, 10}), TcpOptionsStatus::malformed);          // runs past the header
}

}  // namespace
}  // namespace sluice

// Before a TLS/HTTP flow's verdict nothing leaves but the message being judged, and that only at
// the verdict: its pieces are held (released in order on an allow, freed on a deny), segments
// outside the message are dropped, its SYN carries no data and no unknown TCP option, and its
// deadline is not moved by its traffic.
#include <gtest/gtest.h>

#include <rte_cycles.h>

#include "dataplane/worker/packet_processor.h"
#include "tests/unit/frame_builder.h"
#include "tests/unit/worker_fixture.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPshAck = 0x18;
constexpr uint32_t kIsn = 999;  // the client's first byte is kIsn + 1

class HeldPiecesTest : public test::WorkerFixture {
 protected:
  void adjust(PacketProcessorSetup& setup) override {
    setup.external_clock = true;
    setup.timeouts.tcp_handshake = 5;
  }
  void SetUp() override {
    test::WorkerFixture::SetUp();
    at_seconds(0);
  }
  void at_seconds(double seconds) { processor_->set_clock(uint64_t((seconds + 1) * double(rte_get_tsc_hz()))); }

  Bytes segment(uint32_t offset, const Bytes& payload, const char* src = "198.18.1.10") {
    return test::tcp4_frame(Tcp4{.src = src, .flags = kPshAck, .seq = kIsn + 1 + offset, .payload = payload});
  }
  // The SYN, SYN-ACK and ACK of the flow, passed.
  void handshake(const char* src = "198.18.1.10") {
    burst(Side::inside, {test::tcp4_frame(Tcp4{.src = src, .flags = kSyn, .seq = kIsn, .ack = 0})});
    ASSERT_EQ(out_.forward_count, 1);
    burst(Side::outside, {test::tcp4_frame(Tcp4{.src = "198.19.0.80", .dst = src, .src_port = 443,
                                                .dst_port = 40000, .flags = 0x12, .seq = 4999, .ack = kIsn + 1})});
    ASSERT_EQ(out_.forward_count, 1);
    burst(Side::inside, {test::tcp4_frame(Tcp4{.src = src, .flags = kAck, .seq = kIsn + 1})});
    ASSERT_EQ(out_.forward_count, 1);
  }
  static Bytes slice(const Bytes& bytes, size_t begin, size_t end) {
    return Bytes(bytes.begin() + long(begin), bytes.begin() + long(end));
  }
  uint32_t forwarded_seq(int index) const {
    ParsedPacket parsed;
    const Bytes frame = forwarded_bytes(index);
    EXPECT_EQ(parse_packet(frame, parsed), PacketParseError::none);
    return parsed.tcp_seq;
  }
  uint32_t sweep() { return processor_->expire_idle(flows_.position_count(), policy_.get()); }
};

TEST_F(HeldPiecesTest, PiecesOfAnAllowedHelloLeaveAtTheVerdictInSequenceOrder) {
  const Bytes hello = test::client_hello("pypi.org");
  const size_t a = 20, b = 40;
  handshake();
  burst(Side::inside, {segment(b, slice(hello, b, hello.size() - 1))});  // out of order, a gap before it
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {segment(0, slice(hello, 0, a))});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {segment(a, slice(hello, a, b))});
  EXPECT_EQ(out_.forward_count, 0) << "the last byte is still missing";
  burst(Side::inside, {segment(uint32_t(hello.size() - 1), slice(hello, hello.size() - 1, hello.size()))});
  ASSERT_EQ(out_.forward_count, 4);
  EXPECT_EQ(forwarded_seq(0), kIsn + 1);
  EXPECT_EQ(forwarded_seq(1), kIsn + 1 + a);
  EXPECT_EQ(forwarded_seq(2), kIsn + 1 + b);
  EXPECT_EQ(forwarded_seq(3), kIsn + 1 + uint32_t(hello.size() - 1));
  EXPECT_TRUE(events().empty());
}

TEST_F(HeldPiecesTest, PiecesOfADeniedHelloNeverLeave) {
  const Bytes hello = test::client_hello("exfil.example.net");
  handshake();
  burst(Side::inside, {segment(0, slice(hello, 0, 30))});
  burst(Side::inside, {segment(60, slice(hello, 60, hello.size()))});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {segment(30, slice(hello, 30, 60))});
  EXPECT_EQ(out_.forward_count, 1) << "only the reset onward to the server";
  EXPECT_EQ(dropped(Reason::domain_not_allowed), 3u) << "the two held pieces and the deciding one";
  ParsedPacket reset;
  ASSERT_EQ(parse_packet(forwarded_bytes(0), reset), PacketParseError::none);
  EXPECT_TRUE(reset.tcp_flags & kTcpRst);
  EXPECT_EQ(reset.tcp_seq, kIsn + 1) << "nothing of the message reached the server";
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::domain_not_allowed);
}

TEST_F(HeldPiecesTest, DryRunReleasesThePiecesWithTheDenial) {
  const Bytes hello = test::client_hello("exfil.example.net");
  handshake("198.18.2.10");
  burst(Side::inside, {segment(0, slice(hello, 0, 30), "198.18.2.10")});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {segment(30, slice(hello, 30, hello.size()), "198.18.2.10")});
  EXPECT_EQ(out_.forward_count, 2);
}

TEST_F(HeldPiecesTest, SegmentsOutsideTheMessageAreDropped) {
  const Bytes hello = test::client_hello("exfil.example.net");
  handshake();
  burst(Side::inside, {segment(0, slice(hello, 0, 30))});
  // Before the message (the SYN's sequence space), and a repeat of held bytes.
  burst(Side::inside, {test::tcp4_frame(Tcp4{.flags = kPshAck, .seq = kIsn - 50, .payload = Bytes(40, 'M')}),
                       segment(0, slice(hello, 0, 30)), segment(10, slice(hello, 10, 20))});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::tcp_segment_outside_message), 3u);
}

TEST_F(HeldPiecesTest, BytesBeyondTheBoundDenyTheFlowAndFreeThePieces) {
  handshake();
  burst(Side::inside, {segment(0, Bytes{22, 3, 1})});
  burst(Side::inside, {segment(20000, Bytes(100, 'M'))});  // beyond tls_max_client_hello_bytes
  EXPECT_EQ(out_.forward_count, 1) << "only the onward reset";
  EXPECT_EQ(dropped(Reason::tls_client_hello_too_large), 2u);
}

TEST_F(HeldPiecesTest, AMessageInMorePiecesThanTheHoldTakesDeniesTheFlowWithARecord) {
  const Bytes hello = test::client_hello("pypi.org");
  handshake();
  // Every other byte: kMaxHeldSegments pieces, none touching the next, then one more.
  for (int i = 0; i < kMaxHeldSegments; ++i) burst(Side::inside, {segment(uint32_t(2 * i + 1), Bytes{hello[size_t(2 * i + 1)]})});
  EXPECT_EQ(dropped(Reason::held_segments_full), 0u);
  burst(Side::inside, {segment(0, Bytes{hello[0]})});
  ASSERT_EQ(out_.forward_count, 1) << "only the reset onward to the server";
  EXPECT_EQ(out_.reply_count, 1) << "the client is told at once";
  EXPECT_EQ(dropped(Reason::held_segments_full), uint64_t(kMaxHeldSegments) + 1) << "the held pieces and the last";
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::held_segments_full);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_enforced);
}

TEST_F(HeldPiecesTest, AHelloInOneByteSegmentsIsDeniedAtTheSeventeenthWithNothingForwarded) {
  // Real clients never do this; an attacker may. The hold is bounded by pieces: fail closed, by
  // name, at once (not at the deadline).
  const Bytes hello = test::client_hello("pypi.org");
  handshake();
  for (size_t i = 0; i < hello.size(); ++i) {
    burst(Side::inside, {segment(uint32_t(i), Bytes{hello[i]})});
    for (uint16_t f = 0; f < out_.forward_count; ++f) {
      ParsedPacket parsed;
      ASSERT_EQ(parse_packet(forwarded_bytes(f), parsed), PacketParseError::none);
      EXPECT_EQ(parsed.payload_length, 0u) << "byte " << i;
    }
  }
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::held_segments_full);
  EXPECT_EQ(dropped(Reason::held_segments_full), uint64_t(kMaxHeldSegments) + 1);
  EXPECT_EQ(dropped(Reason::flow_denied), hello.size() - kMaxHeldSegments - 1);
}

// IPv4 options reach the destination unread: before the verdict (a SYN to any address on a TLS
// port passes so that the name can be read), none may leave; after an allow, they are the
// server's business like TCP options.
TEST_F(HeldPiecesTest, IpOptionsAreDroppedBeforeTheVerdict) {
  const Bytes options = {0x9e, 10, 'M', 'A', 'R', 'K', 'E', 'R', '0', '1', 0, 0};  // an unknown option, EOL
  Bytes syn = test::tcp4_frame(Tcp4{.flags = kSyn, .seq = kIsn, .ack = 0});
  burst(Side::inside, {test::with_ipv4_options(syn, options)});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::ip_options_before_verdict), 1u);
  // Options that are only NOPs and EOL still carry bytes (after EOL): dropped too.
  burst(Side::inside, {test::with_ipv4_options(syn, {1, 1, 1, 0})});
  EXPECT_EQ(dropped(Reason::ip_options_before_verdict), 2u);
  handshake();
  burst(Side::inside, {test::with_ipv4_options(segment(0, test::client_hello("pypi.org")), options)});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::ip_options_before_verdict), 3u);
  // The same hello without them is judged and allowed; then options pass with the flow.
  burst(Side::inside, {segment(0, test::client_hello("pypi.org"))});
  ASSERT_EQ(out_.forward_count, 1);
  burst(Side::inside, {test::with_ipv4_options(segment(uint32_t(test::client_hello("pypi.org").size()),
                                                       Bytes(20, 'x')), options)});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(dropped(Reason::ip_options_before_verdict), 3u);
}

TEST_F(HeldPiecesTest, AResetFlowFreesItsPieces) {
  handshake();
  burst(Side::inside, {segment(10, Bytes(10, 'M'))});
  burst(Side::inside, {test::tcp4_frame(Tcp4{.flags = 0x04, .seq = kIsn + 1})});  // RST passes
  // A new connection on the same 5-tuple.
  burst(Side::inside, {test::tcp4_frame(Tcp4{.flags = kSyn, .seq = 77, .ack = 0})});
  EXPECT_EQ(dropped(Reason::held_segment_discarded), 1u);
}

TEST_F(HeldPiecesTest, FastOpenAndUnknownOptionsAreDroppedBeforeTheVerdict) {
  Bytes syn = test::tcp4_frame(Tcp4{.flags = kSyn, .seq = kIsn, .ack = 0});
  burst(Side::inside, {test::with_tcp_options(syn, {34, 10, 'M', 'A', 'R', 'K', 'E', 'R', '0', '1', 1, 1})});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::tcp_option_not_allowed), 1u);
  // Data on the SYN, even a whole ClientHello for an allowed name.
  burst(Side::inside,
        {test::tcp4_frame(Tcp4{.flags = kSyn, .seq = kIsn, .ack = 0, .payload = test::client_hello("pypi.org")})});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::tcp_syn_payload), 1u);
  // A plain SYN with the usual options passes; then an ACK with an experimental option does not.
  burst(Side::inside, {test::with_tcp_options(syn, {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7})});
  EXPECT_EQ(out_.forward_count, 1);
  Bytes ack = test::tcp4_frame(Tcp4{.flags = kAck, .seq = kIsn + 1});
  burst(Side::inside, {test::with_tcp_options(ack, {254, 4, 'M', 'K'})});
  EXPECT_EQ(dropped(Reason::tcp_option_not_allowed), 2u);
  burst(Side::inside, {test::with_tcp_options(ack, {8, 9, 0, 0})});
  EXPECT_EQ(dropped(Reason::tcp_option_malformed), 1u);
  EXPECT_EQ(out_.forward_count, 0);
  // After the verdict the flow's options are the server's business.
  burst(Side::inside, {segment(0, test::client_hello("pypi.org"))});
  ASSERT_EQ(out_.forward_count, 1);
  burst(Side::inside, {test::with_tcp_options(ack, {254, 4, 'M', 'K'})});
  EXPECT_EQ(out_.forward_count, 1);
}

TEST_F(HeldPiecesTest, TrafficDoesNotMoveTheDeadline) {
  handshake();
  burst(Side::inside, {segment(0, Bytes{22, 3, 1})});
  for (double second : {1.0, 2.0, 3.0, 4.0}) {
    at_seconds(second);
    burst(Side::inside, {test::tcp4_frame(Tcp4{.flags = kAck, .seq = kIsn + 1})});
    EXPECT_EQ(out_.forward_count, 1) << second;
  }
  at_seconds(6);  // past 5 s from the first packet, 2 s after the last
  burst(Side::inside, {test::tcp4_frame(Tcp4{.flags = kAck, .seq = kIsn + 1})});
  EXPECT_EQ(out_.forward_count, 1) << "only the onward reset";
  EXPECT_EQ(dropped(Reason::pending_deadline), 2u) << "the held piece and the late packet";
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::pending_deadline);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(recorded[0].destination_type, DestinationType::sni);
}

TEST_F(HeldPiecesTest, TheSweepDeniesAPendingFlowMidMessageAtItsDeadline) {
  handshake();
  burst(Side::inside, {segment(0, Bytes{22, 3, 1})});
  at_seconds(4);
  burst(Side::inside, {test::tcp4_frame(Tcp4{.flags = kAck, .seq = kIsn + 1})});
  EXPECT_EQ(sweep(), 0u);
  EXPECT_TRUE(events().empty());
  at_seconds(7);  // past the deadline, not idle long enough to age out
  sweep();
  EXPECT_EQ(dropped(Reason::pending_deadline), 1u) << "the held piece";
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::pending_deadline);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_enforced);
  // Its next packet is dropped as part of a denied flow.
  burst(Side::inside, {test::tcp4_frame(Tcp4{.flags = kAck, .seq = kIsn + 1})});
  EXPECT_EQ(dropped(Reason::flow_denied), 1u);
}

TEST_F(HeldPiecesTest, AQuietFlowWithoutPayloadAgesOutWithoutARecord) {
  handshake();
  at_seconds(7);
  EXPECT_EQ(sweep(), 1u);
  EXPECT_TRUE(events().empty());
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// IPv4 fragments of `frame` (from tcp4_frame): the IP payload cut at `cuts` (multiples of 8).
std::vector<Bytes> fragments_of(const Bytes& frame, std::vector<size_t> cuts, uint16_t id = 0x4242) {
  const Bytes headers(frame.begin(), frame.begin() + 34);
  const Bytes l4(frame.begin() + 34, frame.end());
  cuts.insert(cuts.begin(), 0);
  cuts.push_back(l4.size());
  std::vector<Bytes> out;
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    Bytes piece = headers;
    piece.insert(piece.end(), l4.begin() + long(cuts[i]), l4.begin() + long(cuts[i + 1]));
    const uint16_t total = uint16_t(20 + cuts[i + 1] - cuts[i]);
    piece[16] = uint8_t(total >> 8);
    piece[17] = uint8_t(total);
    piece[18] = uint8_t(id >> 8);
    piece[19] = uint8_t(id);
    const uint16_t flags = uint16_t((i + 2 < cuts.size() ? 0x2000 : 0) | (cuts[i] / 8));
    piece[20] = uint8_t(flags >> 8);
    piece[21] = uint8_t(flags);
    test::refresh_ipv4_checksum(piece);
    out.push_back(piece);
  }
  return out;
}

using FragmentedHelloTest = HeldPiecesTest;

TEST_F(FragmentedHelloTest, AnAllowedHelloInFragmentsIsJudgedAndLeavesWhole) {
  handshake();
  auto pieces = fragments_of(segment(0, test::client_hello("pypi.org")), {40, 80});
  burst(Side::inside, {pieces[0]});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {pieces[1]});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {pieces[2]});
  ASSERT_EQ(out_.forward_count, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(forwarded_bytes(i), pieces[size_t(i)]) << i;
  // After the verdict the connection is followed (every later message judged), and the follow
  // stage reads whole segments only: fragments of a followed connection are dropped, not
  // forwarded unread (docs/POLICY.md, "Every message on a connection").
  auto later = fragments_of(segment(200, Bytes(100, 'x')), {64}, 0x4343);
  burst(Side::inside, later);
  EXPECT_EQ(out_.forward_count, 0);
}

TEST_F(FragmentedHelloTest, ADeniedHelloInFragmentsIsDeniedWithARecord) {
  handshake();
  auto pieces = fragments_of(segment(0, test::client_hello("exfil.example.net")), {48});
  burst(Side::inside, {pieces[0]});
  burst(Side::inside, {pieces[1]});
  EXPECT_EQ(out_.forward_count, 1) << "only the onward reset";
  EXPECT_EQ(dropped(Reason::domain_not_allowed), 2u);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::domain_not_allowed);
  EXPECT_EQ(std::string(recorded[0].name, recorded[0].name_length), "exfil.example.net");
}

TEST_F(FragmentedHelloTest, AHelloAcrossAFragmentedAndAPlainSegmentIsHeldWhole) {
  handshake();
  const Bytes hello = test::client_hello("pypi.org");
  auto pieces = fragments_of(segment(0, slice(hello, 0, 60)), {40});
  burst(Side::inside, pieces);
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {segment(60, slice(hello, 60, hello.size()))});
  ASSERT_EQ(out_.forward_count, 3);
  EXPECT_EQ(forwarded_bytes(0), pieces[0]);
  EXPECT_EQ(forwarded_bytes(1), pieces[1]);
}

TEST_F(FragmentedHelloTest, DisagreeingOverlapDeniesTheFlow) {
  handshake();
  const Bytes frame = segment(0, test::client_hello("pypi.org"));
  auto pieces = fragments_of(frame, {48});
  Bytes forged = fragments_of(frame, {40})[1];  // overlaps bytes 40-47 of the first
  forged[34 + 2] ^= 0x20;
  burst(Side::inside, {pieces[0]});
  burst(Side::inside, {forged});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::fragment_overlap_conflict), 2u);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::fragment_overlap_conflict);
  burst(Side::inside, {pieces[1]});
  EXPECT_EQ(out_.forward_count, 0);
}

TEST_F(FragmentedHelloTest, AMalformedFragmentDeniesTheFlow) {
  handshake();
  auto pieces = fragments_of(segment(0, test::client_hello("pypi.org")), {48});
  Bytes odd = pieces[0];
  odd.resize(odd.size() - 3);  // a non-final fragment of 45 bytes
  odd[17] = uint8_t(odd[17] - 3);
  test::refresh_ipv4_checksum(odd);
  burst(Side::inside, {odd});
  EXPECT_EQ(dropped(Reason::fragment_malformed), 1u);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::fragment_malformed);
}

TEST_F(FragmentedHelloTest, AFirstFragmentWithAnUnknownOptionIsDropped) {
  handshake();
  Bytes frame = test::with_tcp_options(segment(0, test::client_hello("pypi.org")), {254, 4, 'M', 'K'});
  burst(Side::inside, {fragments_of(frame, {48})[0]});
  EXPECT_EQ(dropped(Reason::tcp_option_not_allowed), 1u);
}

}  // namespace
}  // namespace sluice

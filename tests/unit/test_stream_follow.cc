// The follow stage on the real packet path: every request and every ClientHello on an allowed
// connection is judged, the framing between them is followed exactly, and what cannot be
// followed (a gap, a rewritten retransmission, an unknown encoding, an upgrade) is refused by
// its reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/worker/packet_processor.h"
#include "tests/unit/frame_builder.h"
#include "tests/unit/worker_fixture.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;
using test::operator+;

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPshAck = 0x18;

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes get(const std::string& host, const std::string& path = "/") {
  return text("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
}

// One client connection; data() carries on where the last segment ended.
struct Connection {
  const char* src = "198.18.1.10";
  const char* dst = "198.19.0.80";
  uint16_t src_port = 40000;
  uint16_t dst_port = 80;
  uint32_t next = 1000;

  Bytes segment(uint8_t flags, uint32_t seq, const Bytes& payload = {}, uint8_t ttl = 64) const {
    Tcp4 spec{.src = src, .dst = dst, .src_port = src_port, .dst_port = dst_port, .flags = flags, .seq = seq,
              .payload = payload};
    Bytes frame = test::tcp4_frame(spec);
    frame[22] = ttl;
    test::refresh_ipv4_checksum(frame);
    return frame;
  }
  Bytes syn() const { return segment(kSyn, 999); }
  Bytes data(const Bytes& payload) {
    Bytes frame = segment(kPshAck, next, payload);
    next += uint32_t(payload.size());
    return frame;
  }
  Bytes at(uint32_t seq, const Bytes& payload) const { return segment(kPshAck, seq, payload); }
  // The server acknowledging every byte the client sent.
  Bytes server_ack() const {
    Tcp4 spec{.src = dst, .dst = src, .src_port = dst_port, .dst_port = src_port, .flags = kAck, .seq = 5000,
              .ack = next};
    return test::tcp4_frame(spec);
  }
};

class StreamFollowTest : public test::WorkerFixture {
 protected:
  // Sends one frame from the inside; true when it was forwarded.
  bool sends(const Bytes& frame) {
    burst(Side::inside, {frame});
    return out_.forward_count == 1;
  }
  uint64_t verdicts(Reason reason) const { return read(counters_->flow_verdicts[static_cast<int>(reason)]); }
};

TEST_F(StreamFollowTest, KeepAliveRequestsToTheAllowedHostAllPass) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(sends(c.data(get("pypi.org", "/simple/" + std::to_string(i))))) << i;
  EXPECT_TRUE(sends(c.data(get("PyPI.org."))));  // the same name, written differently
  EXPECT_TRUE(events().empty());
}

TEST_F(StreamFollowTest, KeepAliveRequestToAnotherHostIsDeniedWithItsOwnRecord) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(get("pypi.org"))));
  // Another allowed host too: a connection stays with the host it was allowed for.
  EXPECT_FALSE(sends(c.data(get("api.github.com", "/<<EXFIL>>"))));
  EXPECT_EQ(out_.reply_count, 1);  // the client is reset
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(recorded[0].reason, Reason::http_host_changed);
  EXPECT_EQ(recorded[0].destination_type, DestinationType::http_host);
  EXPECT_EQ(std::string(recorded[0].name, recorded[0].name_length), "api.github.com");
  EXPECT_EQ(verdicts(Reason::http_host_changed), 1u);
  EXPECT_FALSE(sends(c.data(get("pypi.org"))));  // the connection is over
  EXPECT_EQ(dropped(Reason::flow_denied), 1u);
}

TEST_F(StreamFollowTest, PipelinedRequestInTheFirstSegmentIsJudgedWithIt) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  EXPECT_FALSE(sends(c.data(get("pypi.org") + get("exfil.example.net"))));
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);  // one record: the first verdict is the denial
  EXPECT_EQ(recorded[0].reason, Reason::http_host_changed);
  EXPECT_EQ(verdicts(Reason::allowed_domain), 0u);

  Connection same{.src_port = 40001};
  ASSERT_TRUE(sends(same.syn()));
  EXPECT_TRUE(sends(same.data(get("pypi.org") + get("pypi.org", "/two"))));
}

TEST_F(StreamFollowTest, ContentLengthBodyIsSkippedOverSegments) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  const std::string body(3000, 'x');
  ASSERT_TRUE(sends(c.data(text("POST /up HTTP/1.1\r\nHost: pypi.org\r\nContent-Length: 3000\r\n\r\n"))));
  // A body that looks like a request is still body.
  EXPECT_TRUE(sends(c.data(get("exfil.example.net"))));
  EXPECT_TRUE(sends(c.data(text(body.substr(0, 3000 - get("exfil.example.net").size())))));
  EXPECT_TRUE(sends(c.data(get("pypi.org"))));
  EXPECT_FALSE(sends(c.data(get("exfil.example.net"))));
  EXPECT_EQ(events().at(0).reason, Reason::http_host_changed);
}

TEST_F(StreamFollowTest, ChunkedBodyHidingARequestHeadIsBodyNotARequest) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  const std::string hidden = "GET / HTTP/1.1\r\nHost: exfil.example.net\r\n\r\n";
  char size[8];
  snprintf(size, sizeof size, "%zx", hidden.size());
  ASSERT_TRUE(sends(c.data(text("POST / HTTP/1.1\r\nHost: pypi.org\r\nTransfer-Encoding: chunked\r\n\r\n"))));
  EXPECT_TRUE(sends(c.data(text(std::string(size) + "\r\n" + hidden.substr(0, 10)))));
  EXPECT_TRUE(sends(c.data(text(hidden.substr(10) + "\r\n0\r\n\r\n"))));
  EXPECT_TRUE(sends(c.data(get("pypi.org"))));
  EXPECT_TRUE(events().empty());
}

TEST_F(StreamFollowTest, FramingTheServerCouldReadAnotherWayIsDenied) {
  struct Case {
    const char* headers;
    Reason reason;
  } cases[] = {
      {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", Reason::http_framing_ambiguous},
      {"Content-Length: 5\r\nContent-Length: 6\r\n", Reason::http_framing_ambiguous},
      {"Content-Length: +5\r\n", Reason::http_framing_ambiguous},
      {"Transfer-Encoding: gzip, chunked\r\n", Reason::http_transfer_encoding_unsupported},
  };
  uint16_t port = 41000;
  for (const Case& test_case : cases) {
    Connection c{.src_port = port++};
    ASSERT_TRUE(sends(c.syn()));
    ASSERT_TRUE(sends(c.data(get("pypi.org"))));
    EXPECT_FALSE(sends(c.data(text(std::string("POST / HTTP/1.1\r\nHost: pypi.org\r\n") + test_case.headers +
                                   "\r\nhello"))))
        << test_case.headers;
    auto recorded = events();
    ASSERT_EQ(recorded.size(), 1u);
    EXPECT_EQ(recorded[0].reason, test_case.reason) << test_case.headers;
  }
}

TEST_F(StreamFollowTest, MalformedChunkIsDenied) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(text("POST / HTTP/1.1\r\nHost: pypi.org\r\nTransfer-Encoding: chunked\r\n\r\n"))));
  EXPECT_FALSE(sends(c.data(text("5\nhello\r\n0\r\n\r\n"))));
  EXPECT_EQ(events().at(0).reason, Reason::http_chunk_malformed);
}

TEST_F(StreamFollowTest, ALaterHeadSplitOverSegmentsIsJudgedWhenComplete) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(get("pypi.org"))));
  const Bytes head = get("exfil.example.net");
  EXPECT_FALSE(sends(c.data(Bytes(head.begin(), head.begin() + 20))));  // a piece: held
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_FALSE(sends(c.data(Bytes(head.begin() + 20, head.end()))));
  EXPECT_EQ(events().at(0).reason, Reason::http_host_changed);
}

TEST_F(StreamFollowTest, ASegmentBeyondAGapIsDroppedUntilTheGapIsFilled) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(get("pypi.org"))));
  const Bytes second = get("pypi.org", "/2");
  const uint32_t at = c.next;
  c.next += uint32_t(second.size());
  const Bytes third = c.data(get("exfil.example.net"));
  EXPECT_FALSE(sends(third));
  EXPECT_EQ(dropped(Reason::tcp_stream_gap), 1u);
  EXPECT_TRUE(events().empty());  // the flow is still allowed
  EXPECT_TRUE(sends(c.at(at, second)));
  EXPECT_FALSE(sends(third));  // in order now, and judged
  EXPECT_EQ(events().at(0).reason, Reason::http_host_changed);
}

TEST_F(StreamFollowTest, ARetransmissionRewritingAJudgedRequestIsAConflict) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  const Bytes first = get("pypi.org", "/aaaaaaaaaaaaaaaaaaaa");
  ASSERT_TRUE(sends(c.data(first)));
  EXPECT_TRUE(sends(c.at(1000, first)));  // the same bytes again: a retransmission
  const Bytes rewritten = get("evil.net", "/aaaaaaaaaaaaaaaaaaaa");
  ASSERT_EQ(rewritten.size(), first.size());
  EXPECT_FALSE(sends(c.at(1000, rewritten)));
  EXPECT_EQ(events().at(0).reason, Reason::tcp_overlap_conflict);
}

TEST_F(StreamFollowTest, WhatTheServerAcknowledgedIsNoLongerHeld) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(get("pypi.org", "/aaaaaaaaaaaaaaaaaaaa"))));
  burst(Side::outside, {c.server_ack()});
  ASSERT_EQ(out_.forward_count, 1);
  // The server has these bytes and drops a copy; the follower no longer compares them.
  EXPECT_TRUE(sends(c.at(1000, get("evil.net", "/aaaaaaaaaaaaaaaaaaaa"))));
  EXPECT_TRUE(sends(c.data(get("pypi.org"))));
}

TEST_F(StreamFollowTest, SegmentsTheServerWouldNotTakeAreNotFollowed) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(get("pypi.org"))));
  const uint32_t at = c.next;
  Bytes decoy = c.segment(kPshAck, at, get("pypi.org"), 1);  // TTL 1: dies at the next router
  EXPECT_FALSE(sends(decoy));
  EXPECT_EQ(dropped(Reason::ttl_too_low), 1u);
  Bytes corrupt = c.at(at, get("pypi.org"));
  corrupt[50] ^= 0x5a;
  EXPECT_FALSE(sends(corrupt));
  EXPECT_EQ(dropped(Reason::tcp_checksum_bad), 1u);
  EXPECT_FALSE(sends(c.data(get("exfil.example.net"))));  // the real bytes at that place
  EXPECT_EQ(events().at(0).reason, Reason::http_host_changed);
}

TEST_F(StreamFollowTest, NothingAfterAnUpgradeRequestIsFollowed) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(text("GET /ws HTTP/1.1\r\nHost: pypi.org\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\n\r\n"))));
  EXPECT_FALSE(sends(c.data(text("\x81\x05hello"))));
  EXPECT_EQ(events().at(0).reason, Reason::http_upgrade_not_followed);
}

TEST_F(StreamFollowTest, DryRunRecordsTheLaterRequestAndPasses) {
  Connection c{.src = "198.18.2.10"};
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(get("pypi.org"))));
  EXPECT_TRUE(sends(c.data(get("exfil.example.net"))));
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_dry_run);
  EXPECT_EQ(recorded[0].reason, Reason::http_host_changed);
}

TEST_F(StreamFollowTest, ASecondClientHelloMustNameTheSameServer) {
  Connection retry{.dst_port = 443};
  ASSERT_TRUE(sends(retry.syn()));
  ASSERT_TRUE(sends(retry.data(test::client_hello("pypi.org"))));
  // A HelloRetryRequest's answer: ChangeCipherSpec (compatibility mode) and the hello again.
  EXPECT_TRUE(sends(retry.data(Bytes{20, 3, 3, 0, 1, 1})));
  EXPECT_TRUE(sends(retry.data(test::client_hello("PYPI.org"))));
  EXPECT_TRUE(sends(retry.data(Bytes{23, 3, 3, 0, 3, 1, 2, 3})));  // application data
  EXPECT_TRUE(events().empty());

  Connection other{.src_port = 40001, .dst_port = 443};
  ASSERT_TRUE(sends(other.syn()));
  ASSERT_TRUE(sends(other.data(test::client_hello("pypi.org"))));
  const Bytes hello = test::client_hello("exfil.example.net");
  EXPECT_FALSE(sends(other.data(Bytes(hello.begin(), hello.begin() + 30))));  // a piece of it: held
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_FALSE(sends(other.data(Bytes(hello.begin() + 30, hello.end()))));
  EXPECT_EQ(out_.forward_count, 0);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::tls_second_hello_mismatch);
  EXPECT_EQ(recorded[0].destination_type, DestinationType::sni);
  EXPECT_EQ(std::string(recorded[0].name, recorded[0].name_length), "exfil.example.net");
}

TEST_F(StreamFollowTest, BytesThatAreNoTlsOnATlsConnectionAreDenied) {
  Connection c{.dst_port = 443};
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(test::client_hello("pypi.org"))));
  EXPECT_FALSE(sends(c.data(get("exfil.example.net"))));
  EXPECT_EQ(events().at(0).reason, Reason::tls_not_record);
}

TEST_F(StreamFollowTest, ATunnelThroughTheNamedProxyMustCarryTheTargetsHello) {
  Connection good{.dst = "198.19.30.1"};
  ASSERT_TRUE(sends(good.syn()));
  ASSERT_TRUE(sends(good.data(text("CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n"))));
  EXPECT_TRUE(sends(good.data(test::client_hello("pypi.org"))));
  EXPECT_TRUE(sends(good.data(Bytes{23, 3, 3, 0, 2, 9, 9})));
  EXPECT_TRUE(events().empty());

  Connection bad{.dst = "198.19.30.1", .src_port = 40001};
  ASSERT_TRUE(sends(bad.syn()));
  ASSERT_TRUE(sends(bad.data(text("CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n"))));
  EXPECT_FALSE(sends(bad.data(test::client_hello("exfil.example.net"))));
  EXPECT_EQ(events().at(0).reason, Reason::tls_second_hello_mismatch);

  Connection raw{.dst = "198.19.30.1", .src_port = 40002};
  ASSERT_TRUE(sends(raw.syn()));
  ASSERT_TRUE(sends(raw.data(text("CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n"))));
  EXPECT_FALSE(sends(raw.data(Bytes{22, 3, 3, 0, 8, 2, 0, 0, 4, 1, 2, 3, 4})));  // a handshake record, no hello
  EXPECT_EQ(events().at(0).reason, Reason::tls_not_client_hello);
}

TEST_F(StreamFollowTest, ASynOnAClosedConnectionIsJudgedAfreshWhateverItsSequenceNumber) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(get("pypi.org"))));
  burst(Side::outside, {c.server_ack()});
  ASSERT_TRUE(sends(c.segment(0x04, c.next)));  // the client resets
  // The same initial sequence number again: a new connection, not the old one's retransmission.
  ASSERT_TRUE(sends(c.syn()));
  c.next = 1000;
  EXPECT_FALSE(sends(c.data(get("exfil.example.net"))));
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::domain_not_allowed);
  EXPECT_EQ(recorded[0].flow_id, 2u);
}

TEST_F(StreamFollowTest, ARetransmittedSynOfARefusedConnectionMakesNoNewRecord) {
  // An address no DNS answer bound (the fixture binds 198.19.0.80 to pypi.org), on a port no
  // rule names: refused on its SYN.
  Connection c{.dst = "198.19.0.81", .dst_port = 22};
  EXPECT_FALSE(sends(c.syn()));
  EXPECT_EQ(events().size(), 1u);
  EXPECT_FALSE(sends(c.syn()));
  EXPECT_TRUE(events().empty());
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// Without a free reassembly slot, a later message whole in its segment is still judged (where it
// lies, unheld); only one that needs gathering is refused.
class StreamFollowWithoutSlotsTest : public StreamFollowTest {
 protected:
  void adjust(PacketProcessorSetup& setup) override { setup.reassembly_slots = 0; }
};

TEST_F(StreamFollowWithoutSlotsTest, WholeMessagesAreJudgedWhereTheyLie) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(get("pypi.org") + get("pypi.org", "/two"))));
  EXPECT_TRUE(sends(c.data(get("pypi.org", "/three"))));
  EXPECT_FALSE(sends(c.data(get("exfil.example.net"))));
  EXPECT_EQ(events().at(0).reason, Reason::http_host_changed);

  Connection tls{.src_port = 40001, .dst_port = 443};
  ASSERT_TRUE(sends(tls.syn()));
  ASSERT_TRUE(sends(tls.data(test::client_hello("pypi.org"))));
  EXPECT_TRUE(sends(tls.data(test::client_hello("pypi.org"))));
  EXPECT_FALSE(sends(tls.data(test::client_hello("exfil.example.net"))));
  EXPECT_EQ(events().at(0).reason, Reason::tls_second_hello_mismatch);
}

TEST_F(StreamFollowWithoutSlotsTest, AMessageThatNeedsGatheringIsRefused) {
  Connection c;
  ASSERT_TRUE(sends(c.syn()));
  ASSERT_TRUE(sends(c.data(get("pypi.org"))));
  const Bytes head = get("pypi.org", "/next");
  EXPECT_FALSE(sends(c.data(Bytes(head.begin(), head.begin() + 20))));
  EXPECT_EQ(events().at(0).reason, Reason::reassembly_capacity_exhausted);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// A later message spread over segments is held as a first one is: none of its pieces leaves
// before it is judged; they leave in order after its last piece when it is allowed, and are
// freed under its reason (the client reset, and the server at the first byte it was not sent)
// when it is denied.
class LaterMessageHoldTest : public StreamFollowTest {
 protected:
  // SYN, SYN-ACK and ACK: the server is known, so a denial resets it too.
  void open(const Connection& c) {
    ASSERT_TRUE(sends(c.syn()));
    Tcp4 syn_ack{.src = c.dst, .dst = c.src, .src_port = c.dst_port, .dst_port = c.src_port, .flags = 0x12,
                 .seq = 4999, .ack = c.next};
    burst(Side::outside, {test::tcp4_frame(syn_ack)});
    ASSERT_EQ(out_.forward_count, 1);
    ASSERT_TRUE(sends(c.segment(kAck, c.next)));
  }
  // The frames of `message` cut at `cuts` (offsets into it), each carrying on from the last.
  static std::vector<Bytes> pieces(Connection& c, const Bytes& message, std::vector<size_t> cuts) {
    std::vector<Bytes> out;
    size_t from = 0;
    cuts.push_back(message.size());
    for (size_t to : cuts) {
      out.push_back(c.data(Bytes(message.begin() + long(from), message.begin() + long(to))));
      from = to;
    }
    return out;
  }
  bool forwarded_carries(const std::string& marker) const {
    for (uint16_t i = 0; i < out_.forward_count; ++i) {
      const Bytes frame = forwarded_bytes(i);
      if (std::string(frame.begin(), frame.end()).find(marker) != std::string::npos) return true;
    }
    return false;
  }
  uint32_t forwarded_seq(int index) const {
    ParsedPacket parsed;
    EXPECT_EQ(parse_packet(forwarded_bytes(index), parsed), PacketParseError::none);
    return parsed.tcp_seq;
  }
};

TEST_F(LaterMessageHoldTest, AKeepAliveRequestToAnotherHostInThreeSegmentsNeverLeaves) {
  Connection c;
  open(c);
  ASSERT_TRUE(sends(c.data(get("pypi.org"))));
  const uint32_t message_seq = c.next;
  const auto frames = pieces(c, get("exfil.example.net", "/MARKER-aaaaaaaaaaaaaaaaaaaaaaaaaaaa"), {9, 30});
  burst(Side::inside, {frames[0]});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {frames[1]});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {frames[2]});
  ASSERT_EQ(out_.forward_count, 1) << "only the reset onward to the server";
  EXPECT_FALSE(forwarded_carries("MARKER"));
  EXPECT_FALSE(forwarded_carries("exfil"));
  ParsedPacket reset;
  ASSERT_EQ(parse_packet(forwarded_bytes(0), reset), PacketParseError::none);
  EXPECT_TRUE(reset.tcp_flags & kTcpRst);
  EXPECT_EQ(reset.tcp_seq, message_seq) << "the server was sent nothing of the message";
  EXPECT_EQ(out_.reply_count, 1);  // the client is reset
  EXPECT_EQ(dropped(Reason::http_host_changed), 3u) << "the two held pieces and the deciding one";
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::http_host_changed);
  EXPECT_EQ(std::string(recorded[0].name, recorded[0].name_length), "exfil.example.net");
  EXPECT_FALSE(sends(c.data(get("pypi.org"))));  // the connection is over
}

TEST_F(LaterMessageHoldTest, AKeepAliveRequestToTheSameHostInThreeSegmentsLeavesInOrderAfterTheLast) {
  Connection c;
  open(c);
  ASSERT_TRUE(sends(c.data(get("pypi.org"))));
  const auto frames = pieces(c, get("pypi.org", "/simple/requests/"), {5, 25});
  burst(Side::inside, {frames[0]});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {frames[1]});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {frames[2]});
  ASSERT_EQ(out_.forward_count, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(forwarded_bytes(i), frames[size_t(i)]) << i;
  EXPECT_TRUE(events().empty());
  EXPECT_TRUE(sends(c.data(get("pypi.org", "/next"))));  // and the connection goes on
}

TEST_F(LaterMessageHoldTest, ABodysTailAndTheNextHeadsStartInOneSegmentWaitForTheHead) {
  Connection c;
  open(c);
  ASSERT_TRUE(sends(c.data(text("POST /up HTTP/1.1\r\nHost: pypi.org\r\nContent-Length: 5\r\n\r\n"))));
  const Bytes next = get("pypi.org", "/after");
  const Bytes first = c.data(text("hello") + Bytes(next.begin(), next.begin() + 10));
  burst(Side::inside, {first});
  EXPECT_EQ(out_.forward_count, 0);
  const Bytes rest = c.data(Bytes(next.begin() + 10, next.end()));
  burst(Side::inside, {rest});
  ASSERT_EQ(out_.forward_count, 2);
  EXPECT_EQ(forwarded_bytes(0), first);
  EXPECT_EQ(forwarded_bytes(1), rest);

  Connection bad{.src_port = 40001};
  open(bad);
  ASSERT_TRUE(sends(bad.data(text("POST /up HTTP/1.1\r\nHost: pypi.org\r\nContent-Length: 5\r\n\r\n"))));
  const Bytes exfil = get("exfil.example.net", "/MARKER");
  burst(Side::inside, {bad.data(text("hello") + Bytes(exfil.begin(), exfil.begin() + 10))});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {bad.data(Bytes(exfil.begin() + 10, exfil.end()))});
  EXPECT_FALSE(forwarded_carries("MARKER"));
  EXPECT_EQ(dropped(Reason::http_host_changed), 2u);
}

TEST_F(LaterMessageHoldTest, APipelinedPieceInTheFirstSegmentWaitsWithIt) {
  Connection c;
  open(c);
  const Bytes second = get("pypi.org", "/two");
  const Bytes first = c.data(get("pypi.org") + Bytes(second.begin(), second.begin() + 12));
  burst(Side::inside, {first});
  EXPECT_EQ(out_.forward_count, 0);
  const Bytes rest = c.data(Bytes(second.begin() + 12, second.end()));
  burst(Side::inside, {rest});
  ASSERT_EQ(out_.forward_count, 2);
  EXPECT_EQ(forwarded_bytes(0), first);
  EXPECT_EQ(forwarded_bytes(1), rest);

  Connection bad{.src_port = 40001};
  open(bad);
  const Bytes exfil = get("exfil.example.net", "/MARKER");
  burst(Side::inside, {bad.data(get("pypi.org") + Bytes(exfil.begin(), exfil.begin() + 12))});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {bad.data(Bytes(exfil.begin() + 12, exfil.end()))});
  EXPECT_FALSE(forwarded_carries("MARKER"));
  EXPECT_EQ(events().at(0).reason, Reason::http_host_changed);
}

TEST_F(LaterMessageHoldTest, ASecondClientHelloInSegmentsIsHeldUntilJudged) {
  Connection retry{.dst_port = 443};
  open(retry);
  ASSERT_TRUE(sends(retry.data(test::client_hello("pypi.org"))));
  EXPECT_TRUE(sends(retry.data(Bytes{20, 3, 3, 0, 1, 1})));  // ChangeCipherSpec after a HelloRetryRequest
  // A record header and handshake header whole in the first piece: a hello from its first byte.
  const auto frames = pieces(retry, test::client_hello("pypi.org"), {20, 40});
  burst(Side::inside, {frames[0]});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {frames[1]});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {frames[2]});
  ASSERT_EQ(out_.forward_count, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(forwarded_bytes(i), frames[size_t(i)]) << i;
  EXPECT_TRUE(sends(retry.data(Bytes{23, 3, 3, 0, 3, 1, 2, 3})));  // application data
  EXPECT_TRUE(events().empty());

  Connection other{.src_port = 40001, .dst_port = 443};
  open(other);
  ASSERT_TRUE(sends(other.data(test::client_hello("pypi.org"))));
  const auto bad = pieces(other, test::client_hello("exfil.example.net"), {20, 40});
  for (const Bytes& frame : bad) {
    burst(Side::inside, {frame});
    EXPECT_FALSE(forwarded_carries("exfil"));
  }
  EXPECT_EQ(dropped(Reason::tls_second_hello_mismatch), 3u);
  EXPECT_EQ(events().at(0).reason, Reason::tls_second_hello_mismatch);
}

TEST_F(LaterMessageHoldTest, ALaterHelloInOneByteSegmentsIsDeniedWhenTheHoldIsFull) {
  Connection c{.dst_port = 443};
  open(c);
  ASSERT_TRUE(sends(c.data(test::client_hello("pypi.org"))));
  const Bytes hello = test::client_hello("pypi.org");
  // The record and handshake headers (9 bytes) show whether a record starts a hello: a segment
  // ending inside them passes as any record header does (docs/POLICY.md); from there on, held.
  constexpr size_t kHelloPrefix = 9;
  for (size_t i = 0; i < hello.size(); ++i) {
    burst(Side::inside, {c.data(Bytes{hello[i]})});
    if (i + 1 < kHelloPrefix) continue;
    for (uint16_t f = 0; f < out_.forward_count; ++f) {
      ParsedPacket parsed;
      ASSERT_EQ(parse_packet(forwarded_bytes(f), parsed), PacketParseError::none);
      EXPECT_EQ(parsed.payload_length, 0u) << "byte " << i;  // the onward reset only
    }
  }
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::held_segments_full);
  EXPECT_EQ(dropped(Reason::held_segments_full), uint64_t(kMaxHeldSegments) + 1);
}

TEST_F(LaterMessageHoldTest, DryRunReleasesTheHeldPiecesWithTheDenial) {
  Connection c{.src = "198.18.2.10"};
  open(c);
  ASSERT_TRUE(sends(c.data(get("pypi.org"))));
  const auto frames = pieces(c, get("exfil.example.net"), {9, 30});
  burst(Side::inside, {frames[0]});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {frames[1]});
  EXPECT_EQ(out_.forward_count, 0);
  burst(Side::inside, {frames[2]});
  ASSERT_EQ(out_.forward_count, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(forwarded_bytes(i), frames[size_t(i)]) << i;
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_dry_run);
}

TEST_F(LaterMessageHoldTest, ARepeatOfHeldBytesIsDroppedAndOlderBytesPass) {
  Connection c;
  open(c);
  const Bytes first = get("pypi.org");
  ASSERT_TRUE(sends(c.data(first)));
  const auto frames = pieces(c, get("pypi.org", "/two"), {10});
  burst(Side::inside, {frames[0]});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_FALSE(sends(frames[0]));  // the held piece again
  EXPECT_EQ(dropped(Reason::tcp_segment_outside_message), 1u);
  EXPECT_TRUE(sends(c.at(1000, first)));  // the first request again: the server had it
  burst(Side::inside, {frames[1]});
  ASSERT_EQ(out_.forward_count, 2);
  EXPECT_EQ(forwarded_bytes(0), frames[0]);
}

}  // namespace
}  // namespace sluice

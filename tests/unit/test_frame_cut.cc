// What leaves is what the appliance read, on real mbufs: every forwarded frame is cut to its L2
// header and L3 packet (an Ethernet trailer, minimum-frame padding or chained segments after the
// IP packet never leave), and an IPv4 packet whose header checksum is wrong (one no router
// carries on) is dropped unjudged, on any flow, in ENFORCE and DRY_RUN.
#include <gtest/gtest.h>

#include <rte_mbuf.h>

#include <cstring>
#include <string>

#include "dataplane/worker/packet_processor.h"
#include "tests/unit/frame_builder.h"
#include "tests/unit/worker_fixture.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPshAck = 0x18, kSynAck = 0x12;

const Bytes kTrailer = {'<', '<', 'E', 'X', 'F', 'I', 'L', '>', '>', 'E', 'X', 'F', 'I', 'L'};

Bytes trailed(const Bytes& frame, const Bytes& trailer = kTrailer) { return test::operator+(frame, trailer); }

class FrameCutTest : public test::WorkerFixture {
 protected:
  std::vector<Bytes> tls_connection(const char* src, const std::string& sni, uint16_t src_port = 40000) {
    Tcp4 syn{.src = src, .src_port = src_port, .flags = kSyn, .seq = 999, .ack = 0};
    Tcp4 ack{.src = src, .src_port = src_port, .flags = kAck};
    Tcp4 hello{.src = src, .src_port = src_port, .flags = kPshAck, .payload = test::client_hello(sni)};
    return {test::tcp4_frame(syn), test::tcp4_frame(ack), test::tcp4_frame(hello)};
  }

  // Sends `frames` with a trailer each; expects every one forwarded as it was before the trailer.
  void expect_cut(Side side, const std::vector<Bytes>& frames) {
    std::vector<Bytes> sent;
    for (const Bytes& frame : frames) sent.push_back(trailed(frame));
    burst(side, sent);
    ASSERT_EQ(out_.forward_count, frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(forwarded_bytes(int(i)), frames[i]) << "frame " << i;
      EXPECT_EQ(rte_pktmbuf_pkt_len(out_.forward[i]), frames[i].size()) << "frame " << i;
    }
  }

  uint64_t parse_errors(PacketParseError error) const {
    return read(counters_->parse_errors[static_cast<int>(error)]);
  }
};

TEST_F(FrameCutTest, AnAllowedFlowLeavesWithoutItsTrailersBothWays) {
  expect_cut(Side::inside, tls_connection("198.18.1.10", "pypi.org"));
  EXPECT_TRUE(events().empty());  // allowed: judged on its bytes, not the trailer's
  Tcp4 reply{.src = "198.19.0.80", .dst = "198.18.1.10", .src_port = 443, .dst_port = 40000, .flags = kSynAck};
  expect_cut(Side::outside, {test::tcp4_frame(reply)});
}

TEST_F(FrameCutTest, ADryRunDenialLeavesWithoutItsTrailers) {
  expect_cut(Side::inside, tls_connection("198.18.2.10", "exfil.example.net"));
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_dry_run);
}

TEST_F(FrameCutTest, UdpAndIpv6LeaveWithoutTheirTrailers) {
  // UDP on an allowed network (its payload is not judged).
  Tcp4 ntp{.dst = "198.19.0.7", .src_port = 40123, .dst_port = 123, .payload = {1, 2, 3}};
  expect_cut(Side::inside, {test::tcp4_frame(ntp, kIpProtoUdp)});
  // An IPv6 SYN to a bound server: the payload length governs where the packet ends.
  Bytes v6 = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 20, 6, 64};
  const Bytes src = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
  const Bytes dst = {0x20, 0x01, 0x0d, 0xb8, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x43};
  const Bytes syn = {0x9c, 0x40, 0x01, 0xbb, 0, 0, 0x03, 0xe7, 0, 0, 0, 0, 0x50, kSyn, 0xff, 0xff, 0, 0, 0, 0};
  v6 = test::operator+(test::operator+(test::operator+(v6, src), dst), syn);
  expect_cut(Side::inside, {v6});
}

TEST_F(FrameCutTest, LaterFragmentsLeaveWithoutTheirTrailers) {
  // A UDP datagram on an allowed network in two fragments; both pass, both cut.
  Tcp4 ntp{.dst = "198.19.0.7", .src_port = 40124, .dst_port = 123, .payload = Bytes(32, 'n')};
  const Bytes whole = test::tcp4_frame(ntp, kIpProtoUdp);
  Bytes first(whole.begin(), whole.begin() + 34 + 16);
  Bytes later(whole.begin(), whole.begin() + 34);
  later.insert(later.end(), whole.begin() + 34 + 16, whole.end());
  first[16] = 0;
  first[17] = 20 + 16;
  first[20] = 0x20;  // MF, offset 0
  first[21] = 0;
  later[16] = 0;
  later[17] = uint8_t(20 + whole.size() - 34 - 16);
  later[20] = 0;
  later[21] = 2;  // offset 16 bytes
  test::refresh_ipv4_checksum(first);
  test::refresh_ipv4_checksum(later);
  expect_cut(Side::inside, {first, later});
  EXPECT_EQ(read(counters_->fragments_forwarded), 1u);
}

// A NIC pads a short frame to 60 bytes; the cut frame leaves short and the sending NIC pads it
// again. Zero padding or not, nothing after the IP packet is kept.
TEST_F(FrameCutTest, MinimumFramePaddingIsCut) {
  Tcp4 syn{.flags = kSyn, .seq = 999, .ack = 0};
  const Bytes frame = test::tcp4_frame(syn);
  ASSERT_EQ(frame.size(), 54u);
  burst(Side::inside, {trailed(frame, Bytes(6, 0))});
  ASSERT_EQ(out_.forward_count, 1);
  EXPECT_EQ(forwarded_bytes(0), frame);
}

// ARP passes as its 28-byte body: zero padding after it is cut (non-zero bytes are refused by
// the parser: test_packet_processor.cc).
TEST_F(FrameCutTest, ArpLeavesAsItsBody) {
  Bytes arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1};
  arp.resize(42, 0);
  burst(Side::inside, {trailed(arp, Bytes(18, 0)), trailed(arp, Bytes(22, 0))});
  ASSERT_EQ(out_.forward_count, 2);
  EXPECT_EQ(forwarded_bytes(0), arp);
  EXPECT_EQ(forwarded_bytes(1), arp);
}

// Neighbour discovery that stays on the link passes without a flow: cut after its IPv6 payload
// length like any packet (what ND/MLD fields themselves hold is docs/POLICY.md's to say).
TEST_F(FrameCutTest, OnLinkNeighbourDiscoveryLeavesAsItsPacket) {
  // fe80::10 → ff02::1:ff00:1, hop limit 255: a solicitation for fe80::1 with a source
  // link-layer address option (the frame's source MAC).
  Bytes ns = {0x33, 0x33, 0xff, 0, 0, 1, 0x02, 0, 0, 0, 0, 0x01, 0x86, 0xdd, 0x60, 0, 0, 0, 0, 32, 58, 255};
  const Bytes src = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
  const Bytes dst = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1};
  const Bytes target = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  ns = test::operator+(test::operator+(ns, src), dst);
  ns = test::operator+(ns, Bytes{135, 0, 0, 0, 0, 0, 0, 0});
  ns = test::operator+(test::operator+(ns, target), Bytes{1, 1, 0x02, 0, 0, 0, 0, 0x01});
  expect_cut(Side::inside, {ns});
  EXPECT_EQ(read(counters_->infrastructure_packets), 1u);
}

// Held pieces of a message leave with the verdict: cut too (they were cut on arrival).
TEST_F(FrameCutTest, HeldPiecesLeaveCut) {
  const Bytes hello = test::client_hello("pypi.org");
  Tcp4 syn{.flags = kSyn, .seq = 999, .ack = 0};
  Tcp4 first{.payload = Bytes(hello.begin(), hello.begin() + 20)};
  Tcp4 rest{.seq = 1020, .payload = Bytes(hello.begin() + 20, hello.end())};
  burst(Side::inside, {test::tcp4_frame(syn)});
  burst(Side::inside, {trailed(test::tcp4_frame(first))});
  EXPECT_EQ(out_.forward_count, 0);  // held until the verdict
  burst(Side::inside, {trailed(test::tcp4_frame(rest))});
  ASSERT_EQ(out_.forward_count, 2);
  EXPECT_EQ(forwarded_bytes(0), test::tcp4_frame(first));
  EXPECT_EQ(forwarded_bytes(1), test::tcp4_frame(rest));
}

// Bytes in mbuf segments chained after the one holding the IP packet are trailer too: freed.
TEST_F(FrameCutTest, ChainedSegmentsAfterThePacketAreFreed) {
  const Bytes frame = tls_connection("198.18.1.10", "pypi.org")[0];
  rte_mbuf* head = rte_pktmbuf_alloc(pool_);
  rte_mbuf* tail = rte_pktmbuf_alloc(pool_);
  ASSERT_NE(head, nullptr);
  ASSERT_NE(tail, nullptr);
  std::memcpy(rte_pktmbuf_append(head, uint16_t(frame.size())), frame.data(), frame.size());
  std::memcpy(rte_pktmbuf_append(tail, uint16_t(kTrailer.size())), kTrailer.data(), kTrailer.size());
  ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
  const unsigned free_before = rte_mempool_avail_count(pool_);
  release();
  rte_mbuf* packets[1] = {head};
  processor_->process_burst(*policy_, Side::inside, packets, 1, out_);
  ASSERT_EQ(out_.forward_count, 1);
  EXPECT_EQ(out_.forward[0], head);
  EXPECT_EQ(head->nb_segs, 1);
  EXPECT_EQ(head->next, nullptr);
  EXPECT_EQ(rte_pktmbuf_pkt_len(head), frame.size());
  EXPECT_EQ(forwarded_bytes(0), frame);
  EXPECT_EQ(rte_mempool_avail_count(pool_), free_before + 1);  // the tail went back to the pool
}

// An IP length past the frame's end is a frame cut short: refused by name, nothing forwarded.
TEST_F(FrameCutTest, AnIpLengthPastTheFrameIsMalformed) {
  Bytes v4 = test::tcp4_frame(Tcp4{.flags = kSyn, .seq = 999, .ack = 0});
  v4[16] = 0x05;
  test::refresh_ipv4_checksum(v4);
  burst(Side::inside, {trailed(v4, Bytes(200, 'X'))});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::malformed_packet), 1u);
  EXPECT_EQ(parse_errors(PacketParseError::truncated_ipv4), 1u);
}

// ---- IPv4 header checksums ------------------------------------------------------------------

Bytes with_bad_ip_checksum(Bytes frame) {
  frame[24] ^= 0x5a;
  return frame;
}

// A decoy naming an allowed host that no router would carry, then the real request in its place:
// the decoy is not judged, the real one is (and denied).
TEST_F(FrameCutTest, AnUndecidedFlowIgnoresAHeaderWithABadChecksum) {
  Tcp4 syn{.dst_port = 80, .flags = kSyn, .seq = 999, .ack = 0};
  Tcp4 decoy{.dst_port = 80, .payload = test::http_get("pypi.org")};
  Tcp4 real{.dst_port = 80, .payload = test::http_get("exfil.example.net")};
  burst(Side::inside, {test::tcp4_frame(syn), with_bad_ip_checksum(test::tcp4_frame(decoy))});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(dropped(Reason::ipv4_header_checksum_bad), 1u);
  EXPECT_TRUE(events().empty());  // not judged
  burst(Side::inside, {test::tcp4_frame(real)});
  EXPECT_EQ(out_.forward_count, 0);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::domain_not_allowed);
}

// Every IPv4 packet is checked: an allowed flow's, a DRY_RUN denial's, a server's, a later
// fragment's, a new flow's first packet (which then makes no flow).
TEST_F(FrameCutTest, EveryIpv4PacketWithABadHeaderChecksumIsDropped) {
  auto allowed = tls_connection("198.18.1.10", "pypi.org");
  auto dry_run = tls_connection("198.18.2.10", "exfil.example.net", 40001);
  burst(Side::inside, {allowed[0], allowed[1], allowed[2], dry_run[0], dry_run[1], dry_run[2]});
  ASSERT_EQ(out_.forward_count, 6);
  Tcp4 more{.src = "198.18.1.10", .seq = uint32_t(1000 + test::client_hello("pypi.org").size()),
            .payload = {23, 3, 3, 0, 4, 'd', 'a', 't', 'a'}};
  Tcp4 dry_more{.src = "198.18.2.10", .src_port = 40001, .seq = 2000, .payload = {'d', 'a', 't', 'a'}};
  Tcp4 reply{.src = "198.19.0.80", .dst = "198.18.1.10", .src_port = 443, .dst_port = 40000, .flags = kAck};
  Tcp4 fresh{.src = "198.18.1.10", .src_port = 40002, .flags = kSyn, .seq = 999, .ack = 0};
  Bytes later = test::tcp4_frame(more);
  later[20] = 0x00;
  later[21] = 0x04;  // a later fragment (offset 32), of no known datagram either way
  burst(Side::inside, {with_bad_ip_checksum(test::tcp4_frame(more)), with_bad_ip_checksum(test::tcp4_frame(dry_more)),
                       with_bad_ip_checksum(test::tcp4_frame(fresh)), with_bad_ip_checksum(later)});
  burst(Side::outside, {with_bad_ip_checksum(test::tcp4_frame(reply))});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::ipv4_header_checksum_bad), 5u);
  EXPECT_EQ(dropped(Reason::fragment_without_first), 0u);
  // The same packets with their checksums right pass.
  burst(Side::inside, {test::tcp4_frame(more), test::tcp4_frame(dry_more), test::tcp4_frame(fresh)});
  EXPECT_EQ(out_.forward_count, 3);
}

}  // namespace
}  // namespace sluice

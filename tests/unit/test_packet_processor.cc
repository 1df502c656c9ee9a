// The worker's packet path on real mbufs, rte_hash, rte_lpm, rte_ring and Hyperscan: what is
// forwarded, dropped and reset, which events reach the control thread, and which counters move.
#include <gtest/gtest.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/verdict/tcp_reset.h"
#include "dataplane/worker/packet_processor.h"
#include "tests/unit/frame_builder.h"
#include "tests/unit/policy_fixture.h"
#include "tests/unit/worker_fixture.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPshAck = 0x18, kSynAck = 0x12;

class PacketProcessorTest : public test::WorkerFixture {
 protected:
  // SYN, ACK and a ClientHello for `sni` from `src`.
  std::vector<Bytes> tls_connection(const char* src, const std::string& sni, uint16_t src_port = 40000) {
    Tcp4 syn{.src = src, .src_port = src_port, .flags = kSyn, .seq = 999, .ack = 0};
    Tcp4 ack{.src = src, .src_port = src_port, .flags = kAck};
    Tcp4 hello{.src = src, .src_port = src_port, .flags = kPshAck, .payload = test::client_hello(sni)};
    return {test::tcp4_frame(syn), test::tcp4_frame(ack), test::tcp4_frame(hello)};
  }

};

TEST_F(PacketProcessorTest, AllowedSniIsForwardedUnchangedWithoutRecord) {
  auto frames = tls_connection("198.18.1.10", "pypi.org");
  burst(Side::inside, frames);
  ASSERT_EQ(out_.forward_count, 3);
  EXPECT_EQ(out_.reply_count, 0);
  EXPECT_EQ(forwarded_bytes(2), frames[2]);
  EXPECT_TRUE(events().empty());
  EXPECT_EQ(read(counters_->flows_by_policy[0][static_cast<int>(FlowVerdict::allowed)]), 1u);
}

TEST_F(PacketProcessorTest, DeniedSniInEnforceIsDroppedResetAndRecordedOnce) {
  burst(Side::inside, tls_connection("198.18.1.10", "exfil.example.net"));
  EXPECT_EQ(out_.forward_count, 2);  // SYN and ACK passed; the ClientHello did not
  ASSERT_EQ(out_.reply_count, 1);
  EXPECT_EQ(dropped(Reason::domain_not_allowed), 1u);

  ParsedPacket reset;
  auto* data = rte_pktmbuf_mtod(out_.replies[0], const uint8_t*);
  ASSERT_EQ(parse_packet({data, rte_pktmbuf_data_len(out_.replies[0])}, reset), PacketParseError::none);
  EXPECT_EQ(reset.tcp_flags, kTcpRst | kTcpAck);
  EXPECT_EQ(format_ip(reset.dst), "198.18.1.10");
  EXPECT_EQ(reset.dst_port, 40000);
  EXPECT_EQ(reset.tcp_seq, 5000u);  // the client's ack

  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(recorded[0].reason, Reason::domain_not_allowed);
  EXPECT_EQ(recorded[0].destination_type, DestinationType::sni);
  EXPECT_EQ(std::string(recorded[0].name, recorded[0].name_length), "exfil.example.net");
  EXPECT_EQ(recorded[0].flow_id, 1u);

  // A retransmission and the server's reply: dropped as part of a denied flow, no new record.
  burst(Side::inside, {tls_connection("198.18.1.10", "exfil.example.net")[2]});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(out_.reply_count, 0);
  Tcp4 reply{.src = "198.19.0.80", .dst = "198.18.1.10", .src_port = 443, .dst_port = 40000, .flags = kAck};
  burst(Side::outside, {test::tcp4_frame(reply)});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::flow_denied), 2u);
  EXPECT_TRUE(events().empty());
}

TEST_F(PacketProcessorTest, DryRunPassesAndRecordsTheDenial) {
  burst(Side::inside, tls_connection("198.18.2.10", "exfil.example.net"));
  EXPECT_EQ(out_.forward_count, 3);
  EXPECT_EQ(out_.reply_count, 0);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_dry_run);
  EXPECT_EQ(recorded[0].reason, Reason::domain_not_allowed);
  EXPECT_EQ(policy_->attachments[recorded[0].attachment_index].source_label, "spark-staging");
}

TEST_F(PacketProcessorTest, UpperCaseSniWithTrailingDotIsNormalisedAndAllowed) {
  burst(Side::inside, tls_connection("198.18.1.10", "API.GitHub.com."));
  EXPECT_EQ(out_.forward_count, 3);
  EXPECT_EQ(read(counters_->flow_verdicts[static_cast<int>(Reason::allowed_domain)]), 1u);
}

TEST_F(PacketProcessorTest, ClientHelloWithoutSniIsDeniedByItsOwnReason) {
  burst(Side::inside, tls_connection("198.18.1.10", ""));
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::tls_no_sni);
}

TEST_F(PacketProcessorTest, HttpHostIsJudged) {
  Tcp4 allowed{.dst_port = 80, .payload = test::http_get("pypi.org")};
  Tcp4 denied{.src_port = 40001, .dst_port = 80, .payload = test::http_get("downloads.example.net")};
  burst(Side::inside, {test::tcp4_frame(allowed), test::tcp4_frame(denied)});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(out_.reply_count, 1);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].destination_type, DestinationType::http_host);
  EXPECT_EQ(std::string(recorded[0].name, recorded[0].name_length), "downloads.example.net");
}

TEST_F(PacketProcessorTest, ReturnTrafficOfAnAllowedFlowPassesAndUnsolicitedIsDropped) {
  burst(Side::inside, tls_connection("198.18.1.10", "pypi.org"));
  Tcp4 reply{.src = "198.19.0.80", .dst = "198.18.1.10", .src_port = 443, .dst_port = 40000, .flags = kSynAck};
  Tcp4 stranger{.src = "198.19.0.81", .dst = "198.18.1.10", .src_port = 443, .dst_port = 40000, .flags = kSyn};
  burst(Side::outside, {test::tcp4_frame(reply), test::tcp4_frame(stranger)});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(dropped(Reason::unsolicited_inbound), 1u);
}

TEST_F(PacketProcessorTest, OutsideHostCannotSpeakWithAnInsideHostsAddress) {
  burst(Side::inside, tls_connection("198.18.1.10", "pypi.org"));
  burst(Side::outside, {tls_connection("198.18.1.10", "pypi.org")[1]});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::unsolicited_inbound), 1u);
}

TEST_F(PacketProcessorTest, AllowedNetworkChecksProtocolAndPort) {
  Tcp4 postgres{.dst = "198.19.0.7", .dst_port = 5432, .flags = kSyn};
  Tcp4 ssh{.dst = "198.19.0.7", .src_port = 40001, .dst_port = 22, .flags = kSyn};
  burst(Side::inside, {test::tcp4_frame(postgres), test::tcp4_frame(ssh)});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(out_.reply_count, 1);  // the denied SYN is reset
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::ip_not_allowed);
  EXPECT_EQ(recorded[0].dst_port, 22);
}

TEST_F(PacketProcessorTest, DnsGoesOnlyToTheAllowedResolver) {
  // A query for pypi.org (type A): queries are judged by name too (test_packet_processor_dns.cc).
  const Bytes query{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 'p', 'y', 'p', 'i', 3, 'o', 'r', 'g', 0, 0, 1, 0, 1};
  Tcp4 allowed{.dst = "198.19.255.53", .src_port = 5353, .dst_port = 53, .payload = query};
  Tcp4 other{.dst = "198.19.254.53", .src_port = 5354, .dst_port = 53, .payload = query};
  burst(Side::inside, {test::tcp4_frame(allowed, 17), test::tcp4_frame(other, 17)});
  EXPECT_EQ(out_.forward_count, 1);
  // No TCP reset for UDP: an ICMP "administratively prohibited" error from the denied resolver.
  ASSERT_EQ(out_.reply_count, 1);
  const uint8_t* icmp_frame = rte_pktmbuf_mtod(out_.replies[0], const uint8_t*);
  EXPECT_EQ(icmp_frame[14 + 9], 1);        // IPv4 protocol ICMP
  EXPECT_EQ(icmp_frame[14 + 20], 3);       // destination unreachable
  EXPECT_EQ(icmp_frame[14 + 20 + 1], 13);  // communication administratively prohibited
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::dns_resolver_not_allowed);
  EXPECT_EQ(recorded[0].destination_type, DestinationType::dns);
}

TEST_F(PacketProcessorTest, UnattachedSourceGetsTheDefaultPolicy) {
  burst(Side::inside, tls_connection("198.18.3.10", "github.com"));  // allowed for prod, not baseline
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(policy_->policies[recorded[0].policy_index].name, "baseline");
  EXPECT_EQ(policy_->attachments[recorded[0].attachment_index].source_label, "unattached");
}

TEST_F(PacketProcessorTest, FullAccessPolicyAllowsEverything) {
  Tcp4 anything{.src = "198.18.4.10", .dst = "198.19.9.9", .dst_port = 9999, .flags = kSyn};
  burst(Side::inside, {test::tcp4_frame(anything)});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(read(counters_->flow_verdicts[static_cast<int>(Reason::allowed_full_access)]), 1u);
}

TEST_F(PacketProcessorTest, MalformedFramesAreDroppedAndCounted) {
  Bytes truncated = test::tcp4_frame(Tcp4{});
  truncated.resize(30);
  Bytes not_ip = test::tcp4_frame(Tcp4{});
  not_ip[12] = 0x88;
  not_ip[13] = 0xcc;  // LLDP
  burst(Side::inside, {truncated, not_ip});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::malformed_packet), 1u);
  EXPECT_EQ(dropped(Reason::unsupported_ethertype), 1u);
}

// ---- issue 12: what a hostile workload tries ---------------------------------------------------

Bytes with_ipv4_option(Bytes frame, const Bytes& option) {  // `option`: a multiple of 4 bytes
  frame.insert(frame.begin() + 34, option.begin(), option.end());
  frame[14] = uint8_t(0x40 | ((20 + option.size()) / 4));
  const uint16_t total = uint16_t((frame[16] << 8 | frame[17]) + option.size());
  frame[16] = uint8_t(total >> 8);
  frame[17] = uint8_t(total);
  test::refresh_ipv4_checksum(frame);
  return frame;
}

TEST_F(PacketProcessorTest, SourceRoutedPacketsAreDroppedEvenOnAnAllowedFlow) {
  auto frames = tls_connection("198.18.1.10", "pypi.org");
  burst(Side::inside, frames);
  ASSERT_EQ(out_.forward_count, 3);
  // The next TLS record, where the hello ended (the connection is followed record by record).
  Tcp4 more{.src = "198.18.1.10", .seq = uint32_t(1000 + test::client_hello("pypi.org").size()),
            .payload = {23, 3, 3, 0, 4, 'd', 'a', 't', 'a'}};
  Bytes lsrr = with_ipv4_option(test::tcp4_frame(more), {131, 7, 4, 198, 19, 66, 6, 0});
  Bytes ssrr = with_ipv4_option(test::tcp4_frame(more), {137, 7, 4, 198, 19, 66, 6, 0});
  Bytes record_route = with_ipv4_option(test::tcp4_frame(more), {7, 7, 4, 0, 0, 0, 0, 0});
  burst(Side::inside, {lsrr, ssrr, record_route});
  EXPECT_EQ(out_.forward_count, 1);  // record route names no path
  EXPECT_EQ(dropped(Reason::ipv4_source_route), 2u);
}

TEST_F(PacketProcessorTest, ArpPassesOnlyAsArp) {
  Bytes arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1};
  arp.resize(42, 0);
  Bytes padded = arp;
  padded.resize(60, 0);
  Bytes marked = padded;
  marked[59] = 'X';
  Bytes other = arp;
  other[21] = 9;  // operation 9
  burst(Side::inside, {arp, padded, marked, other});
  EXPECT_EQ(out_.forward_count, 2);
  EXPECT_EQ(dropped(Reason::arp_malformed), 2u);
  EXPECT_EQ(read(counters_->infrastructure_packets), 2u);
}

TEST_F(PacketProcessorTest, UndecidedFlowIgnoresASegmentWithABadChecksum) {
  Tcp4 syn{.dst_port = 80, .flags = kSyn, .seq = 999, .ack = 0};
  Tcp4 decoy{.dst_port = 80, .payload = test::http_get("pypi.org")};
  Bytes bad = test::tcp4_frame(decoy);
  bad[50] ^= 0x5a;
  Tcp4 real{.dst_port = 80, .payload = test::http_get("exfil.example.net")};
  burst(Side::inside, {test::tcp4_frame(syn), bad});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(dropped(Reason::tcp_checksum_bad), 1u);
  EXPECT_TRUE(events().empty());  // not judged
  burst(Side::inside, {test::tcp4_frame(real)});
  EXPECT_EQ(out_.forward_count, 0);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::domain_not_allowed);
}

TEST_F(PacketProcessorTest, UndecidedFlowIgnoresASegmentThatCannotArrive) {
  Tcp4 decoy{.dst_port = 80, .payload = test::http_get("pypi.org")};
  Bytes last_hop = test::tcp4_frame(decoy);
  last_hop[22] = 1;  // TTL 1: the TCP checksum does not cover it (the IPv4 header's does)
  test::refresh_ipv4_checksum(last_hop);
  Bytes dead = last_hop;
  dead[22] = 0;
  test::refresh_ipv4_checksum(dead);
  burst(Side::inside, {last_hop, dead});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::ttl_too_low), 2u);
  EXPECT_TRUE(events().empty());
  Tcp4 two_hops = decoy;
  Bytes ttl2 = test::tcp4_frame(two_hops);
  ttl2[22] = 2;
  test::refresh_ipv4_checksum(ttl2);
  burst(Side::inside, {ttl2});
  EXPECT_EQ(out_.forward_count, 1);  // judged: pypi.org is allowed
}

// Flows allowed on their address are not followed: their segments are not checksummed (the
// server's check is its own). Followed TLS/HTTP connections are (test_stream_follow.cc).
TEST_F(PacketProcessorTest, EstablishedFlowsNotFollowedAreNotChecksummed) {
  Tcp4 open{.dst = "198.19.0.7", .dst_port = 5432, .flags = kSyn};
  burst(Side::inside, {test::tcp4_frame(open)});
  ASSERT_EQ(out_.forward_count, 1);
  Tcp4 body{.dst = "198.19.0.7", .dst_port = 5432, .seq = 2000, .payload = {'b', 'o', 'd', 'y'}};
  Bytes bad = test::tcp4_frame(body);
  bad[50] ^= 0x5a;
  bad[22] = 1;
  test::refresh_ipv4_checksum(bad);
  burst(Side::inside, {bad});
  EXPECT_EQ(out_.forward_count, 1);
}

TEST_F(PacketProcessorTest, ConnectOnlyToANamedProxy) {
  auto connect = [](const char* dst, uint16_t src_port, const std::string& target) {
    std::string head = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
    return test::tcp4_frame(Tcp4{.dst = dst, .src_port = src_port, .dst_port = 80, .payload = Bytes(head.begin(), head.end())});
  };
  burst(Side::inside, {connect("198.19.0.80", 40001, "pypi.org:443"), connect("198.19.30.1", 40002, "pypi.org:443"),
                       connect("198.19.30.1", 40003, "exfil.example.net:443")});
  EXPECT_EQ(out_.forward_count, 1);  // only the CONNECT to the named proxy for an allowed target
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_EQ(recorded[0].reason, Reason::http_connect_not_allowed);
  EXPECT_EQ(std::string(recorded[0].name, recorded[0].name_length), "pypi.org");
  EXPECT_EQ(recorded[1].reason, Reason::domain_not_allowed);
  // A lower-case method is no HTTP request at all here (http_not_request): denied too.
  std::string lower = "connect pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n";
  burst(Side::inside, {test::tcp4_frame(Tcp4{.src_port = 40004, .dst_port = 80, .payload = Bytes(lower.begin(), lower.end())})});
  EXPECT_EQ(out_.forward_count, 0);
}

class SmallFlowTableTest : public PacketProcessorTest {
 protected:
  SmallFlowTableTest() { capacity_ = 8; }
};

TEST_F(SmallFlowTableTest, FullTableRefusesNewFlowsButKeepsExistingOnes) {
  std::vector<Bytes> syns;
  for (uint16_t port = 1; port <= 8; ++port)
    syns.push_back(test::tcp4_frame(Tcp4{.dst = "198.19.0.7", .src_port = port, .dst_port = 5432, .flags = kSyn}));
  burst(Side::inside, syns);
  EXPECT_EQ(out_.forward_count, 8);
  Tcp4 ninth{.dst = "198.19.0.7", .src_port = 9, .dst_port = 5432, .flags = kSyn};
  Tcp4 existing{.dst = "198.19.0.7", .src_port = 3, .dst_port = 5432, .flags = kAck};
  burst(Side::inside, {test::tcp4_frame(ninth), test::tcp4_frame(existing)});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(dropped(Reason::flow_table_full), 1u);
  EXPECT_EQ(read(counters_->flows_refused_table_full), 1u);
}

class FlowLogTest : public PacketProcessorTest {
 protected:
  FlowLogTest() { emit_allowed_ = true; }
};

TEST_F(FlowLogTest, AllowedFlowsAreReportedWhenTheFlowLogIsOn) {
  burst(Side::inside, tls_connection("198.18.1.10", "pypi.org"));
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::allowed);
  EXPECT_EQ(recorded[0].reason, Reason::allowed_domain);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// A second generation of the unit policy, edited by `edit` (a text replacement).
std::unique_ptr<CompiledPolicy> next_generation(const std::string& from, const std::string& to, uint64_t generation) {
  std::string text = test::kTestPolicy;
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  return test::compile_text(text, generation);
}

class ReloadTest : public PacketProcessorTest {
 protected:
  // Like PolicyPublisher: the new generation replaces the old one between bursts. (Each
  // generation holds 64 MiB IPv4 LPM tables: the EAL's -m bounds how many live at once.)
  void reload(std::unique_ptr<CompiledPolicy> next) {
    ASSERT_NE(next, nullptr);
    policy_ = std::move(next);
  }
};

TEST_F(ReloadTest, RevokedDomainResetsItsOpenFlowOnTheNextPacket) {
  auto frames = tls_connection("198.18.1.10", "pypi.org");
  burst(Side::inside, frames);
  ASSERT_EQ(out_.forward_count, 3);
  reload(next_generation("allowed_domains: \"pypi.org\"\n  allowed_domains: \"*.blob", "allowed_domains: \"*.blob", 2));

  Tcp4 data{.flags = kPshAck, .seq = 2000, .payload = Bytes(100, 'x')};
  burst(Side::inside, {test::tcp4_frame(data)});
  EXPECT_EQ(out_.forward_count, 0);
  ASSERT_EQ(out_.reply_count, 1);  // the client hears of it at once
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(recorded[0].reason, Reason::domain_not_allowed);
  EXPECT_EQ(recorded[0].generation, 2u);
  EXPECT_EQ(std::string(recorded[0].name, recorded[0].name_length), "pypi.org");
  EXPECT_EQ(format_ip(recorded[0].src), "198.18.1.10");  // from the initiator's side
  EXPECT_EQ(read(counters_->flows_rejudged[static_cast<int>(FlowVerdict::denied_enforced)]), 1u);

  burst(Side::inside, {test::tcp4_frame(data)});  // later packets: dropped, no second record
  EXPECT_EQ(out_.reply_count, 0);
  EXPECT_TRUE(events().empty());
}

TEST_F(ReloadTest, RevocationSeenFirstOnAServerPacketResetsTheServer) {
  burst(Side::inside, tls_connection("198.18.1.10", "pypi.org"));
  reload(next_generation("allowed_domains: \"pypi.org\"\n  allowed_domains: \"*.blob", "allowed_domains: \"*.blob", 2));
  Tcp4 reply{.src = "198.19.0.80", .dst = "198.18.1.10", .src_port = 443, .dst_port = 40000, .flags = kPshAck,
             .payload = Bytes(50, 'y')};
  burst(Side::outside, {test::tcp4_frame(reply)});
  EXPECT_EQ(out_.forward_count, 0);
  ASSERT_EQ(out_.reply_count, 1);
  ParsedPacket reset;
  auto* data = rte_pktmbuf_mtod(out_.replies[0], const uint8_t*);
  ASSERT_EQ(parse_packet({data, rte_pktmbuf_data_len(out_.replies[0])}, reset), PacketParseError::none);
  EXPECT_EQ(format_ip(reset.dst), "198.19.0.80");
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(format_ip(recorded[0].src), "198.18.1.10");
  EXPECT_EQ(recorded[0].src_port, 40000);
  EXPECT_EQ(recorded[0].dst_port, 443);
}

TEST_F(ReloadTest, MovingASubnetFromDryRunToEnforceTakesEffectAtOnce) {
  burst(Side::inside, tls_connection("198.18.2.10", "exfil.example.net"));
  EXPECT_EQ(out_.forward_count, 3);
  ASSERT_EQ(events().size(), 1u);  // DRY_RUN_DENIAL
  reload(next_generation("source_label: \"spark-staging\" enforcement_override: DRY_RUN",
                         "source_label: \"spark-staging\" enforcement_override: ENFORCE", 2));
  Tcp4 data{.src = "198.18.2.10", .flags = kPshAck, .seq = 2000, .payload = Bytes(10, 'x')};
  burst(Side::inside, {test::tcp4_frame(data)});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(out_.reply_count, 1);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_enforced);
}

TEST_F(ReloadTest, AnUnchangedVerdictWritesNoNewRecord) {
  burst(Side::inside, tls_connection("198.18.1.10", "pypi.org"));
  reload(test::compile_text(test::kTestPolicy, 2));
  Tcp4 data{.flags = kPshAck, .seq = uint32_t(1000 + test::client_hello("pypi.org").size()),
            .payload = {23, 3, 3, 0, 5, 'x', 'x', 'x', 'x', 'x'}};
  burst(Side::inside, {test::tcp4_frame(data)});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_TRUE(events().empty());
  EXPECT_EQ(read(counters_->flows_rejudged[static_cast<int>(FlowVerdict::allowed)]), 0u);
}

TEST_F(ReloadTest, FlowAllowedWithoutItsNameIsDeniedWhenThePolicyNowJudgesNames) {
  // 198.18.4.0/24 is FULL access: its TLS flow passed without a name being read.
  burst(Side::inside, tls_connection("198.18.4.10", "anything.example.org"));
  EXPECT_EQ(out_.forward_count, 3);
  reload(next_generation("source_label: \"admin\"", "source_label: \"admin\" enforcement_override: ENFORCE", 2));
  // Same policy ("open") still FULL: stays allowed.
  Tcp4 data{.src = "198.18.4.10", .flags = kPshAck, .seq = 2000, .payload = Bytes(10, 'x')};
  burst(Side::inside, {test::tcp4_frame(data)});
  EXPECT_EQ(out_.forward_count, 1);
  reload(next_generation("policy: \"open\" source_label: \"admin\"", "policy: \"prod\" source_label: \"admin\"", 3));
  burst(Side::inside, {test::tcp4_frame(data)});
  EXPECT_EQ(out_.forward_count, 0);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::rejudge_name_unknown);
}

TEST_F(ReloadTest, PendingFlowIsJudgedByTheNewGeneration) {
  Tcp4 syn{.flags = kSyn, .seq = 999, .ack = 0};
  burst(Side::inside, {test::tcp4_frame(syn)});
  reload(next_generation("allowed_domains: \"pypi.org\"\n  allowed_domains: \"*.blob", "allowed_domains: \"*.blob", 2));
  Tcp4 hello{.flags = kPshAck, .payload = test::client_hello("pypi.org")};
  burst(Side::inside, {test::tcp4_frame(hello)});
  EXPECT_EQ(out_.forward_count, 0);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].reason, Reason::domain_not_allowed);
  EXPECT_EQ(recorded[0].generation, 2u);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// Aging and TCP state on the processor's external clock (as `sluicectl replay` drives it).
class FlowAgingTest : public PacketProcessorTest {
 protected:
  void adjust(PacketProcessorSetup& setup) override {
    setup.external_clock = true;
    setup.timeouts.udp = 10;
    setup.timeouts.tcp_handshake = 5;
    setup.timeouts.tcp_closed = 2;
    setup.timeouts.tcp_established = 100;
  }
  void at_seconds(double seconds) { processor_->set_clock(uint64_t((seconds + 1) * double(rte_get_tsc_hz()))); }
  uint64_t expired(FlowState state) const { return read(counters_->flows_expired[static_cast<int>(state)]); }
  FlowState only_state() {
    std::vector<FlowState> states;
    flows_.for_each([&](const FlowKey&, const FlowEntry& flow) { states.push_back(flow.state); });
    EXPECT_EQ(states.size(), 1u);
    return states.empty() ? FlowState::open : states[0];
  }
  uint32_t sweep() { return processor_->expire_idle(flows_.position_count(), policy_.get()); }
};

TEST_F(FlowAgingTest, IdleUdpFlowIsSweptAfterItsTimeoutOnly) {
  Tcp4 query{.dst = "198.19.255.53", .src_port = 5353, .dst_port = 53, .payload = Bytes(12, 0)};
  at_seconds(0);
  burst(Side::inside, {test::tcp4_frame(query, 17)});
  at_seconds(9);
  EXPECT_EQ(sweep(), 0u);
  EXPECT_EQ(flows_.size(), 1u);
  at_seconds(10.5);
  EXPECT_EQ(sweep(), 1u);
  EXPECT_EQ(flows_.size(), 0u);
  EXPECT_EQ(expired(FlowState::open), 1u);
}

TEST_F(FlowAgingTest, TcpStateFollowsTheHandshakeAndTheClose) {
  Tcp4 syn{.dst = "198.19.0.7", .dst_port = 5432, .flags = kSyn, .seq = 100, .ack = 0};
  Tcp4 syn_ack{.src = "198.19.0.7", .dst = "198.18.1.10", .src_port = 5432, .dst_port = 40000, .flags = kSynAck};
  Tcp4 client_fin{.dst = "198.19.0.7", .dst_port = 5432, .flags = 0x11};
  Tcp4 server_fin{.src = "198.19.0.7", .dst = "198.18.1.10", .src_port = 5432, .dst_port = 40000, .flags = 0x11};
  at_seconds(0);
  burst(Side::inside, {test::tcp4_frame(syn)});
  EXPECT_EQ(only_state(), FlowState::syn_sent);
  burst(Side::outside, {test::tcp4_frame(syn_ack)});
  EXPECT_EQ(only_state(), FlowState::established);
  burst(Side::inside, {test::tcp4_frame(client_fin)});
  EXPECT_EQ(only_state(), FlowState::closing);
  burst(Side::outside, {test::tcp4_frame(server_fin)});
  EXPECT_EQ(only_state(), FlowState::closed);
  at_seconds(3);  // past tcp_closed (2 s), far below tcp_established (100 s)
  EXPECT_EQ(sweep(), 1u);
  EXPECT_EQ(expired(FlowState::closed), 1u);
}

TEST_F(FlowAgingTest, UnansweredSynExpiresAtTheHandshakeTimeout) {
  Tcp4 syn{.dst = "198.19.0.7", .dst_port = 5432, .flags = kSyn, .seq = 100, .ack = 0};
  at_seconds(0);
  burst(Side::inside, {test::tcp4_frame(syn)});
  at_seconds(4);
  EXPECT_EQ(sweep(), 0u);
  at_seconds(6);
  EXPECT_EQ(sweep(), 1u);
  EXPECT_EQ(expired(FlowState::syn_sent), 1u);
}

TEST_F(FlowAgingTest, OldestPendingAgeCountsFromTheFlowsFirstPacket) {
  // A TLS flow that keeps talking without completing its ClientHello: its age is its whole
  // life, not its idle time (ACKs every second, below its 5 s deadline). A pass publishes when
  // the next one starts.
  Tcp4 syn{.dst_port = 443, .flags = kSyn, .seq = 999, .ack = 0};
  Tcp4 ack{.dst_port = 443, .flags = kAck};
  at_seconds(0);
  burst(Side::inside, {test::tcp4_frame(syn)});
  for (double second : {1.0, 2.0, 3.0}) {
    at_seconds(second);
    burst(Side::inside, {test::tcp4_frame(ack)});
  }
  at_seconds(4);
  EXPECT_EQ(sweep(), 0u);
  EXPECT_EQ(sweep(), 0u);
  EXPECT_NEAR(double(read(counters_->oldest_pending_age_ms)), 4000.0, 1000.0);
  // Its ClientHello decides it: the next pass finds nothing pending.
  Tcp4 hello{.dst_port = 443, .flags = kPshAck, .payload = test::client_hello("pypi.org")};
  burst(Side::inside, {test::tcp4_frame(hello)});
  ASSERT_EQ(out_.forward_count, 1);
  sweep();
  sweep();
  EXPECT_EQ(read(counters_->oldest_pending_age_ms), 0u);
}

TEST_F(FlowAgingTest, ReturnTrafficOfAnExpiredFlowIsUnsolicited) {
  Tcp4 query{.dst = "198.19.255.53", .src_port = 5353, .dst_port = 53, .payload = Bytes(12, 0)};
  Tcp4 answer{.src = "198.19.255.53", .dst = "198.18.1.10", .src_port = 53, .dst_port = 5353, .payload = Bytes(12, 0)};
  at_seconds(0);
  burst(Side::inside, {test::tcp4_frame(query, 17)});
  at_seconds(20);  // no sweep ran: the packet itself finds the flow over
  burst(Side::outside, {test::tcp4_frame(answer, 17)});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::unsolicited_inbound), 1u);
  EXPECT_EQ(flows_.size(), 0u);
}

}  // namespace
}  // namespace sluice

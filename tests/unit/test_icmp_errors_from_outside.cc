// ICMP errors from routers beyond the appliance (stage/icmp_error.h), on the real packet path:
// an error from OUTSIDE goes to the inside host when the packet it quotes belongs to a live flow
// that host opened and that is not denied in ENFORCE — in bridge mode as it arrives, in routed
// mode after source NAT translated it back — and is dropped by a named reason otherwise. ICMP
// errors FROM the inside are judged like any packet to their destination: their quoted bytes
// never reach a destination the policy denies (byte-scored: a marker in every byte they carry).
#include <gtest/gtest.h>

#include <rte_mbuf.h>

#include <algorithm>
#include <optional>

#include "dataplane/nat/snat_translator.h"
#include "dataplane/worker/packet_processor.h"
#include "tests/unit/frame_builder.h"
#include "tests/unit/snat_frames.h"
#include "tests/unit/worker_fixture.h"

namespace sluice {
namespace {

using test::Bytes;
using test::ip;
using test::operator+;

const IpAddress kClient = ip("198.18.1.10");         // attachment spark-prod (ENFORCE)
const IpAddress kDryRunClient = ip("198.18.2.10");   // spark-staging (DRY_RUN)
const IpAddress kDatabase = ip("198.19.0.7");        // allowed: TCP 5432
const IpAddress kTlsServer = ip("198.19.0.80");      // bound to pypi.org
const IpAddress kRouter = ip("198.19.200.1");        // a router beyond the appliance
const IpAddress kAttacker = ip("198.51.100.66");     // no rule allows it
const IpAddress kClientV6 = ip("2001:db8:1::10");
const IpAddress kTlsServerV6 = ip("2001:db8:ff::443");
const IpAddress kRouterV6 = ip("2001:db8:200::1");
const IpAddress kAttackerV6 = ip("2001:db8:66::6");
const IpAddress kSnat = ip("198.19.100.5");
const IpAddress kSnatV6 = ip("2001:db8:100::5");
const Bytes kMarker = {'<', '<', 'E', 'X', 'F', 'I', 'L', ':', 'i', 'c', 'm', 'p', '>', '>'};

Bytes tcp(const IpAddress& src, uint16_t sport, const IpAddress& dst, uint16_t dport, const Bytes& payload = {},
          uint8_t flags = 0x18) {
  return test::ip_packet(src, dst, kIpProtoTcp, test::tcp_segment(sport, dport, payload, flags));
}
// A SYN one before the data segments' sequence number (1000), as a real client's.
Bytes syn(const IpAddress& src, uint16_t sport, const IpAddress& dst, uint16_t dport) {
  Bytes segment = test::tcp_segment(sport, dport, {}, 0x02);
  segment[7] = uint8_t(999 & 0xff);
  segment[6] = uint8_t(999 >> 8);
  return test::ip_packet(src, dst, kIpProtoTcp, segment);
}

// An ICMP error from `from` to `to` quoting `quoted` (an IP packet), cut to `keep` bytes of it.
// IPv4: type 3 code 4 (fragmentation needed, next-hop MTU 1280); IPv6: type 2 (packet too big).
Bytes too_big(const IpAddress& from, const IpAddress& to, const Bytes& quoted, size_t keep = 548) {
  const Bytes quote(quoted.begin(), quoted.begin() + std::min(keep, quoted.size()));
  const bool v4 = from.family == 4;
  return test::ip_packet(from, to, test::icmp_protocol(from),
                         test::icmp_message(v4 ? 3 : 2, v4 ? 4 : 0, 1280, quote));
}
Bytes time_exceeded(const IpAddress& from, const IpAddress& to, const Bytes& quoted) {
  return test::ip_packet(from, to, test::icmp_protocol(from),
                         test::icmp_message(from.family == 4 ? 11 : 3, 0, 0, Bytes(quoted.begin(), quoted.begin() + 28)));
}

class IcmpErrorsFromOutsideTest : public test::WorkerFixture {
 protected:
  uint64_t forwarded_errors() const { return read(counters_->icmp_errors_forwarded); }
  bool any_forwarded_contains(const Bytes& marker) const {
    for (int i = 0; i < out_.forward_count; ++i) {
      const Bytes frame = forwarded_bytes(i);
      if (std::search(frame.begin(), frame.end(), marker.begin(), marker.end()) != frame.end()) return true;
    }
    return false;
  }
};

TEST_F(IcmpErrorsFromOutsideTest, FragmentationNeededAboutAnAllowedFlowReachesTheClientUnchanged) {
  const Bytes data = tcp(kClient, 40000, kDatabase, 5432, Bytes(1400, 'd'));
  burst(Side::inside, {test::ether(syn(kClient, 40000, kDatabase, 5432)), test::ether(data)});
  ASSERT_EQ(out_.forward_count, 2);
  const Bytes error = test::ether(too_big(kRouter, kClient, data));
  const Bytes expired = test::ether(time_exceeded(kRouter, kClient, data));
  burst(Side::outside, {error, expired});
  ASSERT_EQ(out_.forward_count, 2);
  EXPECT_EQ(forwarded_bytes(0), error);
  EXPECT_EQ(forwarded_bytes(1), expired);
  EXPECT_EQ(forwarded_errors(), 2u);
  EXPECT_EQ(dropped(Reason::unsolicited_inbound), 0u);
}

TEST_F(IcmpErrorsFromOutsideTest, AnErrorQuotingNoFlowOrAnotherHostsPacketIsDropped) {
  burst(Side::inside, {test::ether(syn(kClient, 40000, kDatabase, 5432))});
  ASSERT_EQ(out_.forward_count, 1);
  burst(Side::outside, {
      test::ether(too_big(kRouter, kClient, syn(kClient, 40001, kDatabase, 5432))),   // another port
      test::ether(too_big(kRouter, kClient, syn(kClient, 40000, kTlsServer, 5432))),  // another server
      test::ether(too_big(kRouter, kClient, test::ip_packet(kClient, kDatabase, kIpProtoUdp,
                                                            test::udp_segment(40000, 5432)))),  // another protocol
      // To another inside host than the quoted packet's sender.
      test::ether(too_big(kRouter, ip("198.18.1.11"), syn(kClient, 40000, kDatabase, 5432))),
      // The flow's packet from the server's side: no packet the inside host sent.
      test::ether(too_big(kRouter, kDatabase, tcp(kDatabase, 5432, kClient, 40000))),
  });
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::icmp_error_no_flow), 5u);
  EXPECT_EQ(forwarded_errors(), 0u);
}

TEST_F(IcmpErrorsFromOutsideTest, AnErrorAboutADeniedFlowIsDroppedAndADryRunOnePasses) {
  burst(Side::inside, {test::ether(syn(kClient, 40000, kDatabase, 22)), test::ether(syn(kDryRunClient, 40000, kDatabase, 22))});
  ASSERT_EQ(out_.forward_count, 1);  // the DRY_RUN client's SYN
  burst(Side::outside, {test::ether(too_big(kRouter, kClient, syn(kClient, 40000, kDatabase, 22))),
                        test::ether(too_big(kRouter, kDryRunClient, syn(kDryRunClient, 40000, kDatabase, 22)))});
  ASSERT_EQ(out_.forward_count, 1);
  EXPECT_EQ(dropped(Reason::icmp_error_flow_denied), 1u);
  EXPECT_EQ(forwarded_errors(), 1u);
}

TEST_F(IcmpErrorsFromOutsideTest, AMalformedQuoteIsDroppedByItsReason) {
  const Bytes data = tcp(kClient, 40000, kDatabase, 5432, Bytes(100, 'd'));
  burst(Side::inside, {test::ether(data)});
  Bytes later_fragment = data;
  later_fragment[6] = 0x00;
  later_fragment[7] = 0x10;  // offset 128 bytes
  burst(Side::outside, {
      test::ether(too_big(kRouter, kClient, data, 24)),    // 4 bytes of TCP: no ports
      test::ether(too_big(kRouter, kClient, data, 12)),    // not even the IP header
      test::ether(too_big(kRouter, kClient, later_fragment)),
      test::ether(test::ip_packet(kRouter, kClient, kIpProtoIcmp, test::icmp_message(3, 4, 1280))),  // no quote
  });
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::icmp_error_quote_malformed), 4u);
}

TEST_F(IcmpErrorsFromOutsideTest, AnErrorAboutAPendingFlowPassesButDoesNotSettleIt) {
  // The SYN of a TLS flow passes before its verdict; a router's error about it reaches the client.
  burst(Side::inside, {test::ether(syn(kClient, 40000, kTlsServer, 443))});
  ASSERT_EQ(out_.forward_count, 1);
  burst(Side::outside, {test::ether(time_exceeded(kRouter, kClient, syn(kClient, 40000, kTlsServer, 443)))});
  EXPECT_EQ(out_.forward_count, 1);
  // The flow is still judged on its ClientHello: a name the policy denies is denied.
  burst(Side::inside, {test::ether(tcp(kClient, 40000, kTlsServer, 443, test::client_hello("exfil.example.net")))});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::domain_not_allowed), 1u);
}

TEST_F(IcmpErrorsFromOutsideTest, PacketTooBigAboutAnAllowedIpv6FlowReachesTheClient) {
  const Bytes hello = tcp(kClientV6, 40000, kTlsServerV6, 443, test::client_hello("pypi.org"));
  burst(Side::inside, {test::ether(syn(kClientV6, 40000, kTlsServerV6, 443)), test::ether(hello)});
  ASSERT_EQ(out_.forward_count, 2);
  const Bytes error = test::ether(too_big(kRouterV6, kClientV6, hello, 1232));
  const Bytes stranger = test::ether(too_big(kRouterV6, kClientV6, syn(kClientV6, 40001, kTlsServerV6, 443)));
  burst(Side::outside, {error, stranger, test::ether(time_exceeded(kRouterV6, kClientV6, hello))});
  ASSERT_EQ(out_.forward_count, 1);
  EXPECT_EQ(forwarded_bytes(0), error);
  EXPECT_EQ(dropped(Reason::icmp_error_no_flow), 1u);
  EXPECT_EQ(dropped(Reason::icmp_error_quote_malformed), 1u);  // 28 bytes cannot hold an IPv6 header
}

// The exfiltrator's side: an ICMP error the workload sends is a packet to its destination, judged
// as such. Its quote (a forged one naming an allowed flow, or any bytes) carries the marker.
TEST_F(IcmpErrorsFromOutsideTest, ErrorsFromTheInsideNeverCarryTheirQuoteToADeniedDestination) {
  burst(Side::inside, {test::ether(syn(kClient, 40000, kDatabase, 5432))});
  ASSERT_EQ(out_.forward_count, 1);
  const Bytes forged_quote = tcp(kDatabase, 5432, kClient, 40000, kMarker + kMarker);  // "the allowed flow"
  const Bytes raw_quote = test::ip_packet(kAttacker, kClient, kIpProtoUdp, test::udp_segment(53, 40000, kMarker));
  const Bytes forged_v6 = tcp(kTlsServerV6, 443, kClientV6, 40000, kMarker);
  burst(Side::inside, {
      test::ether(too_big(kClient, kAttacker, forged_quote)),
      test::ether(too_big(kClient, kAttacker, raw_quote)),
      test::ether(time_exceeded(kClient, kAttacker, forged_quote + kMarker)),
      // To the allowed server itself: the policy allows it TCP 5432, not ICMP.
      test::ether(too_big(kClient, kDatabase, forged_quote)),
      test::ether(too_big(kClientV6, kAttackerV6, forged_v6)),
  });
  EXPECT_FALSE(any_forwarded_contains(kMarker));
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(forwarded_errors(), 0u);
  // Control: the allowed flow itself still passes.
  burst(Side::inside, {test::ether(tcp(kClient, 40000, kDatabase, 5432, {'o', 'k'}))});
  EXPECT_EQ(out_.forward_count, 1);
}

// An error neither outlives its flow nor keeps it alive: it does not touch the idle timer.
class IcmpErrorAgingTest : public IcmpErrorsFromOutsideTest {
 protected:
  void adjust(PacketProcessorSetup& setup) override {
    setup.external_clock = true;
    setup.timeouts.udp = 10;
  }
  void at_seconds(double seconds) { processor_->set_clock(uint64_t((seconds + 1) * double(rte_get_tsc_hz()))); }
};

TEST_F(IcmpErrorAgingTest, AnErrorAboutAnIdleFlowIsDroppedAndErrorsDoNotKeepAFlowAlive) {
  const IpAddress time_server = ip("198.19.7.123");  // allowed: UDP 123
  const Bytes datagram = test::ip_packet(kClient, time_server, kIpProtoUdp, test::udp_segment(5123, 123, Bytes(48, 0)));
  // The server itself: port unreachable.
  const Bytes unreachable =
      test::ether(test::ip_packet(time_server, kClient, kIpProtoIcmp, test::icmp_message(3, 3, 0, datagram)));
  at_seconds(0);
  burst(Side::inside, {test::ether(datagram)});
  ASSERT_EQ(out_.forward_count, 1);
  at_seconds(8);
  burst(Side::outside, {unreachable});
  EXPECT_EQ(out_.forward_count, 1);
  at_seconds(10.5);  // idle past the UDP timeout, counted from the datagram: the error did not count
  burst(Side::outside, {unreachable});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::icmp_error_no_flow), 1u);
  EXPECT_EQ(processor_->expire_idle(flows_.position_count(), policy_.get()), 1u);
}

// Routed mode: the client's packets leave translated to a SNAT address, a router beyond answers
// the translated packet, SNAT translates the error back (outer destination and quote), and the
// packet processor, seeing the client's own tuple in the quote, forwards it.
class IcmpErrorsThroughSnatTest : public IcmpErrorsFromOutsideTest {
 protected:
  void SetUp() override {
    IcmpErrorsFromOutsideTest::SetUp();
    SnatTableSettings settings;
    settings.capacity = 16;
    settings.addresses = {kSnat, kSnatV6};
    settings.ports = {20000, 20999};
    settings.quarantine_ticks = 1000;
    settings.hash_seed = 7;
    ASSERT_TRUE(table_.init(settings));
  }

  // `ip_packet` as the appliance sends it on: translated (the processor forwarded it first).
  Bytes leave(const Bytes& ip_packet) {
    burst(Side::inside, {test::ether(ip_packet)});
    EXPECT_EQ(out_.forward_count, 1);
    Bytes frame = test::ether(ip_packet);
    ParsedPacket parsed;
    EXPECT_EQ(parse_packet(frame, parsed), PacketParseError::none);
    EXPECT_EQ(snat_outbound(frame, parsed, table_, 1).status, SnatStatus::translated);
    return Bytes(frame.begin() + 14, frame.end());
  }

  // An error arriving for a SNAT address, translated back as the router stage does before the
  // processor; nullopt when SNAT refused it.
  std::optional<Bytes> arrive(const Bytes& ip_packet) {
    Bytes frame = test::ether(ip_packet);
    ParsedPacket parsed;
    EXPECT_EQ(parse_packet(frame, parsed), PacketParseError::none);
    if (snat_inbound(frame, parsed, table_, 2).status != SnatStatus::translated) return std::nullopt;
    return frame;
  }

  SnatTable table_;
};

TEST_F(IcmpErrorsThroughSnatTest, FragmentationNeededAboutATranslatedFlowIsTranslatedBackAndForwarded) {
  const Bytes data = tcp(kClient, 40000, kDatabase, 5432, Bytes(1400, 'd'));
  const Bytes sent = leave(data);
  ParsedPacket translated;
  ASSERT_EQ(parse_packet(test::ether(sent), translated), PacketParseError::none);
  ASSERT_TRUE(translated.src == kSnat);
  const auto back = arrive(too_big(kRouter, kSnat, sent));
  ASSERT_TRUE(back);
  ParsedPacket error;
  ASSERT_EQ(parse_packet(*back, error), PacketParseError::none);
  ASSERT_TRUE(error.dst == kClient);
  burst(Side::outside, {*back});
  ASSERT_EQ(out_.forward_count, 1);
  EXPECT_EQ(forwarded_bytes(0), *back);
  EXPECT_EQ(forwarded_errors(), 1u);
  // The error quotes the client's own packet again: its first bytes, as the client sent them.
  EXPECT_EQ(Bytes(back->begin() + 14 + 28, back->begin() + 14 + 28 + 24), Bytes(data.begin(), data.begin() + 24));
}

TEST_F(IcmpErrorsThroughSnatTest, PacketTooBigAndTimeExceededAboutATranslatedIpv6FlowAreForwarded) {
  burst(Side::inside, {test::ether(syn(kClientV6, 40000, kTlsServerV6, 443))});
  const Bytes hello = tcp(kClientV6, 40000, kTlsServerV6, 443, test::client_hello("pypi.org"));
  const Bytes sent = leave(hello);
  const auto big = arrive(too_big(kRouterV6, kSnatV6, sent, 1232));
  ASSERT_TRUE(big);
  const auto expired = arrive(test::ip_packet(kRouterV6, kSnatV6, kIpProtoIcmpv6, test::icmp_message(3, 0, 0, sent)));
  ASSERT_TRUE(expired);
  burst(Side::outside, {*big, *expired});
  ASSERT_EQ(out_.forward_count, 2);
  EXPECT_EQ(forwarded_bytes(0), *big);
  EXPECT_EQ(forwarded_errors(), 2u);
}

}  // namespace
}  // namespace sluice

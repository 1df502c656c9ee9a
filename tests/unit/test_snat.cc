// Source NAT on byte frames: port slices, the binding table (both directions, uniqueness per
// destination, exhaustion, quarantine, aging) and translation with every checksum kept right,
// ICMP errors about translated flows included, and the attacks on the return path.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "dataplane/nat/snat_port_slices.h"
#include "dataplane/nat/snat_table.h"
#include "dataplane/nat/snat_translator.h"
#include "tests/unit/snat_frames.h"

namespace sluice {
namespace {

using test::Bytes;
using test::ip;
using test::operator+;

const IpAddress kClient = ip("198.18.1.10");
const IpAddress kOtherClient = ip("198.18.1.11");
const IpAddress kServer = ip("198.19.0.80");
const IpAddress kOtherServer = ip("198.19.0.81");
const IpAddress kSnat = ip("198.18.100.1");
const IpAddress kSnat2 = ip("198.18.100.2");
const IpAddress kClient6 = ip("2001:db8:1::10");
const IpAddress kServer6 = ip("2001:db8:9::80");
const IpAddress kSnat6 = ip("2001:db8:100::1");

SnatTable make_table(uint16_t first = 1024, uint16_t last = 65535, std::vector<IpAddress> addresses = {kSnat, kSnat6},
                     uint32_t capacity = 1024, uint64_t quarantine = 100) {
  SnatTableSettings settings;
  settings.capacity = capacity;
  settings.addresses = std::move(addresses);
  settings.ports = {first, last};
  settings.quarantine_ticks = quarantine;
  settings.hash_seed = 0x1234;
  SnatTable table;
  EXPECT_TRUE(table.init(settings));
  return table;
}

NatKey key(const IpAddress& client, uint16_t cport, const IpAddress& server, uint16_t sport, uint8_t protocol = 6) {
  return make_nat_key(protocol, client, cport, server, sport);
}

struct Frame {
  Bytes bytes;
  ParsedPacket packet;
};

Frame parsed(Bytes bytes) {
  Frame frame{std::move(bytes), {}};
  EXPECT_EQ(parse_packet(frame.bytes, frame.packet), PacketParseError::none);
  return frame;
}

Frame tcp(const IpAddress& src, uint16_t sport, const IpAddress& dst, uint16_t dport, const Bytes& payload = {}) {
  return parsed(test::ether(test::ip_packet(src, dst, kIpProtoTcp, test::tcp_segment(sport, dport, payload))));
}

Frame udp(const IpAddress& src, uint16_t sport, const IpAddress& dst, uint16_t dport, bool checksum = true) {
  return parsed(test::ether(test::ip_packet(src, dst, kIpProtoUdp, test::udp_segment(sport, dport, {1, 2, 3}), checksum)));
}

Frame echo(const IpAddress& src, const IpAddress& dst, bool request, uint16_t id) {
  const bool v4 = src.family == 4;
  const uint8_t type = request ? (v4 ? 8 : 128) : (v4 ? 0 : 129);
  return parsed(test::ether(test::ip_packet(src, dst, test::icmp_protocol(src),
                                            test::icmp_message(type, 0, uint32_t(id) << 16 | 7, {9, 9, 9, 9}))));
}

// An ICMP error from `from` to `to` quoting `quoted` (an IP packet) whole.
Frame icmp_error(const IpAddress& from, const IpAddress& to, const Bytes& quoted) {
  const bool v4 = from.family == 4;
  return parsed(test::ether(test::ip_packet(from, to, test::icmp_protocol(from),
                                            test::icmp_message(v4 ? 3 : 1, v4 ? 3 : 4, 0, quoted))));
}

bool checksums_ok(const Frame& frame) {
  return test::ip_checksums_ok(frame.bytes, frame.packet.l3_offset, frame.packet.l3_end);
}

// ---- port slices ----

TEST(SnatPortSlices, SplitsTheRangeAndNamesTheOwnerOfEachPort) {
  SnatPortSlices slices(1024, 1033, 3);  // 10 ports: 3, 3, and the last worker takes 4
  EXPECT_EQ(slices.slice(0).first, 1024);
  EXPECT_EQ(slices.slice(0).last, 1026);
  EXPECT_EQ(slices.slice(1).first, 1027);
  EXPECT_EQ(slices.slice(2).first, 1030);
  EXPECT_EQ(slices.slice(2).last, 1033);
  for (uint32_t worker = 0; worker < 3; ++worker)
    for (uint32_t port = slices.slice(worker).first; port <= slices.slice(worker).last; ++port)
      EXPECT_EQ(slices.worker_of(uint16_t(port)), int32_t(worker)) << port;
  EXPECT_EQ(slices.worker_of(1023), -1);
  EXPECT_EQ(slices.worker_of(1034), -1);
  SnatPortSlices one(1024, 65535, 1);
  EXPECT_EQ(one.slice(0).size(), 64512u);
  EXPECT_EQ(one.worker_of(65535), 0);
}

// ---- the binding table ----

TEST(SnatTable, FindsABindingFromBothSides) {
  SnatTable table = make_table();
  const NatKey inside = key(kClient, 40000, kServer, 443);
  const SnatAllocation allocation = table.allocate(inside, 1);
  ASSERT_EQ(allocation.status, SnatAllocationStatus::ok);
  const SnatBinding& binding = table.binding(allocation.index);
  EXPECT_TRUE(local_address(binding.outside) == kSnat);
  EXPECT_GE(binding.outside.local_port, 1024);
  EXPECT_EQ(binding.outside.remote_port, 443);
  EXPECT_TRUE(remote_address(binding.outside) == kServer);
  EXPECT_EQ(table.find_inside(inside), allocation.index);
  EXPECT_EQ(table.find_outside(binding.outside), allocation.index);
  EXPECT_EQ(table.find_inside(key(kClient, 40001, kServer, 443)), -1);
  EXPECT_EQ(table.active(), 1u);
  EXPECT_EQ(table.ports_in_use(0), 1u);
}

TEST(SnatTable, AnIpv6FlowGetsAnIpv6AddressAndNoAddressOfItsFamilyIsRefused) {
  SnatTable table = make_table();
  const SnatAllocation six = table.allocate(key(kClient6, 5000, kServer6, 443), 1);
  ASSERT_EQ(six.status, SnatAllocationStatus::ok);
  EXPECT_TRUE(local_address(table.binding(six.index).outside) == kSnat6);
  SnatTable v4_only = make_table(1024, 65535, {kSnat});
  EXPECT_EQ(v4_only.allocate(key(kClient6, 5000, kServer6, 443), 1).status, SnatAllocationStatus::no_address);
  EXPECT_EQ(v4_only.allocation_failures(), 1u);
}

TEST(SnatTable, APortIsUniquePerDestinationAndExhaustionIsPerDestination) {
  SnatTable table = make_table(2000, 2003, {kSnat});  // 4 ports
  std::vector<uint16_t> ports;
  for (uint16_t i = 0; i < 4; ++i) {
    const SnatAllocation a = table.allocate(key(kClient, uint16_t(40000 + i), kServer, 443), 1);
    ASSERT_EQ(a.status, SnatAllocationStatus::ok);
    ports.push_back(table.binding(a.index).outside.local_port);
  }
  std::sort(ports.begin(), ports.end());
  EXPECT_EQ(ports, (std::vector<uint16_t>{2000, 2001, 2002, 2003}));
  EXPECT_EQ(table.allocate(key(kClient, 40004, kServer, 443), 1).status, SnatAllocationStatus::ports_exhausted);
  EXPECT_EQ(table.allocation_failures(), 1u);
  EXPECT_EQ(table.fullest_address_ppm(), 1'000'000u);
  // Another server port or another server: the same ports serve again.
  EXPECT_EQ(table.allocate(key(kClient, 40004, kServer, 80), 1).status, SnatAllocationStatus::ok);
  EXPECT_EQ(table.allocate(key(kClient, 40004, kOtherServer, 443), 1).status, SnatAllocationStatus::ok);
  EXPECT_EQ(table.ports_in_use(0), 4u);
}

TEST(SnatTable, ASecondAddressTakesOverWhenTheFirstIsExhausted) {
  SnatTable table = make_table(2000, 2001, {kSnat, kSnat2});
  for (uint16_t i = 0; i < 4; ++i)
    ASSERT_EQ(table.allocate(key(kClient, uint16_t(40000 + i), kServer, 443), 1).status, SnatAllocationStatus::ok);
  EXPECT_EQ(table.ports_in_use(0), 2u);
  EXPECT_EQ(table.ports_in_use(1), 2u);
  EXPECT_EQ(table.allocate(key(kClient, 40009, kServer, 443), 1).status, SnatAllocationStatus::ports_exhausted);
}

TEST(SnatTable, AFullTableRefusesByItsOwnStatus) {
  SnatTable table = make_table(1024, 65535, {kSnat}, 2);
  EXPECT_EQ(table.allocate(key(kClient, 1, kServer, 443), 1).status, SnatAllocationStatus::ok);
  EXPECT_EQ(table.allocate(key(kClient, 2, kServer, 443), 1).status, SnatAllocationStatus::ok);
  EXPECT_EQ(table.allocate(key(kClient, 3, kServer, 443), 1).status, SnatAllocationStatus::table_full);
}

TEST(SnatTable, AnEndedTupleWaitsOutItsQuarantineBeforeItsPortServesTheSameDestination) {
  SnatTable table = make_table(3000, 3000, {kSnat}, 16, 100);  // one port
  const NatKey first = key(kClient, 40000, kServer, 443);
  const SnatAllocation a = table.allocate(first, 10);
  ASSERT_EQ(a.status, SnatAllocationStatus::ok);
  const NatKey outside = table.binding(a.index).outside;
  table.end(a.index, 20);
  EXPECT_EQ(table.find_inside(first), -1);
  EXPECT_EQ(table.find_outside(outside), a.index);  // still held, quarantined
  EXPECT_EQ(table.binding(a.index).state, uint8_t(SnatBindingState::quarantined));
  EXPECT_EQ(table.allocate(key(kClient, 40001, kServer, 443), 30).status, SnatAllocationStatus::ports_exhausted);
  // Another destination may use the port at once.
  EXPECT_EQ(table.allocate(key(kClient, 40001, kOtherServer, 443), 30).status, SnatAllocationStatus::ok);
  const SnatIdleTimeouts idle{1000, 1000, 1000};
  table.age(119, idle, 16);
  EXPECT_EQ(table.find_outside(outside), a.index);
  table.age(120, idle, 16);
  EXPECT_EQ(table.find_outside(outside), -1);
  EXPECT_EQ(table.allocate(key(kClient, 40001, kServer, 443), 121).status, SnatAllocationStatus::ok);
}

TEST(SnatTable, AgingEndsIdleBindingsByProtocolAndFreesTheirSlots) {
  SnatTable table = make_table(1024, 65535, {kSnat}, 8, 0);
  const SnatAllocation tcp_binding = table.allocate(key(kClient, 1, kServer, 443), 0);
  const SnatAllocation udp_binding = table.allocate(key(kClient, 2, kServer, 53, kIpProtoUdp), 0);
  const SnatIdleTimeouts idle{500, 50, 50};
  table.age(100, idle, 8);
  EXPECT_EQ(table.binding(tcp_binding.index).state, uint8_t(SnatBindingState::active));
  EXPECT_EQ(table.binding(udp_binding.index).state, uint8_t(SnatBindingState::free));
  table.touch(tcp_binding.index, 400);
  table.age(600, idle, 8);
  EXPECT_EQ(table.binding(tcp_binding.index).state, uint8_t(SnatBindingState::active));
  table.age(901, idle, 8);
  EXPECT_EQ(table.active(), 0u);
  EXPECT_EQ(table.ports_in_use(0), 0u);
  for (uint16_t i = 0; i < 8; ++i) EXPECT_EQ(table.allocate(key(kClient, uint16_t(100 + i), kServer, 443), 1000).status, SnatAllocationStatus::ok);
}

TEST(SnatTable, RefusesUnusableSettings) {
  SnatTable table;
  SnatTableSettings settings;
  settings.addresses = {kSnat};
  settings.ports = {1024, 2000};
  EXPECT_FALSE(table.init(settings));  // no capacity
  settings.capacity = 4;
  settings.ports = {2000, 1024};
  EXPECT_FALSE(table.init(settings));
  settings.ports = {1024, 2000};
  settings.addresses.clear();
  EXPECT_FALSE(table.init(settings));
  // An uninitialised table finds nothing and allocates nothing.
  EXPECT_EQ(table.find_inside(key(kClient, 1, kServer, 2)), -1);
  EXPECT_EQ(table.allocate(key(kClient, 1, kServer, 2), 0).index, -1);
}

// ---- translation ----

TEST(SnatTranslate, TcpOutAndBackKeepsEveryChecksumAndRestoresTheOriginal) {
  SnatTable table = make_table();
  Frame out = tcp(kClient, 40000, kServer, 443, {'h', 'i'});
  const Bytes original = out.bytes;
  const SnatResult result = snat_outbound(out.bytes, out.packet, table, 1);
  ASSERT_EQ(result.status, SnatStatus::translated);
  EXPECT_TRUE(out.packet.src == kSnat);
  const uint16_t port = table.binding(result.binding).outside.local_port;
  EXPECT_EQ(out.packet.src_port, port);
  EXPECT_TRUE(checksums_ok(out));
  ParsedPacket reparsed;
  ASSERT_EQ(parse_packet(out.bytes, reparsed), PacketParseError::none);
  EXPECT_TRUE(reparsed.src == kSnat);
  EXPECT_EQ(reparsed.src_port, port);
  EXPECT_TRUE(reparsed.dst == kServer);
  // A second packet of the flow takes the same binding.
  Frame again = tcp(kClient, 40000, kServer, 443);
  EXPECT_EQ(snat_outbound(again.bytes, again.packet, table, 2).binding, result.binding);
  // The answer.
  Frame back = tcp(kServer, 443, kSnat, port, {'o', 'k'});
  const SnatResult in = snat_inbound(back.bytes, back.packet, table, 3);
  ASSERT_EQ(in.status, SnatStatus::translated);
  EXPECT_EQ(in.binding, result.binding);
  EXPECT_TRUE(back.packet.dst == kClient);
  EXPECT_EQ(back.packet.dst_port, 40000);
  EXPECT_TRUE(checksums_ok(back));
  EXPECT_EQ(back.bytes, tcp(kServer, 443, kClient, 40000, {'o', 'k'}).bytes);
  // Only the source address, the source port and the checksums changed on the way out.
  Frame expected = tcp(kSnat, port, kServer, 443, {'h', 'i'});
  EXPECT_EQ(out.bytes, expected.bytes);
  EXPECT_NE(out.bytes, original);
}

TEST(SnatTranslate, UdpChecksumZeroStaysZeroAndANonZeroOneStaysRight) {
  SnatTable table = make_table();
  Frame none = udp(kClient, 5353, kServer, 53, false);
  ASSERT_EQ(snat_outbound(none.bytes, none.packet, table, 1).status, SnatStatus::translated);
  const size_t sum_at = none.packet.l4_offset + 6;
  EXPECT_EQ(none.bytes[sum_at], 0);
  EXPECT_EQ(none.bytes[sum_at + 1], 0);
  Frame summed = udp(kClient, 5354, kServer, 53, true);
  ASSERT_EQ(snat_outbound(summed.bytes, summed.packet, table, 1).status, SnatStatus::translated);
  EXPECT_TRUE(checksums_ok(summed));
  EXPECT_FALSE(summed.bytes[sum_at] == 0 && summed.bytes[sum_at + 1] == 0);
}

TEST(SnatTranslate, ChecksumsStayRightOverManyPortsAndAddresses) {
  // Every allocated port, including ones whose sum lands on 0x0000 / 0xffff.
  SnatTable table = make_table(1024, 65535, {kSnat, kSnat2}, 8192);
  for (uint16_t i = 0; i < 4000; ++i) {
    Frame t = tcp(kClient, uint16_t(10000 + i), kServer, 443, {uint8_t(i), uint8_t(i >> 8)});
    ASSERT_EQ(snat_outbound(t.bytes, t.packet, table, 1).status, SnatStatus::translated);
    ASSERT_TRUE(checksums_ok(t)) << i;
    Frame u = udp(kClient, uint16_t(10000 + i), kServer, 53);
    ASSERT_EQ(snat_outbound(u.bytes, u.packet, table, 1).status, SnatStatus::translated);
    ASSERT_TRUE(checksums_ok(u)) << i;
  }
}

TEST(SnatTranslate, Ipv6TcpAndUdpOutAndBack) {
  SnatTable table = make_table();
  Frame out = tcp(kClient6, 40000, kServer6, 443, {1, 2, 3});
  const SnatResult r = snat_outbound(out.bytes, out.packet, table, 1);
  ASSERT_EQ(r.status, SnatStatus::translated);
  EXPECT_TRUE(out.packet.src == kSnat6);
  EXPECT_TRUE(checksums_ok(out));
  const uint16_t port = table.binding(r.binding).outside.local_port;
  Frame back = tcp(kServer6, 443, kSnat6, port, {4});
  ASSERT_EQ(snat_inbound(back.bytes, back.packet, table, 2).status, SnatStatus::translated);
  EXPECT_EQ(back.bytes, tcp(kServer6, 443, kClient6, 40000, {4}).bytes);
  Frame u = udp(kClient6, 777, kServer6, 53);
  ASSERT_EQ(snat_outbound(u.bytes, u.packet, table, 1).status, SnatStatus::translated);
  EXPECT_TRUE(checksums_ok(u));
}

TEST(SnatTranslate, IcmpEchoUsesItsIdentifierAsThePort) {
  for (const auto& [client, server, snat] : {std::tuple{kClient, kServer, kSnat}, std::tuple{kClient6, kServer6, kSnat6}}) {
    SnatTable table = make_table();
    Frame request = echo(client, server, true, 0x4242);
    const SnatResult r = snat_outbound(request.bytes, request.packet, table, 1);
    ASSERT_EQ(r.status, SnatStatus::translated);
    EXPECT_TRUE(checksums_ok(request));
    EXPECT_TRUE(request.packet.src == snat);
    const uint16_t id = table.binding(r.binding).outside.local_port;
    EXPECT_EQ(test::Bytes(request.bytes.begin() + request.packet.l4_offset + 4, request.bytes.begin() + request.packet.l4_offset + 6),
              (Bytes{uint8_t(id >> 8), uint8_t(id)}));
    Frame reply = echo(server, snat, false, id);
    ASSERT_EQ(snat_inbound(reply.bytes, reply.packet, table, 2).status, SnatStatus::translated);
    EXPECT_EQ(reply.bytes, echo(server, client, false, 0x4242).bytes);
    // An echo request from outside to the SNAT address is no return packet.
    Frame probe = echo(server, snat, true, id);
    EXPECT_EQ(snat_inbound(probe.bytes, probe.packet, table, 2).status, SnatStatus::no_binding);
  }
}

TEST(SnatTranslate, AnAllZeroIcmpEchoKeepsAChecksumThatVerifies) {
  // Found by fuzz_snat: identifier 0, sequence 0, no data. The bytes sum to +0, where only a
  // checksum of 0xffff verifies (RFC 1624's update alone gives 0x0000).
  SnatTable table = make_table();
  Frame request = parsed(test::ether(test::ip_packet(kClient, kServer, kIpProtoIcmp, test::icmp_message(8, 0, 0))));
  const SnatResult r = snat_outbound(request.bytes, request.packet, table, 1);
  ASSERT_EQ(r.status, SnatStatus::translated);
  EXPECT_TRUE(checksums_ok(request));
  const uint16_t id = table.binding(r.binding).outside.local_port;
  Frame reply = parsed(test::ether(test::ip_packet(kServer, kSnat, kIpProtoIcmp, test::icmp_message(0, 0, uint32_t(id) << 16))));
  ASSERT_EQ(snat_inbound(reply.bytes, reply.packet, table, 2).status, SnatStatus::translated);
  EXPECT_TRUE(checksums_ok(reply));
  EXPECT_EQ(reply.bytes[reply.packet.l4_offset + 2], 0xff);
  EXPECT_EQ(reply.bytes[reply.packet.l4_offset + 3], 0xff);
}

TEST(SnatTranslate, InboundWithoutAnActiveBindingIsRefused) {
  SnatTable table = make_table();
  Frame out = tcp(kClient, 40000, kServer, 443);
  const SnatResult r = snat_outbound(out.bytes, out.packet, table, 1);
  const uint16_t port = table.binding(r.binding).outside.local_port;
  Frame wrong_port = tcp(kServer, 443, kSnat, uint16_t(port + 1));
  EXPECT_EQ(snat_inbound(wrong_port.bytes, wrong_port.packet, table, 2).status, SnatStatus::no_binding);
  Frame wrong_protocol = udp(kServer, 443, kSnat, port);
  EXPECT_EQ(snat_inbound(wrong_protocol.bytes, wrong_protocol.packet, table, 2).status, SnatStatus::no_binding);
  table.end(r.binding, 3);
  Frame late = tcp(kServer, 443, kSnat, port);
  const Bytes before = late.bytes;
  EXPECT_EQ(snat_inbound(late.bytes, late.packet, table, 4).status, SnatStatus::no_binding);
  EXPECT_EQ(late.bytes, before);  // untouched
}

TEST(SnatTranslate, FragmentsAndOtherProtocolsAndTruncatedHeaders) {
  SnatTable table = make_table();
  Frame later = tcp(kClient, 40000, kServer, 443, {1, 2, 3, 4, 5, 6, 7, 8});
  later.packet.is_fragment = later.packet.is_later_fragment = true;
  EXPECT_EQ(snat_outbound(later.bytes, later.packet, table, 1).status, SnatStatus::later_fragment);
  Frame gre = parsed(test::ether(test::ip_packet(kClient, kServer, 47, {0, 0, 0x08, 0})));
  EXPECT_EQ(snat_outbound(gre.bytes, gre.packet, table, 1).status, SnatStatus::unsupported);
  // A TCP header cut short by the frame (the parser would refuse it; the translator must too).
  Frame cut = tcp(kClient, 40000, kServer, 443);
  EXPECT_EQ(snat_outbound(std::span<uint8_t>(cut.bytes.data(), cut.packet.l4_offset + 10), cut.packet, table, 1).status,
            SnatStatus::malformed);
  EXPECT_EQ(table.active(), 0u);
}

// ---- ICMP errors about translated flows ----

TEST(SnatIcmpError, AnErrorFromBeyondIsTranslatedInTheOuterAndTheQuotedHeader) {
  for (const auto& [client, server, snat] : {std::tuple{kClient, kServer, kSnat}, std::tuple{kClient6, kServer6, kSnat6}}) {
    SnatTable table = make_table();
    Frame out = udp(client, 5000, server, 9999);
    const SnatResult r = snat_outbound(out.bytes, out.packet, table, 1);
    ASSERT_EQ(r.status, SnatStatus::translated);
    const Bytes sent(out.bytes.begin() + out.packet.l3_offset, out.bytes.begin() + out.packet.l3_end);
    Frame error = icmp_error(server, snat, sent);
    const SnatResult in = snat_inbound(error.bytes, error.packet, table, 2);
    ASSERT_EQ(in.status, SnatStatus::translated);
    EXPECT_TRUE(in.icmp_error);
    EXPECT_TRUE(error.packet.dst == client);
    EXPECT_TRUE(checksums_ok(error));
    // The quote is now the client's own packet, byte for byte, checksums included.
    const Bytes original(udp(client, 5000, server, 9999).bytes);
    const Bytes client_sent(original.begin() + 14, original.end());
    EXPECT_EQ(error.bytes, icmp_error(server, client, client_sent).bytes);
  }
}

TEST(SnatIcmpError, AQuoteOfOnlyEightTcpBytesIsTranslated) {
  SnatTable table = make_table();
  Frame out = tcp(kClient, 40000, kServer, 443);
  ASSERT_EQ(snat_outbound(out.bytes, out.packet, table, 1).status, SnatStatus::translated);
  const Bytes quote(out.bytes.begin() + out.packet.l3_offset, out.bytes.begin() + out.packet.l4_offset + 8);
  Frame error = icmp_error(ip("198.19.50.1"), kSnat, quote);  // from a router on the way
  ASSERT_EQ(snat_inbound(error.bytes, error.packet, table, 2).status, SnatStatus::translated);
  EXPECT_TRUE(checksums_ok(error));
  const Frame original = tcp(kClient, 40000, kServer, 443);
  const Bytes expected_quote(original.bytes.begin() + 14, original.bytes.begin() + original.packet.l4_offset + 8);
  EXPECT_EQ(error.bytes, icmp_error(ip("198.19.50.1"), kClient, expected_quote).bytes);
}

TEST(SnatIcmpError, AClientsErrorAboutAnAnswerLeavesTranslated) {
  SnatTable table = make_table();
  Frame out = udp(kClient, 5000, kServer, 9999);
  const SnatResult r = snat_outbound(out.bytes, out.packet, table, 1);
  const uint16_t port = table.binding(r.binding).outside.local_port;
  Frame answer = udp(kServer, 9999, kSnat, port);
  ASSERT_EQ(snat_inbound(answer.bytes, answer.packet, table, 2).status, SnatStatus::translated);
  const Bytes received(answer.bytes.begin() + 14, answer.bytes.begin() + answer.packet.l3_end);
  Frame error = icmp_error(kClient, kServer, received);
  ASSERT_EQ(snat_outbound(error.bytes, error.packet, table, 3).status, SnatStatus::translated);
  EXPECT_TRUE(error.packet.src == kSnat);
  EXPECT_TRUE(checksums_ok(error));
  const Frame server_sent = udp(kServer, 9999, kSnat, port);
  EXPECT_EQ(error.bytes, icmp_error(kSnat, kServer, Bytes(server_sent.bytes.begin() + 14, server_sent.bytes.end())).bytes);
}

TEST(SnatIcmpError, ABadChecksumOrAnUnreadableQuoteIsMalformed) {
  SnatTable table = make_table();
  Frame out = udp(kClient, 5000, kServer, 9999);
  ASSERT_EQ(snat_outbound(out.bytes, out.packet, table, 1).status, SnatStatus::translated);
  const Bytes sent(out.bytes.begin() + 14, out.bytes.end());
  Frame bad_sum = icmp_error(kServer, kSnat, sent);
  bad_sum.bytes[bad_sum.packet.l4_offset + 2] ^= 1;
  EXPECT_EQ(snat_inbound(bad_sum.bytes, bad_sum.packet, table, 2).status, SnatStatus::malformed);
  for (size_t cut : {0, 4, 19, 20, 27}) {
    Frame shortq = icmp_error(kServer, kSnat, Bytes(sent.begin(), sent.begin() + cut));
    EXPECT_EQ(snat_inbound(shortq.bytes, shortq.packet, table, 2).status, SnatStatus::malformed) << cut;
  }
  Bytes v6_in_v4 = sent;
  v6_in_v4[0] = 0x65;
  Frame wrong_version = icmp_error(kServer, kSnat, v6_in_v4);
  EXPECT_EQ(snat_inbound(wrong_version.bytes, wrong_version.packet, table, 2).status, SnatStatus::malformed);
  Bytes fragment = sent;
  fragment[7] = 8;  // offset 64: no ports in it
  Frame later = icmp_error(kServer, kSnat, fragment);
  EXPECT_EQ(snat_inbound(later.bytes, later.packet, table, 2).status, SnatStatus::malformed);
}

// ---- attacks: a client reaching a denied destination through the translation ----

// A marker in every byte the attacker wants to reach the other host.
const Bytes kMarker = {'E', 'X', 'F', 'I', 'L', '-', 'S', 'N', 'A', 'T'};

bool carries_marker(const Bytes& frame) {
  return std::search(frame.begin(), frame.end(), kMarker.begin(), kMarker.end()) != frame.end();
}

TEST(SnatAttack, ADeniedServerCannotAnswerThroughAnotherServersPort) {
  // The client's allowed flow to kServer holds a port; the attacker's server kOtherServer sends
  // its bytes to that port. Control: kServer's own answer passes.
  SnatTable table = make_table();
  Frame out = tcp(kClient, 40000, kServer, 443);
  const uint16_t port = table.binding(snat_outbound(out.bytes, out.packet, table, 1).binding).outside.local_port;
  Frame attack = tcp(kOtherServer, 443, kSnat, port, kMarker);
  EXPECT_EQ(snat_inbound(attack.bytes, attack.packet, table, 2).status, SnatStatus::no_binding);
  Frame other_port = tcp(kServer, 444, kSnat, port, kMarker);
  EXPECT_EQ(snat_inbound(other_port.bytes, other_port.packet, table, 2).status, SnatStatus::no_binding);
  Frame control = tcp(kServer, 443, kSnat, port, {'o', 'k'});
  EXPECT_EQ(snat_inbound(control.bytes, control.packet, table, 2).status, SnatStatus::translated);
}

TEST(SnatAttack, AnIcmpErrorQuotingAnotherClientsFlowIsRefused) {
  // kOtherClient's flow is translated; kClient sends an ICMP error quoting it (its marker in the
  // payload) to reach kServer with a translated source. Refused: the quote is not its own.
  SnatTable table = make_table();
  Frame victim = udp(kOtherClient, 5000, kServer, 9999);
  const uint16_t port = table.binding(snat_outbound(victim.bytes, victim.packet, table, 1).binding).outside.local_port;
  Frame answer = udp(kServer, 9999, kOtherClient, 5000);
  Bytes quote(answer.bytes.begin() + 14, answer.bytes.end());
  Frame forged = parsed(test::ether(test::ip_packet(kClient, kServer, kIpProtoIcmp, test::icmp_message(3, 3, 0, quote + kMarker))));
  const Bytes before = forged.bytes;
  EXPECT_EQ(snat_outbound(forged.bytes, forged.packet, table, 2).status, SnatStatus::malformed);
  EXPECT_EQ(forged.bytes, before);
  // Quoting its own (non-existent) flow finds no binding either.
  Frame answer_to_attacker = udp(kServer, 9999, kClient, 5000);
  Frame own = icmp_error(kClient, kServer, Bytes(answer_to_attacker.bytes.begin() + 14, answer_to_attacker.bytes.end()) + kMarker);
  EXPECT_EQ(snat_outbound(own.bytes, own.packet, table, 2).status, SnatStatus::no_binding);
  // From outside, an error quoting a tuple no binding has does not reach any client.
  Frame stray = tcp(kSnat, uint16_t(port + 1), kServer, 9999, kMarker);
  Frame from_outside = icmp_error(kOtherServer, kSnat, Bytes(stray.bytes.begin() + 14, stray.bytes.end()));
  EXPECT_EQ(snat_inbound(from_outside.bytes, from_outside.packet, table, 2).status, SnatStatus::no_binding);
  // An error naming another destination than the SNAT address it quotes.
  Frame quoted = udp(kSnat, port, kServer, 9999);
  Frame misdirected = icmp_error(kOtherServer, kSnat2, Bytes(quoted.bytes.begin() + 14, quoted.bytes.end()) + kMarker);
  EXPECT_EQ(snat_inbound(misdirected.bytes, misdirected.packet, table, 2).status, SnatStatus::malformed);
  // Control: the real error about kOtherClient's flow reaches kOtherClient.
  Frame real = icmp_error(kServer, kSnat, Bytes(victim.bytes.begin() + 14, victim.bytes.end()));
  ASSERT_EQ(snat_inbound(real.bytes, real.packet, table, 2).status, SnatStatus::translated);
  EXPECT_TRUE(real.packet.dst == kOtherClient);
  EXPECT_FALSE(carries_marker(real.bytes));
}

TEST(SnatMalformed, RandomFramesNeverTranslateOutOfBoundsOrCrash) {
  SnatTable table = make_table(1024, 1100, {kSnat, kSnat6}, 64);
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const Bytes quoted = tcp(kSnat, 1024, kServer, 2).bytes;
  const Bytes seeds[] = {tcp(kClient, 1, kServer, 2).bytes, udp(kClient6, 1, kServer6, 2).bytes,
                         icmp_error(kServer, kSnat, Bytes(quoted.begin() + 14, quoted.end())).bytes,
                         echo(kClient6, kServer6, true, 5).bytes};
  for (int round = 0; round < 20000; ++round) {
    Bytes frame = seeds[round % 4];
    const int flips = 1 + int(next() % 6);
    for (int i = 0; i < flips; ++i) frame[next() % frame.size()] = uint8_t(next());
    if (next() % 4 == 0) frame.resize(next() % frame.size());
    ParsedPacket packet;
    if (parse_packet(frame, packet) != PacketParseError::none) continue;
    const Bytes copy = frame;
    const SnatResult result = (round & 1) ? snat_inbound(frame, packet, table, round) : snat_outbound(frame, packet, table, round);
    EXPECT_EQ(frame.size(), copy.size());
    if (result.status != SnatStatus::translated) {
      EXPECT_EQ(frame, copy) << to_string(result.status);
    }
    table.age(uint64_t(round), {50, 50, 50}, 4);
  }
}

}  // namespace
}  // namespace sluice

// KernelServiceFilter: which packets for the appliance's own addresses may reach its kernel.
#include "dataplane/local/kernel_service_filter.h"

#include <gtest/gtest.h>

#include "controlplane/policy/cidr.h"
#include "tests/unit/frame_builder.h"

namespace sluice {
namespace {

using test::Bytes;
using test::put16;
using test::put32;
using test::Tcp4;
using test::operator+;

KernelServicePrefix prefix(const char* text) {
  Cidr cidr;
  EXPECT_EQ(parse_cidr(text, cidr), CidrError::none) << text;
  return {cidr.address, cidr.prefix_length};
}

KernelService service(uint8_t protocol, std::initializer_list<uint16_t> ports, std::initializer_list<const char*> sources = {}) {
  KernelService s;
  s.protocol = protocol;
  for (uint16_t port : ports) s.ports[s.port_count++] = port;
  for (const char* source : sources) s.sources[s.source_count++] = prefix(source);
  return s;
}

ParsedPacket parsed(const Bytes& frame) {
  ParsedPacket packet;
  EXPECT_EQ(parse_packet(frame, packet), PacketParseError::none);
  return packet;
}

ParsedPacket tcp4(const char* src, uint16_t dst_port, uint8_t protocol = kIpProtoTcp) {
  Tcp4 spec;
  spec.src = src;
  spec.dst = "198.18.1.254";
  spec.dst_port = dst_port;
  spec.flags = kTcpSyn;
  return parsed(test::tcp4_frame(spec, protocol));
}

// Ethernet + IPv4 + ICMP of `type` from 198.18.5.5.
ParsedPacket icmp4(uint8_t type) {
  Bytes frame{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  put16(frame, 0x0800);
  frame = frame + Bytes{0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, kIpProtoIcmp, 0, 0, 198, 18, 5, 5, 198, 18, 1, 254};
  test::refresh_ipv4_checksum(frame);
  return parsed(frame + Bytes{type, 0, 0, 0, 0, 1, 0, 1});
}

// Ethernet + IPv6 + `next` header from 2001:db8:9::9 with `l4`.
ParsedPacket ipv6(uint8_t next, const Bytes& l4) {
  Bytes frame{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  put16(frame, 0x86DD);
  put32(frame, 0x60000000);
  put16(frame, uint16_t(l4.size()));
  frame = frame + Bytes{next, 64};
  frame = frame + Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
  frame = frame + Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return parsed(frame + l4);
}

Bytes tcp_header(uint16_t dst_port) {
  Bytes b;
  put16(b, 40000);
  put16(b, dst_port);
  put32(b, 1);
  put32(b, 0);
  return b + Bytes{0x50, kTcpSyn, 0xff, 0xff, 0, 0, 0, 0};
}

TEST(KernelServiceFilter, EmptyFilterAdmitsNothing) {
  KernelServiceFilter filter;
  EXPECT_FALSE(filter.admits(tcp4("198.18.5.5", 22)));
  EXPECT_FALSE(filter.admits(icmp4(8)));
}

TEST(KernelServiceFilter, ListedPortAndProtocolOnly) {
  KernelServiceFilter filter;
  ASSERT_TRUE(filter.add(service(kIpProtoTcp, {22, 2222})));
  ASSERT_TRUE(filter.add(service(kIpProtoUdp, {53})));
  EXPECT_TRUE(filter.admits(tcp4("198.18.5.5", 22)));
  EXPECT_TRUE(filter.admits(tcp4("198.18.5.5", 2222)));
  EXPECT_FALSE(filter.admits(tcp4("198.18.5.5", 23)));
  EXPECT_FALSE(filter.admits(tcp4("198.18.5.5", 53)));                // 53 is UDP's
  EXPECT_TRUE(filter.admits(tcp4("198.18.5.5", 53, kIpProtoUdp)));
  EXPECT_FALSE(filter.admits(tcp4("198.18.5.5", 22, kIpProtoUdp)));  // 22 is TCP's
  EXPECT_TRUE(filter.admits(ipv6(kIpProtoTcp, tcp_header(22))));
  EXPECT_FALSE(filter.admits(ipv6(kIpProtoTcp, tcp_header(80))));
}

TEST(KernelServiceFilter, SourcesNarrowAService) {
  KernelServiceFilter filter;
  ASSERT_TRUE(filter.add(service(kIpProtoTcp, {22}, {"198.18.5.0/24", "2001:db8:9::/48", "198.19.0.7"})));
  EXPECT_TRUE(filter.admits(tcp4("198.18.5.5", 22)));
  EXPECT_TRUE(filter.admits(tcp4("198.18.5.255", 22)));
  EXPECT_FALSE(filter.admits(tcp4("198.18.6.5", 22)));
  EXPECT_TRUE(filter.admits(tcp4("198.19.0.7", 22)));
  EXPECT_FALSE(filter.admits(tcp4("198.19.0.6", 22)));
  EXPECT_TRUE(filter.admits(ipv6(kIpProtoTcp, tcp_header(22))));
}

TEST(KernelServiceFilter, OddPrefixLengths) {
  const KernelServicePrefix p = prefix("198.18.0.0/15");
  IpAddress inside{4, {198, 19, 255, 255}};
  IpAddress outside{4, {198, 20, 0, 0}};
  EXPECT_TRUE(prefix_contains(p, inside));
  EXPECT_FALSE(prefix_contains(p, outside));
  const KernelServicePrefix any = prefix("0.0.0.0/0");
  EXPECT_TRUE(prefix_contains(any, outside));
  IpAddress v6{6, {0x20, 0x01, 0x0d, 0xb8}};
  EXPECT_FALSE(prefix_contains(any, v6));  // families never mix
}

TEST(KernelServiceFilter, IcmpMeansEchoRequestsOnly) {
  KernelServiceFilter filter;
  ASSERT_TRUE(filter.add(service(kIpProtoIcmp, {})));
  EXPECT_TRUE(filter.admits(icmp4(8)));
  EXPECT_FALSE(filter.admits(icmp4(0)));  // an echo reply
  EXPECT_FALSE(filter.admits(icmp4(3)));  // an error
  EXPECT_FALSE(filter.admits(icmp4(13)));
  EXPECT_TRUE(filter.admits(ipv6(kIpProtoIcmpv6, {128, 0, 0, 0, 0, 1, 0, 1})));
  EXPECT_FALSE(filter.admits(ipv6(kIpProtoIcmpv6, {135, 0, 0, 0, 0, 0, 0, 0})));  // neighbour solicitation
  EXPECT_FALSE(filter.admits(tcp4("198.18.5.5", 22)));
}

TEST(KernelServiceFilter, FragmentsAreNeverAdmitted) {
  KernelServiceFilter filter;
  ASSERT_TRUE(filter.add(service(kIpProtoTcp, {22})));
  Tcp4 spec;
  spec.dst_port = 22;
  Bytes frame = test::tcp4_frame(spec);
  frame[20] = 0x20;  // MF: a first fragment that carries the port
  test::refresh_ipv4_checksum(frame);
  EXPECT_FALSE(filter.admits(parsed(frame)));
}

TEST(KernelServiceFilter, BoundsAreKept) {
  KernelServiceFilter filter;
  KernelService too_many_ports;
  too_many_ports.protocol = kIpProtoTcp;
  too_many_ports.port_count = kMaxKernelServicePorts + 1;
  EXPECT_FALSE(filter.add(too_many_ports));
  for (size_t i = 0; i < kMaxKernelServices; ++i) ASSERT_TRUE(filter.add(service(kIpProtoTcp, {uint16_t(i + 1)})));
  EXPECT_FALSE(filter.add(service(kIpProtoTcp, {999})));
  EXPECT_EQ(filter.size(), kMaxKernelServices);
}

}  // namespace
}  // namespace sluice

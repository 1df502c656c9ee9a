// ICMP time exceeded and fragmentation needed / packet too big: fields, checksums, quotes, and
// the packets they must not answer (malformed, fragments, errors, multicast sources).
#include "dataplane/verdict/icmp_router_error.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "controlplane/policy/cidr.h"
#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/verdict/internet_checksum.h"
#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;
using test::put16;
using test::operator+;

const Bytes kApplianceMac = {2, 0, 0, 0, 0, 0xaa};
const Bytes kClientMac = {2, 0, 0, 0, 0, 1};
constexpr size_t kL3 = 14;

IpAddress ip(const char* text) { return *parse_ip(text); }
Bytes bytes_of(const IpAddress& address) {
  return Bytes(address.bytes, address.bytes + (address.family == 4 ? 4 : 16));
}

Bytes ethernet(uint16_t ether_type) {
  Bytes b = kApplianceMac + kClientMac;
  put16(b, ether_type);
  return b;
}

Bytes ipv4_packet(size_t payload, uint8_t ttl = 1, uint16_t fragment = 0x4000, uint8_t protocol = kIpProtoUdp,
                  const char* source = "198.18.0.10", uint8_t first_payload_byte = 0) {
  Bytes b;
  b.push_back(0x45);
  b.push_back(0);
  put16(b, uint16_t(20 + payload));
  put16(b, 0x1234);
  put16(b, fragment);
  b.push_back(ttl);
  b.push_back(protocol);
  put16(b, 0);
  b = b + bytes_of(ip(source)) + bytes_of(ip("198.19.0.20"));
  store_be16(b.data() + 10, checksum_fold(checksum_sum(b.data(), 20)));
  for (size_t i = 0; i < payload; ++i) b.push_back(i == 0 ? first_payload_byte : uint8_t(i));
  return ethernet(0x0800) + b;
}

Bytes ipv6_packet(size_t payload, uint8_t next_header = kIpProtoUdp, const char* source = "2001:db8::10",
                  uint8_t first_payload_byte = 0) {
  Bytes b = {0x60, 0, 0, 0};
  put16(b, uint16_t(payload));
  b.push_back(next_header);
  b.push_back(1);
  b = b + bytes_of(ip(source)) + bytes_of(ip("2001:db8:1::20"));
  for (size_t i = 0; i < payload; ++i) b.push_back(i == 0 ? first_payload_byte : uint8_t(i));
  return ethernet(0x86dd) + b;
}

std::vector<uint8_t> room(size_t size = 2048) { return std::vector<uint8_t>(size); }

TEST(IcmpRouterError, TimeExceededV4) {
  const Bytes packet = ipv4_packet(100);
  auto out = room();
  const size_t length = build_icmp_time_exceeded(packet, kL3, ip("198.18.0.1"), out);
  ASSERT_EQ(length, kL3 + 20 + 8 + 120u);  // the whole 120-byte packet quoted
  const uint8_t* l3 = out.data() + kL3;
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 6), kClientMac);  // back to the previous hop
  EXPECT_EQ(Bytes(out.begin() + 6, out.begin() + 12), kApplianceMac);
  EXPECT_EQ(l3[9], kIpProtoIcmp);
  EXPECT_EQ(l3[8], 64);
  EXPECT_EQ(Bytes(l3 + 12, l3 + 16), bytes_of(ip("198.18.0.1")));
  EXPECT_EQ(Bytes(l3 + 16, l3 + 20), bytes_of(ip("198.18.0.10")));
  EXPECT_EQ(checksum_fold(checksum_sum(l3, 20)), 0);
  const uint8_t* icmp = l3 + 20;
  EXPECT_EQ(icmp[0], 11);
  EXPECT_EQ(icmp[1], 0);
  EXPECT_EQ(checksum_fold(checksum_sum(icmp, 8 + 120)), 0);
  EXPECT_EQ(Bytes(icmp + 8, icmp + 8 + 120), Bytes(packet.begin() + kL3, packet.end()));
}

TEST(IcmpRouterError, FragmentationNeededCarriesTheMtu) {
  const Bytes packet = ipv4_packet(1600, 64);
  auto out = room();
  const size_t length = build_icmp_too_big(packet, kL3, ip("198.18.0.1"), 1500, out);
  ASSERT_EQ(length, kL3 + 576u);  // quoted up to RFC 1812's 576 bytes
  const uint8_t* icmp = out.data() + kL3 + 20;
  EXPECT_EQ(icmp[0], 3);
  EXPECT_EQ(icmp[1], 4);
  EXPECT_EQ(load_be16(icmp + 4), 0);
  EXPECT_EQ(load_be16(icmp + 6), 1500);
  EXPECT_EQ(checksum_fold(checksum_sum(icmp, 576 - 20)), 0);
  EXPECT_EQ(load_be16(out.data() + kL3 + 2), 576);
}

TEST(IcmpRouterError, V6TimeExceededAndPacketTooBig) {
  const Bytes packet = ipv6_packet(2000);
  const IpAddress source = ip("2001:db8::1");
  auto out = room(4096);
  size_t length = build_icmp_too_big(packet, kL3, source, 1280, out);
  ASSERT_EQ(length, kL3 + 1280u);
  const uint8_t* l3 = out.data() + kL3;
  const uint8_t* icmp = l3 + 40;
  EXPECT_EQ(l3[6], kIpProtoIcmpv6);
  EXPECT_EQ(icmp[0], 2);
  EXPECT_EQ(load_be32(icmp + 4), 1280u);
  const uint32_t pseudo = checksum_sum(l3 + 8, 32) + (1280 - 40) + kIpProtoIcmpv6;
  EXPECT_EQ(checksum_fold(checksum_sum(icmp, 1280 - 40, pseudo)), 0);
  EXPECT_EQ(Bytes(l3 + 8, l3 + 24), bytes_of(source));
  EXPECT_EQ(Bytes(l3 + 24, l3 + 40), bytes_of(ip("2001:db8::10")));
  length = build_icmp_time_exceeded(packet, kL3, source, out);
  ASSERT_EQ(length, kL3 + 1280u);
  EXPECT_EQ(icmp[0], 3);
  EXPECT_EQ(icmp[1], 0);
}

TEST(IcmpRouterError, NothingForWhatMustNotBeAnswered) {
  auto out = room(4096);
  const IpAddress v4 = ip("198.18.0.1");
  const IpAddress v6 = ip("2001:db8::1");
  // A later fragment, an ICMP error, a multicast, broadcast or unspecified source.
  EXPECT_EQ(build_icmp_time_exceeded(ipv4_packet(40, 1, 0x0010), kL3, v4, out), 0u);
  EXPECT_EQ(build_icmp_time_exceeded(ipv4_packet(40, 1, 0x4000, kIpProtoIcmp, "198.18.0.10", 11), kL3, v4, out), 0u);
  EXPECT_EQ(build_icmp_time_exceeded(ipv4_packet(40, 1, 0x4000, kIpProtoIcmp, "198.18.0.10", 3), kL3, v4, out), 0u);
  EXPECT_EQ(build_icmp_time_exceeded(ipv4_packet(40, 1, 0x4000, kIpProtoUdp, "224.0.0.5"), kL3, v4, out), 0u);
  EXPECT_EQ(build_icmp_time_exceeded(ipv4_packet(40, 1, 0x4000, kIpProtoUdp, "255.255.255.255"), kL3, v4, out), 0u);
  EXPECT_EQ(build_icmp_time_exceeded(ipv4_packet(40, 1, 0x4000, kIpProtoUdp, "0.0.0.0"), kL3, v4, out), 0u);
  EXPECT_EQ(build_icmp_time_exceeded(ipv6_packet(40, kIpProtoIcmpv6, "2001:db8::10", 1), kL3, v6, out), 0u);
  EXPECT_EQ(build_icmp_time_exceeded(ipv6_packet(40, kIpProtoUdp, "ff02::1"), kL3, v6, out), 0u);
  EXPECT_EQ(build_icmp_time_exceeded(ipv6_packet(40, kIpProtoUdp, "::"), kL3, v6, out), 0u);
  // Echo requests are answered (ping with a low TTL is traceroute's other form).
  EXPECT_GT(build_icmp_time_exceeded(ipv4_packet(40, 1, 0x4000, kIpProtoIcmp, "198.18.0.10", 8), kL3, v4, out), 0u);
  EXPECT_GT(build_icmp_time_exceeded(ipv6_packet(40, kIpProtoIcmpv6, "2001:db8::10", 128), kL3, v6, out), 0u);
  // The source's family differs from the packet's.
  EXPECT_EQ(build_icmp_time_exceeded(ipv4_packet(40), kL3, v6, out), 0u);
  EXPECT_EQ(build_icmp_too_big(ipv6_packet(40), kL3, v4, 1500, out), 0u);
  // Too little room.
  auto small = room(60);
  EXPECT_EQ(build_icmp_time_exceeded(ipv4_packet(100), kL3, v4, small), 0u);
}

TEST(IcmpRouterError, MalformedHeadersAreRefused) {
  auto out = room();
  const IpAddress v4 = ip("198.18.0.1");
  Bytes bad_ihl = ipv4_packet(40);
  bad_ihl[kL3] = 0x44;
  EXPECT_EQ(build_icmp_time_exceeded(bad_ihl, kL3, v4, out), 0u);
  Bytes long_ihl = ipv4_packet(4);
  long_ihl[kL3] = 0x4f;  // 60-byte header in a 44-byte packet
  EXPECT_EQ(build_icmp_time_exceeded(long_ihl, kL3, v4, out), 0u);
  Bytes short_total = ipv4_packet(40);
  store_be16(short_total.data() + kL3 + 2, 10);
  EXPECT_EQ(build_icmp_time_exceeded(short_total, kL3, v4, out), 0u);
  Bytes version = ipv4_packet(40);
  version[kL3] = 0x55;
  EXPECT_EQ(build_icmp_time_exceeded(version, kL3, v4, out), 0u);
  const Bytes whole = ipv4_packet(40);
  EXPECT_EQ(build_icmp_time_exceeded(whole, 0, v4, out), 0u);            // no room for Ethernet
  EXPECT_EQ(build_icmp_time_exceeded(whole, whole.size(), v4, out), 0u);  // nothing after it
  // A total length beyond the frame quotes only what is there.
  Bytes long_total = ipv4_packet(40);
  store_be16(long_total.data() + kL3 + 2, 1000);
  EXPECT_EQ(build_icmp_time_exceeded(long_total, kL3, v4, out), kL3 + 28 + 60u);
  // Every truncation of valid packets: refused or built, never a read past the end (ASan).
  for (const Bytes& packet : {ipv4_packet(100), ipv6_packet(100)}) {
    const IpAddress source = packet[12] == 0x08 ? v4 : ip("2001:db8::1");
    for (size_t size = 0; size <= packet.size(); ++size) {
      const Bytes cut(packet.begin(), packet.begin() + size);
      const size_t length = build_icmp_time_exceeded(cut, kL3, source, out);
      if (length) {
        EXPECT_LE(length, kL3 + (source.family == 4 ? 28u : 48u) + size - kL3);
      }
    }
  }
}

TEST(IcmpRouterError, OutMayAliasTheFrame) {
  Bytes packet = ipv4_packet(100);
  const Bytes original = packet;
  packet.resize(2048);
  const size_t length = build_icmp_time_exceeded(std::span<const uint8_t>(packet.data(), original.size()), kL3,
                                                 ip("198.18.0.1"), packet);
  ASSERT_GT(length, 0u);
  EXPECT_EQ(Bytes(packet.begin() + kL3 + 28, packet.begin() + length), Bytes(original.begin() + kL3, original.end()));
}

}  // namespace
}  // namespace sluice

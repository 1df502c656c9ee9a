// Frames for the SNAT tests and fuzz seeds: Ethernet + IPv4/IPv6 + TCP/UDP/ICMP with every
// checksum right, and a check that every checksum of a (translated) frame is still right.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "dataplane/parse/packet_parser.h"
#include "dataplane/parse/tcp_checksum.h"
#include "dataplane/verdict/internet_checksum.h"
#include "tests/unit/bytes.h"

namespace sluice::test {

inline IpAddress ip(const std::string& text) {
  IpAddress address;
  if (text.find(':') != std::string::npos) {
    address.family = 6;
    inet_pton(AF_INET6, text.c_str(), address.bytes);
  } else {
    address.family = 4;
    inet_pton(AF_INET, text.c_str(), address.bytes);
  }
  return address;
}

inline void set16(Bytes& b, size_t at, uint16_t value) {
  b[at] = uint8_t(value >> 8);
  b[at + 1] = uint8_t(value);
}

inline uint8_t icmp_protocol(const IpAddress& a) { return a.family == 4 ? kIpProtoIcmp : kIpProtoIcmpv6; }

// An L4 segment with its checksum left 0 (ip_packet fills it): TCP with a payload, UDP, or an ICMP
// echo/error header (type, code, identifier or unused word) followed by `payload`.
inline Bytes tcp_segment(uint16_t sport, uint16_t dport, const Bytes& payload = {}, uint8_t flags = 0x18) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1000);
  put32(b, 5000);
  b.push_back(0x50);
  b.push_back(flags);
  put16(b, 65535);
  put16(b, 0);
  put16(b, 0);
  return b + payload;
}

inline Bytes udp_segment(uint16_t sport, uint16_t dport, const Bytes& payload = {}) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, uint16_t(8 + payload.size()));
  put16(b, 0);
  return b + payload;
}

inline Bytes icmp_message(uint8_t type, uint8_t code, uint32_t rest, const Bytes& payload = {}) {
  Bytes b{type, code, 0, 0};
  put32(b, rest);
  return b + payload;
}

// An IP packet (no Ethernet) around `segment`, checksums filled unless `udp_checksum` is false
// (a UDP checksum of 0).
inline Bytes ip_packet(const IpAddress& src, const IpAddress& dst, uint8_t protocol, Bytes segment,
                       bool udp_checksum = true) {
  size_t sum_at = protocol == kIpProtoTcp ? 16 : protocol == kIpProtoUdp ? 6 : 2;
  if (protocol != kIpProtoUdp || udp_checksum) {
    uint16_t sum;
    if (protocol == kIpProtoIcmp) sum = checksum_fold(checksum_sum(segment.data(), segment.size()));
    else sum = l4_checksum(src, dst, protocol, segment);
    if (protocol == kIpProtoUdp && sum == 0) sum = 0xffff;
    set16(segment, sum_at, sum);
  }
  Bytes b;
  if (src.family == 4) {
    b.push_back(0x45);
    b.push_back(0);
    put16(b, uint16_t(20 + segment.size()));
    put16(b, 0x1234);
    put16(b, 0x4000);
    b.push_back(64);
    b.push_back(protocol);
    put16(b, 0);
    b.insert(b.end(), src.bytes, src.bytes + 4);
    b.insert(b.end(), dst.bytes, dst.bytes + 4);
    set16(b, 10, checksum_fold(checksum_sum(b.data(), 20)));
  } else {
    put32(b, 0x60000000);
    put16(b, uint16_t(segment.size()));
    b.push_back(protocol);
    b.push_back(64);
    b.insert(b.end(), src.bytes, src.bytes + 16);
    b.insert(b.end(), dst.bytes, dst.bytes + 16);
  }
  return b + segment;
}

inline Bytes ether(const Bytes& ip_bytes) {
  Bytes b{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  put16(b, (ip_bytes[0] >> 4) == 4 ? 0x0800 : 0x86dd);
  return b + ip_bytes;
}

// Every checksum of the IP packet at `l3` is right: the IPv4 header's and the L4 one (a UDP
// checksum of 0 counts as right).
inline bool ip_checksums_ok(std::span<const uint8_t> bytes, size_t l3, size_t end) {
  const bool v4 = (bytes[l3] >> 4) == 4;
  const size_t header = v4 ? size_t(bytes[l3] & 0x0f) * 4 : 40;
  if (v4 && checksum_fold(checksum_sum(bytes.data() + l3, header)) != 0) return false;
  const uint8_t protocol = bytes[l3 + (v4 ? 9 : 6)];
  IpAddress src, dst;
  src.family = dst.family = v4 ? 4 : 6;
  std::memcpy(src.bytes, bytes.data() + l3 + (v4 ? 12 : 8), v4 ? 4 : 16);
  std::memcpy(dst.bytes, bytes.data() + l3 + (v4 ? 16 : 24), v4 ? 4 : 16);
  std::span<const uint8_t> segment = bytes.subspan(l3 + header, end - l3 - header);
  if (protocol == kIpProtoUdp && segment[6] == 0 && segment[7] == 0) return true;
  if (protocol == kIpProtoIcmp) return checksum_fold(checksum_sum(segment.data(), segment.size())) == 0;
  return l4_checksum(src, dst, protocol, segment) == 0;
}

}  // namespace sluice::test

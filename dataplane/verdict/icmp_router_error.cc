#include "dataplane/verdict/icmp_router_error.h"

#include <algorithm>
#include <cstring>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/verdict/internet_checksum.h"
#include "dataplane/verdict/reply_frame.h"

namespace sluice {

namespace {

using reply::kHopLimit;
using reply::kIpv4HeaderLength;
using reply::kIpv6HeaderLength;
constexpr size_t kIcmpHeaderLength = 8;
constexpr size_t kIpv4ErrorLimit = 576;
constexpr size_t kIpv6ErrorLimit = 1280;

struct ErrorKind {
  uint8_t type = 0;
  uint8_t code = 0;
  uint32_t rest = 0;  // bytes 4..7 of the ICMP header (the MTU of a too-big error)
};

// The original packet as read from the frame: where it ends and what it is.
struct Original {
  bool ok = false;
  uint8_t version = 0;
  size_t length = 0;  // IP bytes in the frame (without Ethernet padding)
  IpAddress source;
};

bool bad_source_v4(const uint8_t* a) {
  return a[0] == 0 || a[0] == 127 || a[0] >= 224;  // this network, loopback, multicast, class E and broadcast
}

bool bad_source_v6(const uint8_t* a) {
  static const uint8_t kUnspecified[16] = {};
  static const uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return a[0] == 0xff || std::memcmp(a, kUnspecified, 16) == 0 || std::memcmp(a, kLoopback, 16) == 0;
}

// ICMPv4 error types (RFC 792, 1122): unreachable, source quench, redirect, time exceeded,
// parameter problem. ICMPv6 errors are types below 128.
bool is_icmpv4_error(uint8_t type) { return type == 3 || type == 4 || type == 5 || type == 11 || type == 12; }

Original read_original(std::span<const uint8_t> frame, size_t l3_offset) {
  Original original;
  if (l3_offset < 2 * reply::kMacLength + 2 || l3_offset >= frame.size()) return original;
  const uint8_t* ip = frame.data() + l3_offset;
  const size_t available = frame.size() - l3_offset;
  original.version = ip[0] >> 4;
  if (original.version == 4) {
    if (available < kIpv4HeaderLength) return original;
    const size_t header = size_t(ip[0] & 0x0f) * 4;
    const size_t total = load_be16(ip + 2);
    if (header < kIpv4HeaderLength || total < header || header > available) return original;
    if ((load_be16(ip + 6) & 0x1fff) != 0) return original;  // a later fragment: only the first is answered
    if (bad_source_v4(ip + 12)) return original;
    if (ip[9] == kIpProtoIcmp && total > header) {
      if (header >= available) return original;
      if (is_icmpv4_error(ip[header])) return original;
    }
    original.length = std::min(total, available);
    original.source.family = 4;
    std::memcpy(original.source.bytes, ip + 12, 4);
  } else if (original.version == 6) {
    if (available < kIpv6HeaderLength) return original;
    if (bad_source_v6(ip + 8)) return original;
    const size_t total = kIpv6HeaderLength + load_be16(ip + 4);
    if (ip[6] == kIpProtoIcmpv6 && total > kIpv6HeaderLength) {
      if (available <= kIpv6HeaderLength) return original;
      if (ip[kIpv6HeaderLength] < 128) return original;
    }
    original.length = std::min(total, available);
    original.source.family = 6;
    std::memcpy(original.source.bytes, ip + 8, 16);
  } else {
    return original;
  }
  original.ok = true;
  return original;
}

size_t build_error(std::span<const uint8_t> frame, size_t l3_offset, const IpAddress& source, ErrorKind kind,
                   std::span<uint8_t> out) {
  const Original original = read_original(frame, l3_offset);
  if (!original.ok || original.version != source.family) return 0;
  const bool v4 = original.version == 4;
  const size_t ip_length = v4 ? kIpv4HeaderLength : kIpv6HeaderLength;
  const size_t limit = v4 ? kIpv4ErrorLimit : kIpv6ErrorLimit;
  const size_t quoted = std::min(original.length, limit - ip_length - kIcmpHeaderLength);
  const size_t total = l3_offset + ip_length + kIcmpHeaderLength + quoted;
  if (out.size() < total) return 0;

  // The quote first (memmove: `out` may alias `frame`), then the headers in front of it.
  uint8_t* l2 = out.data();
  uint8_t* ip = l2 + l3_offset;
  uint8_t* icmp = ip + ip_length;
  std::memmove(icmp + kIcmpHeaderLength, frame.data() + l3_offset, quoted);
  reply::copy_l2_header(frame, l3_offset, true, l2);
  const size_t icmp_length = kIcmpHeaderLength + quoted;
  std::memset(icmp, 0, kIcmpHeaderLength);
  std::memset(ip, 0, ip_length);
  icmp[0] = kind.type;
  icmp[1] = kind.code;
  store_be32(icmp + 4, kind.rest);
  if (v4) {
    store_be16(icmp + 2, checksum_fold(checksum_sum(icmp, icmp_length, 0)));
    ip[0] = 0x45;
    store_be16(ip + 2, uint16_t(ip_length + icmp_length));
    ip[8] = kHopLimit;
    ip[9] = kIpProtoIcmp;
    std::memcpy(ip + 12, source.bytes, 4);
    std::memcpy(ip + 16, original.source.bytes, 4);
    store_be16(ip + 10, checksum_fold(checksum_sum(ip, kIpv4HeaderLength, 0)));
  } else {
    ip[0] = 0x60;
    store_be16(ip + 4, uint16_t(icmp_length));
    ip[6] = kIpProtoIcmpv6;
    ip[7] = kHopLimit;
    std::memcpy(ip + 8, source.bytes, 16);
    std::memcpy(ip + 24, original.source.bytes, 16);
    // ICMPv6 sums a pseudo-header: addresses, upper-layer length, next header (RFC 8200 8.1).
    const uint32_t sum = checksum_sum(ip + 8, 32, 0) + uint32_t(icmp_length) + kIpProtoIcmpv6;
    store_be16(icmp + 2, checksum_fold(checksum_sum(icmp, icmp_length, sum)));
  }
  return total;
}

}  // namespace

size_t build_icmp_time_exceeded(std::span<const uint8_t> frame, size_t l3_offset, const IpAddress& source,
                                std::span<uint8_t> out) {
  const ErrorKind kind = source.family == 4 ? ErrorKind{11, 0, 0} : ErrorKind{3, 0, 0};
  return build_error(frame, l3_offset, source, kind, out);
}

size_t build_icmp_too_big(std::span<const uint8_t> frame, size_t l3_offset, const IpAddress& source, uint32_t mtu,
                          std::span<uint8_t> out) {
  // IPv4 carries the next-hop MTU in the low 16 bits of the second word (RFC 1191).
  const ErrorKind kind = source.family == 4 ? ErrorKind{3, 4, mtu & 0xffff} : ErrorKind{2, 0, mtu};
  return build_error(frame, l3_offset, source, kind, out);
}

}  // namespace sluice

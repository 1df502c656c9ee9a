#include "dataplane/verdict/icmp_unreachable.h"

#include <algorithm>
#include <cstring>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/verdict/internet_checksum.h"
#include "dataplane/verdict/reply_frame.h"

namespace sluice {

namespace {

using reply::kHopLimit;
using reply::kIpv4HeaderLength;
using reply::kIpv6HeaderLength;
constexpr size_t kIcmpHeaderLength = 8;
constexpr size_t kIpv4QuotedBeyondHeader = 64;
constexpr size_t kIpv6MinimumMtu = 1280;
constexpr uint8_t kIcmpv4Unreachable = 3;
constexpr uint8_t kIcmpv4AdminProhibited = 13;
constexpr uint8_t kIcmpv6Unreachable = 1;
constexpr uint8_t kIcmpv6AdminProhibited = 1;

}  // namespace

size_t build_icmp_unreachable(std::span<const uint8_t> frame, const ParsedPacket& packet, std::span<uint8_t> out) {
  if (packet.is_later_fragment || (packet.ip_version != 4 && packet.ip_version != 6)) return 0;
  const size_t l2_length = packet.l3_offset;
  if (!reply::l2_header_fits(frame, l2_length) || l2_length == frame.size()) return 0;
  // The original IP packet ends where its payload ends (Ethernet padding is not quoted).
  const size_t ip_end = std::min<size_t>(frame.size(), size_t(packet.payload_offset) + packet.payload_length);
  if (ip_end <= l2_length) return 0;
  const size_t original_length = ip_end - l2_length;
  const bool v4 = packet.ip_version == 4;
  const size_t ip_length = v4 ? kIpv4HeaderLength : kIpv6HeaderLength;
  size_t quoted;
  if (v4) {
    const size_t original_header = size_t(frame[l2_length] & 0x0f) * 4;
    quoted = std::min(original_length, original_header + kIpv4QuotedBeyondHeader);
  } else {
    quoted = std::min(original_length, kIpv6MinimumMtu - kIpv6HeaderLength - kIcmpHeaderLength);
  }
  const size_t total = l2_length + ip_length + kIcmpHeaderLength + quoted;
  if (out.size() < total) return 0;

  // The quote first (memmove: `out` may alias `frame`), then the headers in front of it.
  uint8_t* l2 = out.data();
  uint8_t* ip = l2 + l2_length;
  uint8_t* icmp = ip + ip_length;
  std::memmove(icmp + kIcmpHeaderLength, frame.data() + l2_length, quoted);
  reply::copy_l2_header(frame, l2_length, true, l2);

  const size_t icmp_length = kIcmpHeaderLength + quoted;
  std::memset(icmp, 0, kIcmpHeaderLength);
  std::memset(ip, 0, ip_length);
  if (v4) {
    icmp[0] = kIcmpv4Unreachable;
    icmp[1] = kIcmpv4AdminProhibited;
    store_be16(icmp + 2, checksum_fold(checksum_sum(icmp, icmp_length, 0)));
    ip[0] = 0x45;
    store_be16(ip + 2, uint16_t(ip_length + icmp_length));
    ip[8] = kHopLimit;
    ip[9] = kIpProtoIcmp;
    std::memcpy(ip + 12, packet.dst.bytes, 4);
    std::memcpy(ip + 16, packet.src.bytes, 4);
    store_be16(ip + 10, checksum_fold(checksum_sum(ip, kIpv4HeaderLength, 0)));
  } else {
    icmp[0] = kIcmpv6Unreachable;
    icmp[1] = kIcmpv6AdminProhibited;
    ip[0] = 0x60;
    store_be16(ip + 4, uint16_t(icmp_length));
    ip[6] = kIpProtoIcmpv6;
    ip[7] = kHopLimit;
    std::memcpy(ip + 8, packet.dst.bytes, 16);
    std::memcpy(ip + 24, packet.src.bytes, 16);
    // ICMPv6 sums a pseudo-header: addresses, upper-layer length, next header (RFC 8200 8.1).
    uint32_t sum = checksum_sum(ip + 8, 32, 0) + uint32_t(icmp_length) + kIpProtoIcmpv6;
    store_be16(icmp + 2, checksum_fold(checksum_sum(icmp, icmp_length, sum)));
  }
  return total;
}

}  // namespace sluice

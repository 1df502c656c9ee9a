#include "dataplane/verdict/dns_refusal.h"

#include <cstring>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/dns_query_parser.h"
#include "dataplane/verdict/internet_checksum.h"
#include "dataplane/verdict/reply_frame.h"

namespace sluice {

namespace {

using reply::kHopLimit;
using reply::kIpv4HeaderLength;
using reply::kIpv6HeaderLength;
constexpr size_t kUdpHeaderLength = 8;
constexpr uint16_t kFlagResponse = 0x8000;
constexpr uint16_t kFlagRecursionDesired = 0x0100;
constexpr uint16_t kFlagRecursionAvailable = 0x0080;

}  // namespace

size_t build_dns_refusal(std::span<const uint8_t> frame, const ParsedPacket& packet, size_t question_end,
                         uint8_t rcode, std::span<uint8_t> out) {
  if (packet.is_fragment || packet.l4_protocol != kIpProtoUdp) return 0;
  if (packet.ip_version != 4 && packet.ip_version != 6) return 0;
  const size_t l2_length = packet.l3_offset;
  if (!reply::l2_header_fits(frame, l2_length)) return 0;
  if (question_end < kDnsHeaderLength || question_end > packet.payload_length ||
      size_t(packet.payload_offset) + packet.payload_length > frame.size())
    return 0;
  const bool v4 = packet.ip_version == 4;
  const size_t ip_length = v4 ? kIpv4HeaderLength : kIpv6HeaderLength;
  const size_t udp_length = kUdpHeaderLength + question_end;
  const size_t total = l2_length + ip_length + udp_length;
  if (out.size() < total) return 0;

  // The question first (memmove: `out` may alias `frame`), then the headers in front of it.
  uint8_t* l2 = out.data();
  uint8_t* ip = l2 + l2_length;
  uint8_t* udp = ip + ip_length;
  uint8_t* dns = udp + kUdpHeaderLength;
  std::memmove(dns, frame.data() + packet.payload_offset, question_end);
  reply::copy_l2_header(frame, l2_length, true, l2);

  const uint16_t query_flags = load_be16(dns + 2);
  store_be16(dns + 2, uint16_t(kFlagResponse | (query_flags & kFlagRecursionDesired) | kFlagRecursionAvailable |
                               (rcode & 0x0f)));
  store_be16(dns + 4, 1);
  store_be16(dns + 6, 0);
  store_be16(dns + 8, 0);
  store_be16(dns + 10, 0);

  store_be16(udp, packet.dst_port);
  store_be16(udp + 2, packet.src_port);
  store_be16(udp + 4, uint16_t(udp_length));
  store_be16(udp + 6, 0);

  std::memset(ip, 0, ip_length);
  uint32_t pseudo = 0;
  if (v4) {
    ip[0] = 0x45;
    store_be16(ip + 2, uint16_t(ip_length + udp_length));
    ip[8] = kHopLimit;
    ip[9] = kIpProtoUdp;
    std::memcpy(ip + 12, packet.dst.bytes, 4);
    std::memcpy(ip + 16, packet.src.bytes, 4);
    store_be16(ip + 10, checksum_fold(checksum_sum(ip, kIpv4HeaderLength, 0)));
    pseudo = checksum_sum(ip + 12, 8, 0);
  } else {
    ip[0] = 0x60;
    store_be16(ip + 4, uint16_t(udp_length));
    ip[6] = kIpProtoUdp;
    ip[7] = kHopLimit;
    std::memcpy(ip + 8, packet.dst.bytes, 16);
    std::memcpy(ip + 24, packet.src.bytes, 16);
    pseudo = checksum_sum(ip + 8, 32, 0);
  }
  // The pseudo-header (addresses, protocol, UDP length), then header and payload (RFC 768, RFC 8200 8.1).
  pseudo += uint32_t(kIpProtoUdp) + uint32_t(udp_length);
  uint16_t checksum = checksum_fold(checksum_sum(udp, udp_length, pseudo));
  if (checksum == 0) checksum = 0xffff;  // 0 means "no checksum" over IPv4 and is invalid over IPv6
  store_be16(udp + 6, checksum);
  return total;
}

}  // namespace sluice

#include "dataplane/verdict/tcp_reply_segment.h"

#include <cstring>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/verdict/internet_checksum.h"
#include "dataplane/verdict/reply_frame.h"

namespace sluice::reply {

namespace {

constexpr uint16_t kIpv4DontFragment = 0x4000;

size_t write_ipv4(const TcpSegmentFields& fields, uint8_t* ip) {
  std::memset(ip, 0, kIpv4HeaderLength);
  ip[0] = 0x45;
  store_be16(ip + 2, uint16_t(kIpv4HeaderLength + kTcpHeaderLength));
  store_be16(ip + 6, kIpv4DontFragment);
  ip[8] = kHopLimit;
  ip[9] = kIpProtoTcp;
  std::memcpy(ip + 12, fields.source->bytes, 4);
  std::memcpy(ip + 16, fields.destination->bytes, 4);
  store_be16(ip + 10, checksum_fold(checksum_sum(ip, kIpv4HeaderLength, 0)));
  return kIpv4HeaderLength;
}

size_t write_ipv6(const TcpSegmentFields& fields, uint8_t* ip) {
  std::memset(ip, 0, kIpv6HeaderLength);
  ip[0] = 0x60;
  store_be16(ip + 4, uint16_t(kTcpHeaderLength));
  ip[6] = kIpProtoTcp;
  ip[7] = kHopLimit;
  std::memcpy(ip + 8, fields.source->bytes, 16);
  std::memcpy(ip + 24, fields.destination->bytes, 16);
  return kIpv6HeaderLength;
}

// The pseudo-header (RFC 9293 3.1) binds the segment to the addresses it travels between.
uint32_t pseudo_header_sum(const uint8_t* ip, uint8_t ip_version) {
  if (ip_version == 4) return checksum_sum(ip + 12, 8, 0) + kIpProtoTcp + kTcpHeaderLength;
  return checksum_sum(ip + 8, 32, 0) + kIpProtoTcp + kTcpHeaderLength;
}

}  // namespace

bool tcp_segment_fits(std::span<const uint8_t> frame, const ParsedPacket& packet, std::span<uint8_t> out) {
  if (packet.l4_protocol != kIpProtoTcp || packet.is_later_fragment) return false;
  if (packet.ip_version != 4 && packet.ip_version != 6) return false;
  const size_t l2_length = packet.l3_offset;
  // Only the L2 header is copied from `frame`; a parse that does not fit it is not trusted.
  if (!l2_header_fits(frame, l2_length)) return false;
  const size_t ip_length = packet.ip_version == 4 ? kIpv4HeaderLength : kIpv6HeaderLength;
  return out.size() >= l2_length + ip_length + kTcpHeaderLength;
}

size_t write_tcp_segment(std::span<const uint8_t> frame, const ParsedPacket& packet, bool swap_macs,
                         const TcpSegmentFields& fields, std::span<uint8_t> out) {
  const size_t l2_length = packet.l3_offset;
  uint8_t* l2 = out.data();
  copy_l2_header(frame, l2_length, swap_macs, l2);  // works in place (out over frame) too
  uint8_t* ip = l2 + l2_length;
  uint8_t* tcp = ip + (packet.ip_version == 4 ? write_ipv4(fields, ip) : write_ipv6(fields, ip));
  std::memset(tcp, 0, kTcpHeaderLength);
  store_be16(tcp, fields.source_port);
  store_be16(tcp + 2, fields.destination_port);
  store_be32(tcp + 4, fields.seq);
  store_be32(tcp + 8, fields.ack);
  tcp[12] = uint8_t((kTcpHeaderLength / 4) << 4);
  tcp[13] = fields.flags;
  store_be16(tcp + 14, fields.window);
  const uint32_t sum = checksum_sum(tcp, kTcpHeaderLength, pseudo_header_sum(ip, packet.ip_version));
  store_be16(tcp + 16, checksum_fold(sum));
  return size_t(tcp + kTcpHeaderLength - l2);
}

}  // namespace sluice::reply

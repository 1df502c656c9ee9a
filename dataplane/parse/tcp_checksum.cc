#include "dataplane/parse/tcp_checksum.h"

#include "dataplane/verdict/internet_checksum.h"

namespace sluice {

uint16_t l4_checksum(const IpAddress& source, const IpAddress& destination, uint8_t protocol,
                     std::span<const uint8_t> segment) {
  const size_t address_length = source.family == 4 ? 4 : 16;
  uint32_t sum = checksum_sum(source.bytes, address_length);
  sum = checksum_sum(destination.bytes, address_length, sum);
  // Protocol and length: the IPv4 form (zero, protocol, 16-bit length) and the IPv6 form
  // (32-bit length, three zeros, next header) add up to the same ones' complement sum.
  sum += protocol;
  sum += uint32_t(segment.size() >> 16) + uint32_t(segment.size() & 0xffff);
  return checksum_fold(checksum_sum(segment.data(), segment.size(), sum));
}

bool tcp_checksum_ok(std::span<const uint8_t> frame, const ParsedPacket& packet) {
  if (packet.l4_protocol != kIpProtoTcp || packet.is_fragment) return true;
  const size_t segment_end = size_t(packet.payload_offset) + packet.payload_length;
  if (segment_end > frame.size() || segment_end < packet.l4_offset) return false;
  return l4_checksum(packet.src, packet.dst, kIpProtoTcp,
                     frame.subspan(packet.l4_offset, segment_end - packet.l4_offset)) == 0;
}

}  // namespace sluice

#include "dataplane/nat/address_rewrite.h"

#include <cstring>

#include "dataplane/nat/checksum_update.h"

namespace sluice {

bool rewrite_address(std::span<uint8_t> frame, ParsedPacket& packet, bool source, const IpAddress& to) {
  const uint8_t family = packet.ip_version;
  if ((family != 4 && family != 6) || to.family != family) return false;
  const size_t length = family == 4 ? 4 : 16;
  const size_t at = packet.l3_offset + (family == 4 ? (source ? 12 : 16) : (source ? 8 : 24));
  const size_t end = packet.l3_end <= frame.size() ? packet.l3_end : frame.size();
  if (at + length > end) return false;
  // The checksum a pseudo-header puts the address under, if any.
  uint8_t* l4_sum = nullptr;
  bool udp = false;
  if (!packet.is_later_fragment) {
    size_t sum_at = 0;
    if (packet.l4_protocol == kIpProtoTcp) sum_at = 16;
    else if (packet.l4_protocol == kIpProtoUdp) sum_at = 6, udp = true;
    else if (family == 6 && packet.l4_protocol == kIpProtoIcmpv6) sum_at = 2;
    if (sum_at != 0) {
      if (size_t(packet.l4_offset) + sum_at + 2 > end) return false;
      l4_sum = frame.data() + packet.l4_offset + sum_at;
    }
  }
  uint8_t before[16];
  uint8_t* field = frame.data() + at;
  std::memcpy(before, field, length);
  std::memcpy(field, to.bytes, length);
  if (family == 4) {
    uint8_t* header_sum = frame.data() + packet.l3_offset + 10;
    store_be16(header_sum, checksum_update(load_be16(header_sum), before, field, length));
  }
  if (l4_sum != nullptr && !(udp && load_be16(l4_sum) == 0)) {
    uint16_t updated = checksum_update(load_be16(l4_sum), before, field, length);
    if (updated == 0) updated = 0xffff;  // as snat_translator.cc: 0xffff verifies wherever 0x0000 does
    store_be16(l4_sum, updated);
  }
  (source ? packet.src : packet.dst) = to;
  return true;
}

}  // namespace sluice

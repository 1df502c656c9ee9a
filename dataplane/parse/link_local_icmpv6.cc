#include "dataplane/parse/link_local_icmpv6.h"

#include <cstring>

#include "dataplane/parse/byte_reader.h"

namespace sluice {

namespace {

constexpr uint8_t kMldQuery = 130;
constexpr uint8_t kMldReport = 131;
constexpr uint8_t kMldDone = 132;
constexpr uint8_t kRouterSolicitation = 133;
constexpr uint8_t kRouterAdvertisement = 134;
constexpr uint8_t kNeighbourSolicitation = 135;
constexpr uint8_t kNeighbourAdvertisement = 136;
constexpr uint8_t kRedirect = 137;
constexpr uint8_t kMldv2Report = 143;

constexpr uint8_t kNdHopLimit = 255;  // RFC 4861: proves the sender is on the link
constexpr uint8_t kMldHopLimit = 1;   // RFC 2710/3810
constexpr size_t kMldv1Length = 24;
constexpr size_t kMldv2QueryLength = 28;  // plus 16 bytes a source
constexpr size_t kMldv2RecordHeader = 20;
constexpr size_t kMldv2ReportHeader = 8;

bool is_nd(uint8_t type) { return type >= kRouterSolicitation && type <= kRedirect; }
bool is_mld(uint8_t type) { return (type >= kMldQuery && type <= kMldDone) || type == kMldv2Report; }

bool is_link_local_unicast(const IpAddress& a) { return a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80; }
bool is_link_scope_multicast(const IpAddress& a) { return a.bytes[0] == 0xff && (a.bytes[1] & 0x0f) == 0x02; }

// ff02::1, ff02::2 or ff02::1:ffXX:XXXX.
bool is_nd_multicast(const IpAddress& a) {
  if (a.bytes[0] != 0xff || a.bytes[1] != 0x02) return false;
  for (int i = 2; i < 11; ++i)
    if (a.bytes[i] != 0) return false;
  if (a.bytes[11] == 0x01 && a.bytes[12] == 0xff) return true;  // solicited-node
  if (a.bytes[11] != 0 || a.bytes[12] != 0 || a.bytes[13] != 0 || a.bytes[14] != 0) return false;
  return a.bytes[15] == 1 || a.bytes[15] == 2;
}

size_t nd_fixed_length(uint8_t type) {
  switch (type) {
    case kRouterSolicitation: return 8;
    case kRouterAdvertisement: return 16;
    case kNeighbourSolicitation:
    case kNeighbourAdvertisement: return 24;
    default: return 40;  // redirect
  }
}

// TLV options in units of 8 bytes; a zero length is invalid (RFC 4861 4.6) and the last option
// must end where the message ends.
bool nd_options_fill(const uint8_t* p, size_t length) {
  size_t i = 0;
  while (i < length) {
    if (length - i < 8) return false;
    const size_t option_length = size_t(p[i + 1]) * 8;
    if (option_length == 0 || option_length > length - i) return false;
    i += option_length;
  }
  return true;
}

bool mldv2_records_add_up(const uint8_t* p, size_t length) {
  if (length < kMldv2ReportHeader) return false;
  const size_t records = load_be16(p + 6);
  size_t i = kMldv2ReportHeader;
  for (size_t r = 0; r < records; ++r) {
    if (length - i < kMldv2RecordHeader) return false;
    const size_t record_length = kMldv2RecordHeader + size_t(p[i + 1]) * 4 + size_t(load_be16(p + i + 2)) * 16;
    if (record_length > length - i) return false;
    i += record_length;
  }
  return i == length;
}

bool mld_body_ok(uint8_t type, const uint8_t* p, size_t length) {
  if (type == kMldv2Report) return mldv2_records_add_up(p, length);
  if (length == kMldv1Length) return true;
  if (type != kMldQuery || length < kMldv2QueryLength) return false;
  return length == kMldv2QueryLength + size_t(load_be16(p + 26)) * 16;
}

// A neighbour solicitation or advertisement to a routable unicast address (address resolution
// answered to a global source, unreachability probes) is normal, but a router would carry it on.
// It passes only when it has no byte of its own to carry: the target is the destination (NS) or
// the source (NA), the reserved bits are zero, and the only option is the link-layer address
// (source for NS, target for NA) equal to the frame's own source MAC.
bool is_determined_unicast_nd(std::span<const uint8_t> frame, const ParsedPacket& packet, const uint8_t* p,
                              size_t length) {
  const uint8_t type = packet.icmp_type;
  if (type != kNeighbourSolicitation && type != kNeighbourAdvertisement) return false;
  if (length != 24 && length != 32) return false;
  const IpAddress& expected_target = type == kNeighbourSolicitation ? packet.dst : packet.src;
  if (std::memcmp(p + 8, expected_target.bytes, 16) != 0) return false;
  const uint8_t flag_mask = type == kNeighbourAdvertisement ? 0x1f : 0xff;  // NA: R, S, O may be set
  if ((p[4] & flag_mask) != 0 || p[5] != 0 || p[6] != 0 || p[7] != 0) return false;
  if (length == 24) return true;
  const uint8_t option = type == kNeighbourSolicitation ? 1 : 2;  // source / target link-layer address
  return p[24] == option && p[25] == 1 && std::memcmp(p + 26, frame.data() + 6, 6) == 0;
}

}  // namespace

LinkLocalIcmpv6 classify_link_local_icmpv6(std::span<const uint8_t> frame, const ParsedPacket& packet) {
  if (packet.ip_version != 6 || packet.l4_protocol != kIpProtoIcmpv6 || packet.is_later_fragment)
    return LinkLocalIcmpv6::not_link_control;
  const uint8_t type = packet.icmp_type;
  const bool nd = is_nd(type);
  if (!nd && !is_mld(type)) return LinkLocalIcmpv6::not_link_control;
  // The parser bounds the ICMPv6 message by the IPv6 payload length (no Ethernet padding).
  const size_t length = packet.payload_length;
  const bool in_frame = size_t(packet.l4_offset) + length <= frame.size() && frame.size() >= 12;
  const uint8_t* p = frame.data() + packet.l4_offset;
  const bool on_link = is_link_local_unicast(packet.dst) ||
                       (nd ? is_nd_multicast(packet.dst) : is_link_scope_multicast(packet.dst));
  if (!on_link) {
    const bool determined = nd && in_frame && !packet.is_fragment && packet.icmp_code == 0 &&
                            packet.ttl == kNdHopLimit && packet.dst.bytes[0] != 0xff &&
                            is_determined_unicast_nd(frame, packet, p, length);
    return determined ? LinkLocalIcmpv6::on_link : LinkLocalIcmpv6::off_link;
  }
  if (packet.is_fragment || !in_frame || packet.icmp_code != 0) return LinkLocalIcmpv6::malformed;
  if (nd) {
    const size_t fixed = nd_fixed_length(type);
    if (packet.ttl != kNdHopLimit || length < fixed || !nd_options_fill(p + fixed, length - fixed))
      return LinkLocalIcmpv6::malformed;
    return LinkLocalIcmpv6::on_link;
  }
  if (packet.ttl != kMldHopLimit || !mld_body_ok(type, p, length)) return LinkLocalIcmpv6::malformed;
  return LinkLocalIcmpv6::on_link;
}

}  // namespace sluice

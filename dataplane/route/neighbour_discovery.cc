#include "dataplane/route/neighbour_discovery.h"

#include <cstring>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/link_local_icmpv6.h"
#include "dataplane/parse/tcp_checksum.h"

namespace sluice {

namespace {

constexpr size_t kEthernetHeader = 14;
constexpr size_t kIpv6Header = 40;
constexpr size_t kNdFixed = 24;  // type, code, checksum, flags/reserved, target
constexpr size_t kLinkAddressOption = 8;
constexpr uint8_t kSourceLinkAddress = 1;
constexpr uint8_t kTargetLinkAddress = 2;
constexpr uint8_t kNdHopLimit = 255;
constexpr uint8_t kRouterFlag = 0x80;
constexpr uint8_t kSolicitedFlag = 0x40;
constexpr uint8_t kOverrideFlag = 0x20;

bool is_multicast(const IpAddress& a) { return a.bytes[0] == 0xff; }

bool is_unspecified(const IpAddress& a) {
  for (uint8_t b : a.bytes)
    if (b != 0) return false;
  return true;
}

bool is_loopback(const IpAddress& a) {
  for (int i = 0; i < 15; ++i)
    if (a.bytes[i] != 0) return false;
  return a.bytes[15] == 1;
}

IpAddress all_nodes() {
  IpAddress a;
  a.family = 6;
  a.bytes[0] = 0xff;
  a.bytes[1] = 0x02;
  a.bytes[15] = 1;
  return a;
}

// Reads the options after the fixed part (their lengths already add up: classify checked) and
// keeps the one link-layer address option this message type may carry; others are ignored, as
// RFC 4861 asks. False on a second one, a wrong length, or an address nothing can be sent to.
bool read_link_address(const uint8_t* options, size_t length, uint8_t wanted, NdMessage& out) {
  for (size_t i = 0; i + 2 <= length;) {
    const size_t option_length = size_t(options[i + 1]) * 8;
    if (option_length == 0 || option_length > length - i) return false;  // classify's, again: never loop
    if (options[i] == wanted) {
      if (out.has_link_address || option_length != kLinkAddressOption) return false;
      std::memcpy(out.link_address.bytes, options + i + 2, 6);
      if (out.link_address.is_zero() || out.link_address.is_multicast()) return false;
      out.has_link_address = true;
    }
    i += option_length;
  }
  return true;
}

// Ethernet and IPv6 headers, the NS/NA fixed part with `target` and one link-layer address
// option; the checksum last.
size_t write_nd(std::span<uint8_t> out, uint8_t type, uint8_t flags, const MacAddress& ethernet_destination,
                const MacAddress& own_mac, const IpAddress& source, const IpAddress& destination,
                const IpAddress& target) {
  if (out.size() < kNdFrameLength || source.family != 6 || destination.family != 6 || target.family != 6) return 0;
  uint8_t* p = out.data();
  std::memset(p, 0, kNdFrameLength);
  std::memcpy(p, ethernet_destination.bytes, 6);
  std::memcpy(p + 6, own_mac.bytes, 6);
  store_be16(p + 12, kEtherTypeIpv6);
  uint8_t* ip = p + kEthernetHeader;
  ip[0] = 0x60;
  const size_t icmp_length = kNdFixed + kLinkAddressOption;
  store_be16(ip + 4, uint16_t(icmp_length));
  ip[6] = kIpProtoIcmpv6;
  ip[7] = kNdHopLimit;
  std::memcpy(ip + 8, source.bytes, 16);
  std::memcpy(ip + 24, destination.bytes, 16);
  uint8_t* icmp = ip + kIpv6Header;
  icmp[0] = type;
  icmp[4] = flags;
  std::memcpy(icmp + 8, target.bytes, 16);
  icmp[24] = type == kNeighbourSolicitation ? kSourceLinkAddress : kTargetLinkAddress;
  icmp[25] = 1;  // in units of 8 bytes
  std::memcpy(icmp + 26, own_mac.bytes, 6);
  store_be16(icmp + 2, l4_checksum(source, destination, kIpProtoIcmpv6, {icmp, icmp_length}));
  return kNdFrameLength;
}

}  // namespace

const char* to_string(NdCheck check) {
  switch (check) {
    case NdCheck::ok: return "ok";
    case NdCheck::not_nd: return "not_nd";
    case NdCheck::malformed: return "malformed";
    case NdCheck::bad_checksum: return "bad_checksum";
    case NdCheck::bad_target: return "bad_target";
    case NdCheck::bad_dad: return "bad_dad";
    case NdCheck::bad_link_address: return "bad_link_address";
    case NdCheck::bad_solicited_flag: return "bad_solicited_flag";
    case NdCheck::link_address_mismatch: return "link_address_mismatch";
    case NdCheck::count: break;
  }
  return "unknown";
}

NdCheck read_nd(std::span<const uint8_t> frame, const ParsedPacket& packet, NdMessage& out) {
  out = NdMessage{};
  if (packet.ip_version != 6 || packet.l4_protocol != kIpProtoIcmpv6 || packet.is_later_fragment ||
      (packet.icmp_type != kNeighbourSolicitation && packet.icmp_type != kNeighbourAdvertisement))
    return NdCheck::not_nd;
  // Hop limit 255, code 0, no fragment, the fixed part and an option list that fills the body,
  // a link-scope destination or a unicast one with no byte of its own: bridge mode's checks.
  if (classify_link_local_icmpv6(frame, packet) != LinkLocalIcmpv6::on_link) return NdCheck::malformed;
  const size_t length = packet.payload_length;
  const uint8_t* icmp = frame.data() + packet.l4_offset;  // classify checked it lies in the frame
  out.type = packet.icmp_type;
  out.source = packet.src;
  out.destination = packet.dst;
  out.target.family = 6;
  std::memcpy(out.target.bytes, icmp + 8, 16);
  out.router = icmp[4] & kRouterFlag;
  out.solicited = icmp[4] & kSolicitedFlag;
  out.override_flag = icmp[4] & kOverrideFlag;
  if (l4_checksum(packet.src, packet.dst, kIpProtoIcmpv6, {icmp, length}) != 0) return NdCheck::bad_checksum;
  if (is_multicast(out.target) || is_unspecified(out.target) || is_loopback(out.target)) return NdCheck::bad_target;
  const bool ns = out.type == kNeighbourSolicitation;
  if (!read_link_address(icmp + kNdFixed, length - kNdFixed, ns ? kSourceLinkAddress : kTargetLinkAddress, out))
    return NdCheck::bad_link_address;
  if (ns && is_unspecified(out.source)) {
    // Duplicate address detection (RFC 4861 7.1.1): to the target's solicited-node group only,
    // and without a link-layer address (there is no address yet to answer to).
    if (out.has_link_address || !(out.destination == solicited_node_group(out.target))) return NdCheck::bad_dad;
    return NdCheck::ok;
  }
  if (!ns && out.solicited && is_multicast(out.destination)) return NdCheck::bad_solicited_flag;
  if (out.has_link_address) {
    MacAddress frame_source;
    std::memcpy(frame_source.bytes, frame.data() + 6, 6);
    if (!(out.link_address == frame_source)) return NdCheck::link_address_mismatch;
  }
  return NdCheck::ok;
}

IpAddress solicited_node_group(const IpAddress& address) {
  IpAddress group;
  group.family = 6;
  group.bytes[0] = 0xff;
  group.bytes[1] = 0x02;
  group.bytes[11] = 0x01;
  group.bytes[12] = 0xff;
  std::memcpy(group.bytes + 13, address.bytes + 13, 3);
  return group;
}

MacAddress ipv6_multicast_mac(const IpAddress& group) {
  MacAddress mac{{0x33, 0x33}};
  std::memcpy(mac.bytes + 2, group.bytes + 12, 4);
  return mac;
}

size_t build_neighbour_solicitation(std::span<uint8_t> out, const MacAddress& own_mac, const IpAddress& own_ip,
                                    const IpAddress& target) {
  const IpAddress group = solicited_node_group(target);
  return write_nd(out, kNeighbourSolicitation, 0, ipv6_multicast_mac(group), own_mac, own_ip, group, target);
}

size_t build_neighbour_advertisement_reply(std::span<uint8_t> out, const MacAddress& own_mac,
                                           const IpAddress& own_ip, const NdMessage& solicitation,
                                           const MacAddress& requester_mac) {
  if (is_unspecified(solicitation.source)) {
    const IpAddress group = all_nodes();
    return write_nd(out, kNeighbourAdvertisement, kRouterFlag | kOverrideFlag, ipv6_multicast_mac(group), own_mac,
                    own_ip, group, own_ip);
  }
  const MacAddress destination_mac = solicitation.has_link_address ? solicitation.link_address : requester_mac;
  return write_nd(out, kNeighbourAdvertisement, kRouterFlag | kSolicitedFlag | kOverrideFlag, destination_mac,
                  own_mac, own_ip, solicitation.source, own_ip);
}

size_t build_unsolicited_neighbour_advertisement(std::span<uint8_t> out, const MacAddress& own_mac,
                                                 const IpAddress& own_ip) {
  const IpAddress group = all_nodes();
  return write_nd(out, kNeighbourAdvertisement, kRouterFlag | kOverrideFlag, ipv6_multicast_mac(group), own_mac,
                  own_ip, group, own_ip);
}

}  // namespace sluice

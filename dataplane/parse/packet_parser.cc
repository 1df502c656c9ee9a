#include "dataplane/parse/packet_parser.h"

#include <cstring>

#include "dataplane/parse/byte_reader.h"

namespace sluice {

namespace {

constexpr size_t kEthernetHeaderLength = 14;
constexpr size_t kVlanTagLength = 4;
constexpr size_t kIpv4MinHeaderLength = 20;
constexpr size_t kIpv6HeaderLength = 40;
constexpr size_t kIpv6FragmentHeaderLength = 8;
constexpr size_t kIpv6MinExtensionLength = 8;
constexpr size_t kTcpMinHeaderLength = 20;
constexpr size_t kUdpHeaderLength = 8;
constexpr size_t kIcmpMinLength = 4;
constexpr size_t kArpBodyLength = 28;  // Ethernet/IPv4 ARP: 8 fixed bytes, two MAC/IPv4 pairs

// ParsedPacket offsets are 16-bit. No real frame is longer, so bytes past this are ignored rather
// than letting an offset wrap.
constexpr size_t kMaxFrameLength = 65535;

constexpr uint16_t kIpv4MoreFragments = 0x2000;
constexpr uint16_t kIpv4FragmentOffsetMask = 0x1fff;

constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6AuthenticationHeader = 51;
constexpr uint8_t kIpv6DestinationOptions = 60;

constexpr uint8_t kIpv4OptionEnd = 0;
constexpr uint8_t kIpv4OptionNoOperation = 1;
constexpr uint8_t kIpv4OptionLooseSourceRoute = 131;
constexpr uint8_t kIpv4OptionStrictSourceRoute = 137;
constexpr uint8_t kIpv6RoutingType0 = 0;

void read_address(const uint8_t* p, uint8_t family, IpAddress& address) {
  address.family = family;
  std::memcpy(address.bytes, p, family == 4 ? 4 : 16);
}

// Marks everything from `l4` to `end` as the payload; used where no L4 header is read.
void set_opaque_payload(size_t l4, size_t end, ParsedPacket& out) {
  out.l4_offset = uint16_t(l4);
  out.payload_offset = uint16_t(l4);
  out.payload_length = uint16_t(end - l4);
}

// `end` is where the IP packet ends, so Ethernet padding never counts as payload.
PacketParseError parse_l4(std::span<const uint8_t> frame, size_t l4, size_t end, ParsedPacket& out) {
  set_opaque_payload(l4, end, out);
  const size_t available = end - l4;
  const uint8_t* p = frame.data() + l4;

  if (out.l4_protocol == kIpProtoTcp) {
    if (available < kTcpMinHeaderLength) return PacketParseError::truncated_tcp;
    const size_t header_length = size_t(p[12] >> 4) * 4;
    if (header_length < kTcpMinHeaderLength || header_length > available) return PacketParseError::bad_tcp_header;
    out.src_port = load_be16(p);
    out.dst_port = load_be16(p + 2);
    out.tcp_seq = load_be32(p + 4);
    out.tcp_ack = load_be32(p + 8);
    out.tcp_flags = p[13];
    out.payload_offset = uint16_t(l4 + header_length);
    out.payload_length = uint16_t(available - header_length);
    return PacketParseError::none;
  }
  if (out.l4_protocol == kIpProtoUdp) {
    if (available < kUdpHeaderLength) return PacketParseError::truncated_udp;
    out.src_port = load_be16(p);
    out.dst_port = load_be16(p + 2);
    out.payload_offset = uint16_t(l4 + kUdpHeaderLength);
    out.payload_length = uint16_t(available - kUdpHeaderLength);
    return PacketParseError::none;
  }
  const bool is_icmp = (out.ip_version == 4 && out.l4_protocol == kIpProtoIcmp) ||
                       (out.ip_version == 6 && out.l4_protocol == kIpProtoIcmpv6);
  if (is_icmp) {
    if (available < kIcmpMinLength) return PacketParseError::truncated_icmp;
    out.icmp_type = p[0];
    out.icmp_code = p[1];
  }
  return PacketParseError::none;
}

// Walks the IPv4 options (bytes 20..IHL*4) for a source route; a list whose lengths do not add up
// is malformed (a parser further on could read it differently).
PacketParseError parse_ipv4_options(const uint8_t* options, size_t length, ParsedPacket& out) {
  size_t i = 0;
  while (i < length) {
    const uint8_t type = options[i];
    if (type == kIpv4OptionEnd) break;
    if (type == kIpv4OptionNoOperation) {
      ++i;
      continue;
    }
    if (length - i < 2 || options[i + 1] < 2 || options[i + 1] > length - i) return PacketParseError::bad_ipv4_options;
    if (type == kIpv4OptionLooseSourceRoute || type == kIpv4OptionStrictSourceRoute) out.source_routed = true;
    i += options[i + 1];
  }
  return PacketParseError::none;
}

PacketParseError parse_ipv4(std::span<const uint8_t> frame, size_t l3, ParsedPacket& out) {
  const size_t available = frame.size() - l3;
  if (available < kIpv4MinHeaderLength) return PacketParseError::truncated_ipv4;
  const uint8_t* p = frame.data() + l3;
  const size_t header_length = size_t(p[0] & 0x0f) * 4;
  if ((p[0] >> 4) != 4 || header_length < kIpv4MinHeaderLength) return PacketParseError::bad_ipv4_header;
  const size_t total_length = load_be16(p + 2);
  if (total_length < header_length) return PacketParseError::bad_ipv4_header;
  if (total_length > available) return PacketParseError::truncated_ipv4;

  out.ip_version = 4;
  out.l3_end = uint16_t(l3 + total_length);
  out.ttl = p[8];
  out.l4_protocol = p[9];
  read_address(p + 12, 4, out.src);
  read_address(p + 16, 4, out.dst);

  const uint16_t fragment = load_be16(p + 6);
  const uint16_t fragment_offset = fragment & kIpv4FragmentOffsetMask;
  out.is_fragment = (fragment & kIpv4MoreFragments) != 0 || fragment_offset != 0;
  if (out.is_fragment) {
    out.fragment_id = load_be16(p + 4);
    out.fragment_offset = uint16_t(fragment_offset * 8);
    out.more_fragments = (fragment & kIpv4MoreFragments) != 0;
  }
  if (header_length > kIpv4MinHeaderLength) {
    out.ip_options = true;
    PacketParseError error = parse_ipv4_options(p + kIpv4MinHeaderLength, header_length - kIpv4MinHeaderLength, out);
    if (error != PacketParseError::none) return error;
  }
  const size_t l4 = l3 + header_length;
  const size_t end = l3 + total_length;
  if (fragment_offset != 0) {
    // Later fragments carry no L4 header: reading one there would misread payload as ports.
    out.is_later_fragment = true;
    set_opaque_payload(l4, end, out);
    return PacketParseError::none;
  }
  return parse_l4(frame, l4, end, out);
}

bool is_ipv6_extension(uint8_t next_header) {
  return next_header == kIpv6HopByHop || next_header == kIpv6Routing || next_header == kIpv6Fragment ||
         next_header == kIpv6AuthenticationHeader || next_header == kIpv6DestinationOptions;
}

PacketParseError parse_ipv6(std::span<const uint8_t> frame, size_t l3, ParsedPacket& out) {
  const size_t available = frame.size() - l3;
  if (available < kIpv6HeaderLength) return PacketParseError::truncated_ipv6;
  const uint8_t* p = frame.data() + l3;
  if ((p[0] >> 4) != 6) return PacketParseError::bad_ipv6_header;
  const size_t payload_length = load_be16(p + 4);
  if (kIpv6HeaderLength + payload_length > available) return PacketParseError::truncated_ipv6;

  out.ip_version = 6;
  out.l3_end = uint16_t(l3 + kIpv6HeaderLength + payload_length);
  out.ttl = p[7];
  read_address(p + 8, 6, out.src);
  read_address(p + 24, 6, out.dst);

  uint8_t next_header = p[6];
  size_t position = l3 + kIpv6HeaderLength;
  const size_t end = position + payload_length;
  // A bounded walk: a long chain is a classic way to push the L4 header out of a parser's reach.
  for (int count = 0; is_ipv6_extension(next_header); ++count) {
    if (count == kMaxIpv6ExtensionHeaders) return PacketParseError::ipv6_extension_chain;
    if (end - position < kIpv6MinExtensionLength) return PacketParseError::ipv6_extension_chain;
    const uint8_t* h = frame.data() + position;
    size_t length = (size_t(h[1]) + 1) * 8;
    if (next_header == kIpv6Fragment) length = kIpv6FragmentHeaderLength;
    if (next_header == kIpv6AuthenticationHeader) length = size_t(h[1]) * 4 + 8;
    if (length > end - position) return PacketParseError::ipv6_extension_chain;
    if (next_header == kIpv6Routing && h[2] == kIpv6RoutingType0) out.source_routed = true;
    if (next_header != kIpv6Fragment) out.ip_options = true;
    const bool later_fragment = next_header == kIpv6Fragment && (load_be16(h + 2) >> 3) != 0;
    if (next_header == kIpv6Fragment) {
      out.is_fragment = true;
      out.fragment_id = load_be32(h + 4);
      out.fragment_offset = uint16_t(load_be16(h + 2) & 0xfff8);
      out.more_fragments = (h[3] & 1) != 0;
    }
    next_header = h[0];
    position += length;
    if (later_fragment) {
      out.is_later_fragment = true;
      out.l4_protocol = next_header;
      set_opaque_payload(position, end, out);
      return PacketParseError::none;
    }
  }
  out.l4_protocol = next_header;
  return parse_l4(frame, position, end, out);
}

// Ethernet/IPv4 ARP and nothing else: the body's fixed fields, then at most zero padding of a
// short frame. A frame that merely says 0x0806 must not carry other bytes past the appliance.
PacketParseError parse_arp(std::span<const uint8_t> frame, size_t l3, ParsedPacket& out) {
  if (frame.size() - l3 < kArpBodyLength) return PacketParseError::bad_arp;
  const uint8_t* p = frame.data() + l3;
  const uint16_t operation = load_be16(p + 6);
  if (load_be16(p) != 1 || load_be16(p + 2) != kEtherTypeIpv4 || p[4] != 6 || p[5] != 4 ||
      (operation != 1 && operation != 2))
    return PacketParseError::bad_arp;
  const size_t body_end = l3 + kArpBodyLength;
  out.l3_end = uint16_t(body_end);
  if (frame.size() == body_end) return PacketParseError::none;
  if (frame.size() > kMaxPaddedArpFrame) return PacketParseError::arp_trailing_data;
  for (size_t i = body_end; i < frame.size(); ++i)
    if (frame[i] != 0) return PacketParseError::arp_trailing_data;
  return PacketParseError::none;
}

}  // namespace

PacketParseError parse_packet(std::span<const uint8_t> frame, ParsedPacket& out) {
  out = ParsedPacket{};
  if (frame.size() > kMaxFrameLength) frame = frame.first(kMaxFrameLength);
  if (frame.size() < kEthernetHeaderLength) return PacketParseError::truncated_ethernet;

  size_t offset = kEthernetHeaderLength;
  uint16_t ethertype = load_be16(frame.data() + 12);
  while (ethertype == kEtherTypeVlan || ethertype == kEtherTypeQinQ) {
    if (out.vlan_count == kMaxVlanTags) return PacketParseError::too_many_vlan_tags;
    if (frame.size() - offset < kVlanTagLength) return PacketParseError::truncated_vlan;
    ethertype = load_be16(frame.data() + offset + 2);
    offset += kVlanTagLength;
    ++out.vlan_count;
  }
  out.ethertype = ethertype;
  out.l3_offset = uint16_t(offset);

  switch (ethertype) {
    case kEtherTypeIpv4:
      return parse_ipv4(frame, offset, out);
    case kEtherTypeIpv6:
      return parse_ipv6(frame, offset, out);
    case kEtherTypeArp:
      return parse_arp(frame, offset, out);
    default:
      return PacketParseError::unsupported_ethertype;
  }
}

const char* to_string(PacketParseError error) {
  switch (error) {
    case PacketParseError::none: return "none";
    case PacketParseError::truncated_ethernet: return "truncated_ethernet";
    case PacketParseError::truncated_vlan: return "truncated_vlan";
    case PacketParseError::too_many_vlan_tags: return "too_many_vlan_tags";
    case PacketParseError::unsupported_ethertype: return "unsupported_ethertype";
    case PacketParseError::truncated_ipv4: return "truncated_ipv4";
    case PacketParseError::bad_ipv4_header: return "bad_ipv4_header";
    case PacketParseError::truncated_ipv6: return "truncated_ipv6";
    case PacketParseError::bad_ipv6_header: return "bad_ipv6_header";
    case PacketParseError::ipv6_extension_chain: return "ipv6_extension_chain";
    case PacketParseError::truncated_tcp: return "truncated_tcp";
    case PacketParseError::bad_tcp_header: return "bad_tcp_header";
    case PacketParseError::truncated_udp: return "truncated_udp";
    case PacketParseError::truncated_icmp: return "truncated_icmp";
    case PacketParseError::bad_ipv4_options: return "bad_ipv4_options";
    case PacketParseError::bad_arp: return "bad_arp";
    case PacketParseError::arp_trailing_data: return "arp_trailing_data";
    case PacketParseError::count: break;
  }
  return "unknown";
}

}  // namespace sluice

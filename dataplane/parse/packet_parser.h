// Ethernet / 802.1Q / QinQ / IPv4 / IPv6 / TCP / UDP / ICMP parsing over a byte span.
// Pure: no DPDK, no allocation; never reads outside the span it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/ip_address.h"

namespace sluice {

enum class PacketParseError : uint8_t {
  none = 0,
  truncated_ethernet,
  truncated_vlan,
  too_many_vlan_tags,     // more than kMaxVlanTags
  unsupported_ethertype,  // not IPv4, IPv6, ARP
  truncated_ipv4,
  bad_ipv4_header,        // version != 4, IHL < 5, total length < header
  truncated_ipv6,
  bad_ipv6_header,        // version != 6
  ipv6_extension_chain,   // truncated or longer than kMaxIpv6ExtensionHeaders
  truncated_tcp,
  bad_tcp_header,         // data offset < 5 or beyond the packet
  truncated_udp,
  truncated_icmp,
  bad_ipv4_options,       // an option whose length is < 2 or runs past the header
  bad_arp,                // not Ethernet/IPv4 ARP (htype 1, ptype 0x0800, lengths 6/4, op 1 or 2)
  arp_trailing_data,      // bytes after the ARP body that are not zero padding of a short frame
  count  // not an error: the number of values, for counter arrays
};

inline constexpr int kMaxVlanTags = 2;
inline constexpr int kMaxIpv6ExtensionHeaders = 8;
// An ARP frame may be followed by zero padding up to this length (the 60-byte Ethernet minimum
// without FCS, plus the 4 bytes some stacks pad to); anything else after the body is data.
inline constexpr size_t kMaxPaddedArpFrame = 64;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;  // 802.1Q tag
inline constexpr uint16_t kEtherTypeQinQ = 0x88A8;  // 802.1ad outer tag

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

struct ParsedPacket {
  uint16_t ethertype = 0;  // after VLAN tags: 0x0800, 0x86DD or 0x0806 (ARP)
  uint8_t vlan_count = 0;
  uint8_t ip_version = 0;  // 4, 6, or 0 for ARP
  uint16_t l3_offset = 0;
  uint16_t l4_offset = 0;
  // Where the L3 packet ends in the frame: the IPv4 total length, the IPv6 header and payload
  // length, the ARP body. Bytes after it (Ethernet padding, a trailer) belong to no layer.
  uint16_t l3_end = 0;
  uint16_t payload_offset = 0;  // L4 payload (TCP/UDP); l4_offset for other protocols
  uint16_t payload_length = 0;  // bounded by the IP length, not by Ethernet padding
  uint8_t l4_protocol = 0;      // IP protocol number (after IPv6 extension headers)
  bool is_fragment = false;        // any IPv4/IPv6 fragment
  bool is_later_fragment = false;  // a fragment with offset != 0: no L4 header in it
  uint32_t fragment_id = 0;        // IPv4 identification or IPv6 fragment header id (fragments only)
  uint16_t fragment_offset = 0;    // fragments only: where its bytes (from l4_offset) lie in the datagram, in bytes
  bool more_fragments = false;     // fragments only: the MF / M flag (false on the last one)
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;  // host byte order; 0 for portless protocols
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;  // host byte order
  uint32_t tcp_ack = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint8_t ttl = 0;              // IPv4 TTL or IPv6 hop limit
  // An IPv4 loose/strict source route option (LSRR 131, SSRR 137; RFC 7126) or an IPv6 type-0
  // routing header (RFC 5095): the packet names its own path, which only a sender that wants
  // its bytes carried somewhere else needs.
  bool source_routed = false;
  // IPv4 options (a header longer than 20 bytes) or an IPv6 extension header other than a
  // fragment header (hop-by-hop or destination options, routing, authentication): bytes no
  // layer the appliance judges reads, which reach the destination.
  bool ip_options = false;
};

// Parses a whole Ethernet frame. On an error `out` holds what was parsed before it.
PacketParseError parse_packet(std::span<const uint8_t> frame, ParsedPacket& out);

const char* to_string(PacketParseError error);

}  // namespace sluice

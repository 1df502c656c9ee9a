#include "dataplane/route/routed_owner.h"

#include <cstring>
#include <utility>

#include "dataplane/nat/hash_mix.h"
#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/packet_parser.h"

namespace sluice {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint8_t kIpv6HopByHop = 0, kIpv6Routing = 43, kIpv6Fragment = 44, kIpv6Authentication = 51,
                  kIpv6DestinationOptions = 60;
constexpr uint8_t kIcmpEchoRequest = 8, kIcmpEchoReply = 0;
constexpr uint8_t kIcmpv6EchoRequest = 128, kIcmpv6EchoReply = 129;
constexpr uint8_t kNdFirstType = 133, kNdLastType = 137;
constexpr uint8_t kInsidePort = 0;  // Side::inside's routed port index

IpAddress address_at(const uint8_t* at, uint8_t family) {
  IpAddress address;
  address.family = family;
  std::memcpy(address.bytes, at, family == 4 ? 4 : 16);
  return address;
}

uint64_t hash_address(uint64_t hash, const IpAddress& address) {
  for (int at = 0; at < (address.family == 4 ? 4 : 16); at += 8) {
    uint64_t word = 0;
    std::memcpy(&word, address.bytes + at, address.family == 4 ? 4 : 8);
    hash = mix64(hash ^ word);
  }
  return hash;
}

uint16_t worker_of_hash(uint64_t hash, uint16_t workers) {
  return uint16_t((uint64_t(uint32_t(hash >> 32)) * workers) >> 32);
}

bool inside_host(const IpAddress& address, const RoutingTables& tables) {
  if (tables.owner_of(address) != kNoPort) return false;
  const RouteResult route = tables.lookup(address);
  return route.route && route.route->port == kInsidePort;
}

// The owner of the pair by the inside-host rule (see the header); symmetric in a and b.
uint16_t owner_of_pair(const IpAddress& a, const IpAddress& b, const RoutedOwnerRules& rules) {
  const bool a_inside = inside_host(a, *rules.tables);
  const bool b_inside = inside_host(b, *rules.tables);
  if (a_inside != b_inside) return worker_of_hash(hash_address(0x1d, a_inside ? a : b), rules.workers);
  const IpAddress* first = &a;
  const IpAddress* second = &b;
  if (std::memcmp(first->bytes, second->bytes, sizeof first->bytes) > 0) std::swap(first, second);
  return worker_of_hash(hash_address(hash_address(0x2e, *first), *second), rules.workers);
}

bool is_snat_address(const IpAddress& address, const RoutedOwnerRules& rules) {
  for (const IpAddress& snat : rules.snat_addresses)
    if (snat == address) return true;
  return false;
}

bool is_ipv6_extension(uint8_t next_header) {
  return next_header == kIpv6HopByHop || next_header == kIpv6Routing || next_header == kIpv6Fragment ||
         next_header == kIpv6Authentication || next_header == kIpv6DestinationOptions;
}

// One IP packet as the rule reads it: its addresses and, where its first bytes hold them, the
// transport protocol and where its transport header starts.
struct Packet {
  uint8_t family = 0;
  IpAddress source, destination;
  uint8_t protocol = 0;
  const uint8_t* l4 = nullptr;  // null: a later fragment, or headers this rule does not walk
  uint32_t l4_left = 0;
};

// An IP packet at `ip` with `left` bytes; false when too short or not IP.
bool read_packet(const uint8_t* ip, uint32_t left, uint8_t family, Packet& packet) {
  if (family == 4) {
    if (left < 20 || (ip[0] >> 4) != 4) return false;
    const uint32_t header = uint32_t(ip[0] & 0x0f) * 4;
    packet.family = 4;
    packet.source = address_at(ip + 12, 4);
    packet.destination = address_at(ip + 16, 4);
    packet.protocol = ip[9];
    const bool later_fragment = (load_be16(ip + 6) & 0x1fff) != 0;
    if (header >= 20 && header <= left && !later_fragment) {
      packet.l4 = ip + header;
      packet.l4_left = left - header;
    }
    return true;
  }
  if (left < 40 || (ip[0] >> 4) != 6) return false;
  packet.family = 6;
  packet.source = address_at(ip + 8, 6);
  packet.destination = address_at(ip + 24, 6);
  packet.protocol = ip[6];
  uint32_t at = 40;
  // The extension headers the packet parser walks (packet_parser.cc), as far as it walks them:
  // SNAT translates by the ports behind them, so the owner must read the same ports. A first
  // fragment still carries them; a later fragment, or a chain the parser refuses, has none here.
  for (int count = 0; is_ipv6_extension(packet.protocol); ++count) {
    if (count == kMaxIpv6ExtensionHeaders || left < at + 8) return true;
    const uint8_t* header = ip + at;
    uint32_t length = (uint32_t(header[1]) + 1) * 8;
    if (packet.protocol == kIpv6Fragment) length = 8;
    if (packet.protocol == kIpv6Authentication) length = uint32_t(header[1]) * 4 + 8;
    if (length > left - at) return true;
    if (packet.protocol == kIpv6Fragment && (load_be16(header + 2) & 0xfff8) != 0) return true;
    packet.protocol = header[0];
    at += length;
  }
  packet.l4 = ip + at;
  packet.l4_left = left - at;
  return true;
}

bool is_icmp_error(const Packet& packet) {
  if (!packet.l4 || packet.l4_left < 8) return false;
  const uint8_t type = packet.l4[0];
  if (packet.family == 4) return packet.protocol == kIpProtoIcmp && (type == 3 || type == 11 || type == 12);
  return packet.protocol == kIpProtoIcmpv6 && type >= 1 && type <= 4;
}

// The SNAT port a return packet to a SNAT address carries, or -1: a TCP/UDP destination port,
// an echo reply's identifier.
int32_t return_port(const Packet& packet) {
  if (!packet.l4) return -1;
  if ((packet.protocol == kIpProtoTcp || packet.protocol == kIpProtoUdp) && packet.l4_left >= 4) return load_be16(packet.l4 + 2);
  const bool echo_reply = (packet.family == 4 && packet.protocol == kIpProtoIcmp && packet.l4_left >= 6 && packet.l4[0] == kIcmpEchoReply) ||
                          (packet.family == 6 && packet.protocol == kIpProtoIcmpv6 && packet.l4_left >= 6 && packet.l4[0] == kIcmpv6EchoReply);
  return echo_reply ? load_be16(packet.l4 + 4) : -1;
}

// The SNAT port of the packet an ICMP error quotes (the appliance sent it from a SNAT address):
// its TCP/UDP source port or its echo request's identifier; -1 when the quote does not say.
int32_t quoted_port(const Packet& quote) {
  if (!quote.l4) return -1;
  if ((quote.protocol == kIpProtoTcp || quote.protocol == kIpProtoUdp) && quote.l4_left >= 2) return load_be16(quote.l4);
  const bool echo_request = (quote.family == 4 && quote.protocol == kIpProtoIcmp && quote.l4_left >= 6 && quote.l4[0] == kIcmpEchoRequest) ||
                            (quote.family == 6 && quote.protocol == kIpProtoIcmpv6 && quote.l4_left >= 6 && quote.l4[0] == kIcmpv6EchoRequest);
  return echo_request ? load_be16(quote.l4 + 4) : -1;
}

}  // namespace

uint16_t routed_owner(const uint8_t* frame, uint32_t length, const RoutedOwnerRules& rules) {
  if (rules.workers <= 1 || !rules.tables || length < 14) return 0;
  const uint16_t ether_type = load_be16(frame + 12);
  if (ether_type != kEtherIpv4 && ether_type != kEtherIpv6) return 0;  // ARP, tags, the rest
  Packet packet;
  if (!read_packet(frame + 14, length - 14, ether_type == kEtherIpv4 ? 4 : 6, packet)) return 0;
  if (packet.family == 6 && packet.protocol == kIpProtoIcmpv6 && packet.l4 && packet.l4_left >= 1 &&
      packet.l4[0] >= kNdFirstType && packet.l4[0] <= kNdLastType)
    return 0;  // neighbour discovery: worker 0 answers it
  const bool to_snat = !rules.snat_addresses.empty() && is_snat_address(packet.destination, rules);
  if (is_icmp_error(packet)) {
    Packet quote;
    const bool fragmented = packet.family == 4 && (load_be16(frame + 14 + 6) & 0x3fff) != 0;
    if (!fragmented && read_packet(packet.l4 + 8, packet.l4_left - 8, packet.family, quote)) {
      if (to_snat) {
        const int32_t port = quoted_port(quote);
        const int32_t worker = port < 0 ? -1 : rules.slices.worker_of(uint16_t(port));
        if (worker >= 0 && worker < rules.workers) return uint16_t(worker);
      }
      return owner_of_pair(quote.source, quote.destination, rules);
    }
  } else if (to_snat) {
    const int32_t port = return_port(packet);
    const int32_t worker = port < 0 ? -1 : rules.slices.worker_of(uint16_t(port));
    if (worker >= 0 && worker < rules.workers) return uint16_t(worker);
  }
  return owner_of_pair(packet.source, packet.destination, rules);
}

}  // namespace sluice

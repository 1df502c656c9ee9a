#include "dataplane/route/arp.h"

#include <cstring>

#include "dataplane/parse/byte_reader.h"

namespace sluice {

namespace {

constexpr size_t kEthernetHeader = 14;
constexpr size_t kArpBody = 28;
constexpr MacAddress kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

IpAddress ipv4_at(const uint8_t* p) {
  IpAddress address;
  address.family = 4;
  std::memcpy(address.bytes, p, 4);
  return address;
}

MacAddress mac_at(const uint8_t* p) {
  MacAddress mac;
  std::memcpy(mac.bytes, p, 6);
  return mac;
}

bool is_unusable_sender_ip(const IpAddress& a) {
  const uint8_t first = a.bytes[0];
  const bool limited_broadcast = first == 255 && a.bytes[1] == 255 && a.bytes[2] == 255 && a.bytes[3] == 255;
  return first == 127 || first >= 224 || limited_broadcast;  // loopback, multicast and class E
}

// Ethernet header and ARP body for Ethernet/IPv4, zero padding after it.
size_t write_arp(std::span<uint8_t> out, uint16_t operation, const MacAddress& ethernet_destination,
                 const MacAddress& sender_mac, const IpAddress& sender_ip, const MacAddress& target_mac,
                 const IpAddress& target_ip) {
  if (out.size() < kArpFrameLength || sender_ip.family != 4 || target_ip.family != 4) return 0;
  uint8_t* p = out.data();
  std::memset(p, 0, kArpFrameLength);
  std::memcpy(p, ethernet_destination.bytes, 6);
  std::memcpy(p + 6, sender_mac.bytes, 6);
  store_be16(p + 12, kEtherTypeArp);
  uint8_t* arp = p + kEthernetHeader;
  store_be16(arp, 1);  // hardware: Ethernet
  store_be16(arp + 2, kEtherTypeIpv4);
  arp[4] = 6;
  arp[5] = 4;
  store_be16(arp + 6, operation);
  std::memcpy(arp + 8, sender_mac.bytes, 6);
  std::memcpy(arp + 14, sender_ip.bytes, 4);
  std::memcpy(arp + 18, target_mac.bytes, 6);
  std::memcpy(arp + 24, target_ip.bytes, 4);
  return kArpFrameLength;
}

}  // namespace

const char* to_string(ArpCheck check) {
  switch (check) {
    case ArpCheck::ok: return "ok";
    case ArpCheck::not_arp: return "not_arp";
    case ArpCheck::sender_mac_mismatch: return "sender_mac_mismatch";
    case ArpCheck::bad_sender_mac: return "bad_sender_mac";
    case ArpCheck::bad_sender_ip: return "bad_sender_ip";
    case ArpCheck::count: break;
  }
  return "unknown";
}

ArpCheck read_arp(std::span<const uint8_t> frame, const ParsedPacket& packet, ArpMessage& out) {
  out = ArpMessage{};
  // parse_packet set l3_end only on an ARP body it accepted; a caller that passes another
  // packet, or a frame shorter than what was parsed, gets not_arp instead of an over-read.
  if (packet.ethertype != kEtherTypeArp || packet.ip_version != 0 ||
      size_t(packet.l3_offset) + kArpBody != packet.l3_end || packet.l3_end > frame.size() ||
      packet.l3_offset < kEthernetHeader)
    return ArpCheck::not_arp;
  const uint8_t* arp = frame.data() + packet.l3_offset;
  const uint16_t operation = load_be16(arp + 6);
  if (load_be16(arp) != 1 || load_be16(arp + 2) != kEtherTypeIpv4 || arp[4] != 6 || arp[5] != 4 ||
      (operation != kArpRequest && operation != kArpReply))
    return ArpCheck::not_arp;
  out.operation = operation;
  out.sender_mac = mac_at(arp + 8);
  out.sender_ip = ipv4_at(arp + 14);
  out.target_mac = mac_at(arp + 18);
  out.target_ip = ipv4_at(arp + 24);
  if (out.sender_mac.is_zero() || out.sender_mac.is_multicast()) return ArpCheck::bad_sender_mac;
  if (!(out.sender_mac == mac_at(frame.data() + 6))) return ArpCheck::sender_mac_mismatch;
  if (is_unusable_sender_ip(out.sender_ip)) return ArpCheck::bad_sender_ip;
  return ArpCheck::ok;
}

size_t build_arp_request(std::span<uint8_t> out, const MacAddress& own_mac, const IpAddress& own_ip,
                         const IpAddress& target_ip) {
  return write_arp(out, kArpRequest, kBroadcast, own_mac, own_ip, MacAddress{}, target_ip);
}

size_t build_arp_reply(std::span<uint8_t> out, const MacAddress& own_mac, const IpAddress& own_ip,
                       const ArpMessage& request) {
  return write_arp(out, kArpReply, request.sender_mac, own_mac, own_ip, request.sender_mac, request.sender_ip);
}

size_t build_gratuitous_arp(std::span<uint8_t> out, const MacAddress& own_mac, const IpAddress& own_ip) {
  return write_arp(out, kArpRequest, kBroadcast, own_mac, own_ip, MacAddress{}, own_ip);
}

}  // namespace sluice

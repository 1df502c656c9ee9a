// ARP (RFC 826) for routed mode: reading a request or reply that parse_packet accepted, and
// building the requests, replies and gratuitous announcements the appliance sends itself.
// Pure: no DPDK, no allocation; the builders write into a buffer the caller owns, so the worker
// can answer a request in place and the control thread can build into a vector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/ip_address.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/route/mac_address.h"

namespace sluice {

inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;
// What the builders write: Ethernet (14) and the ARP body (28), zero-padded to the 60-byte
// Ethernet minimum (without FCS) so that no NIC has to pad it.
inline constexpr size_t kArpFrameLength = 60;

struct ArpMessage {
  uint16_t operation = 0;  // kArpRequest or kArpReply
  MacAddress sender_mac;
  IpAddress sender_ip;  // family 4; 0.0.0.0 in an RFC 5227 probe
  MacAddress target_mac;
  IpAddress target_ip;
};

enum class ArpCheck : uint8_t {
  ok = 0,
  not_arp,              // parse_packet did not accept it as ARP
  sender_mac_mismatch,  // the ARP sender MAC is not the frame's source MAC: a proxy or a lie
  bad_sender_mac,       // a multicast, broadcast or zero sender MAC: nothing can be sent to it
  bad_sender_ip,        // a multicast, broadcast (255.255.255.255) or loopback sender address
  count  // not a value: the number of values
};

const char* to_string(ArpCheck check);

// Reads the ARP body of `frame`, which parse_packet accepted into `packet` (error none, ethertype
// ARP: the hardware and protocol types, lengths and operation are already checked there), and
// says whether its sender may be believed. On anything but `ok` the fields of `out` are those
// read, for counting, and must not be learned or answered.
ArpCheck read_arp(std::span<const uint8_t> frame, const ParsedPacket& packet, ArpMessage& out);

// True for an RFC 5227 probe (sender 0.0.0.0): answered when it asks for an own address, never
// learned.
inline bool is_arp_probe(const ArpMessage& message) {
  return message.sender_ip.bytes[0] == 0 && message.sender_ip.bytes[1] == 0 && message.sender_ip.bytes[2] == 0 &&
         message.sender_ip.bytes[3] == 0;
}

// Each returns the frame's length (kArpFrameLength), or 0 when `out` is shorter than that or an
// address is not IPv4.
//
// A request for `target_ip` from `own_mac`/`own_ip`, to the broadcast address.
size_t build_arp_request(std::span<uint8_t> out, const MacAddress& own_mac, const IpAddress& own_ip,
                         const IpAddress& target_ip);
// The reply to `request` (which asked for `own_ip`): from `own_mac`, to the requester's MAC. To a
// probe (sender 0.0.0.0) the target address stays 0.0.0.0, as RFC 5227 expects.
size_t build_arp_reply(std::span<uint8_t> out, const MacAddress& own_mac, const IpAddress& own_ip,
                       const ArpMessage& request);
// A gratuitous ARP (an RFC 5227 announcement: a broadcast request whose sender and target address
// are both `own_ip`), so that neighbours and switches learn the appliance's MAC at start.
size_t build_gratuitous_arp(std::span<uint8_t> out, const MacAddress& own_mac, const IpAddress& own_ip);

}  // namespace sluice

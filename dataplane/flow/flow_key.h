// A 5-tuple in canonical order, so that both directions of a connection find one entry.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/parse/packet_parser.h"

namespace sluice {

struct FlowKey {
  uint8_t address_a[16];
  uint8_t address_b[16];
  uint16_t port_a;
  uint16_t port_b;
  uint8_t family;
  uint8_t protocol;
  uint8_t padding[2];  // zeroed: the hash reads every byte
};
static_assert(sizeof(FlowKey) == 40);

// Fills `key` from a parsed packet; returns true when the packet's source is endpoint A.
inline bool make_flow_key(const ParsedPacket& packet, FlowKey& key) {
  std::memset(&key, 0, sizeof key);
  int order = std::memcmp(packet.src.bytes, packet.dst.bytes, 16);
  bool source_is_a = order < 0 || (order == 0 && packet.src_port <= packet.dst_port);
  const auto& a = source_is_a ? packet.src : packet.dst;
  const auto& b = source_is_a ? packet.dst : packet.src;
  std::memcpy(key.address_a, a.bytes, 16);
  std::memcpy(key.address_b, b.bytes, 16);
  key.port_a = source_is_a ? packet.src_port : packet.dst_port;
  key.port_b = source_is_a ? packet.dst_port : packet.src_port;
  key.family = packet.ip_version;
  key.protocol = packet.l4_protocol;
  return source_is_a;
}

}  // namespace sluice

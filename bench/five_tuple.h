// The stateful baseline's flow key: an IPv4 5-tuple in 16 bytes, as DPDK's l3fwd exact-match
// keys its table. Both directions of a flow make the same key (the lower endpoint first), so a
// table holds one key a flow, as a stateful firewall's does. Fields are in network byte order,
// copied from the packet as they are: ordering them as raw numbers is as good as any order.
#pragma once

#include <cstdint>
#include <cstring>

namespace sluice::bench {

struct FiveTuple {
  uint32_t ip_low = 0;
  uint32_t ip_high = 0;
  uint16_t port_low = 0;
  uint16_t port_high = 0;
  uint8_t protocol = 0;
  uint8_t padding[3] = {};  // zeroed: the hash reads every byte

  bool operator==(const FiveTuple& other) const { return std::memcmp(this, &other, sizeof *this) == 0; }
  bool operator<(const FiveTuple& other) const { return std::memcmp(this, &other, sizeof *this) < 0; }
};
static_assert(sizeof(FiveTuple) == 16);

// Network-order fields (as read from a packet) → the flow's key, whichever way the packet went.
inline FiveTuple canonical_five_tuple(uint32_t src_ip, uint16_t src_port, uint32_t dst_ip, uint16_t dst_port,
                                      uint8_t protocol) {
  FiveTuple key;
  bool src_first = src_ip < dst_ip || (src_ip == dst_ip && src_port <= dst_port);
  key.ip_low = src_first ? src_ip : dst_ip;
  key.ip_high = src_first ? dst_ip : src_ip;
  key.port_low = src_first ? src_port : dst_port;
  key.port_high = src_first ? dst_port : src_port;
  key.protocol = protocol;
  return key;
}

// The key of an Ethernet + IPv4 + TCP/UDP frame; false for anything else (no VLAN tags, no IPv6:
// the benchmark's traffic has neither). Reads only the headers, as l3fwd does.
inline bool five_tuple_of_frame(const uint8_t* frame, uint32_t length, FiveTuple& key) {
  constexpr uint32_t kEthernet = 14;
  if (length < kEthernet + 20 || frame[12] != 0x08 || frame[13] != 0x00) return false;
  const uint8_t* ip = frame + kEthernet;
  uint32_t header = uint32_t(ip[0] & 0x0f) * 4;
  uint8_t protocol = ip[9];
  if ((ip[0] >> 4) != 4 || header < 20 || (protocol != 6 && protocol != 17) || length < kEthernet + header + 4)
    return false;
  uint32_t src_ip, dst_ip;
  uint16_t src_port, dst_port;
  std::memcpy(&src_ip, ip + 12, 4);
  std::memcpy(&dst_ip, ip + 16, 4);
  std::memcpy(&src_port, ip + header, 2);
  std::memcpy(&dst_port, ip + header + 2, 2);
  key = canonical_five_tuple(src_ip, src_port, dst_ip, dst_port, protocol);
  return true;
}

}  // namespace sluice::bench

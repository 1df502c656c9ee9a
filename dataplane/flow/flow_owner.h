// Which worker owns a frame's flow when the NIC cannot tell (a port with fewer receive queues
// than workers, or without RSS): a symmetric hash of the IP address pair, so that both
// directions of a flow, and every fragment of its datagrams (a non-first fragment carries no
// ports), land on the same worker. ICMP errors hash on the packet they quote, so that an error
// about a flow reaches the worker that holds it. Pure (no DPDK): tested and fuzzed on byte arrays.
#pragma once

#include <cstdint>

namespace sluice {

// The symmetric hash of `frame` (Ethernet, up to two VLAN tags, IPv4 or IPv6): equal for a→b
// and b→a. Frames that are not IP, or too short to hold both addresses, hash to 0 (worker 0:
// ARP and neighbour discovery are not flows).
uint32_t flow_owner_hash(const uint8_t* frame, uint32_t length);

// The worker among `workers` (≥ 1) that owns `frame`'s flow.
inline uint16_t flow_owner(const uint8_t* frame, uint32_t length, uint16_t workers) {
  if (workers <= 1) return 0;
  return uint16_t((uint64_t(flow_owner_hash(frame, length)) * workers) >> 32);
}

}  // namespace sluice

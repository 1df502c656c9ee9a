// What the frames Sluice builds itself (TCP resets, ICMP errors) share: header sizes, the hop
// limit they leave with, and the L2 header copied from the packet they answer.
// Pure: no DPDK, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace sluice::reply {

inline constexpr size_t kMacLength = 6;
inline constexpr size_t kIpv4HeaderLength = 20;
inline constexpr size_t kIpv6HeaderLength = 40;
inline constexpr uint8_t kHopLimit = 64;

// True when `l2_length` bytes of `frame` can be an Ethernet header (with any VLAN tags).
inline bool l2_header_fits(std::span<const uint8_t> frame, size_t l2_length) {
  return l2_length >= 2 * kMacLength + 2 && l2_length <= frame.size();
}

// Copies the first `l2_length` bytes of `frame` (Ethernet and every VLAN tag) to `out`, with the
// MAC addresses swapped when `swap_macs` (a reply to the sender). `out` may alias `frame`.
inline void copy_l2_header(std::span<const uint8_t> frame, size_t l2_length, bool swap_macs, uint8_t* out) {
  uint8_t macs[2 * kMacLength];
  std::memcpy(macs, frame.data(), sizeof macs);
  std::memmove(out, frame.data(), l2_length);
  if (swap_macs) {
    std::memcpy(out, macs + kMacLength, kMacLength);
    std::memcpy(out + kMacLength, macs, kMacLength);
  }
}

}  // namespace sluice::reply

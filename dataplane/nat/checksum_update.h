// Incremental update of an Internet checksum when a few 16-bit aligned bytes of what it covers
// change (RFC 1624, equation 3: HC' = ~(~HC + ~m + m')). NAT rewrites an address or a port and
// must not sum the whole segment again for it. Pure, inline, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice {

// The checksum field's new value (host order) after the bytes `before` became `after` (`length`
// even, both starting at an even offset of the covered data).
inline uint16_t checksum_update(uint16_t field, const uint8_t* before, const uint8_t* after, size_t length) {
  uint32_t sum = uint16_t(~field);
  for (size_t i = 0; i + 1 < length; i += 2) {
    sum += uint16_t(~((uint32_t(before[i]) << 8) | before[i + 1]));
    sum += (uint32_t(after[i]) << 8) | after[i + 1];
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

inline uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline void store_be16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
}

}  // namespace sluice

// The Internet checksum (RFC 1071) for the frames Sluice builds: its own TCP resets, and the
// probes and benchmark traffic built outside the packet path. Pure; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice {

// Ones' complement sum of big-endian 16-bit words, not yet folded; chain calls through `sum`
// (pseudo-header, then header and payload).
inline uint32_t checksum_sum(const uint8_t* data, size_t length, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < length; i += 2) sum += (uint32_t(data[i]) << 8) | data[i + 1];
  if (length % 2 != 0) sum += uint32_t(data[length - 1]) << 8;
  return sum;
}

// The checksum field's value for a finished sum.
inline uint16_t checksum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace sluice

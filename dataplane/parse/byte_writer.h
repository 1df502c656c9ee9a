// Appending big-endian fields to a growing byte vector: for frames built off the packet path
// (sluicectl explain's probes, benchmark traffic, test frames). The packet path writes into
// fixed buffers with store_be16 (byte_reader.h) instead.
#pragma once

#include <cstdint>
#include <vector>

namespace sluice {

using ByteVector = std::vector<uint8_t>;

inline void put8(ByteVector& out, uint8_t value) { out.push_back(value); }
inline void put16(ByteVector& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}
inline void put24(ByteVector& out, uint32_t value) {
  put8(out, static_cast<uint8_t>(value >> 16));
  put16(out, static_cast<uint16_t>(value));
}
inline void put32(ByteVector& out, uint32_t value) {
  put16(out, static_cast<uint16_t>(value >> 16));
  put16(out, static_cast<uint16_t>(value));
}
// Overwrites a big-endian 16-bit field already in `out` (a length or checksum filled in late).
inline void set16(ByteVector& out, size_t at, uint16_t value) {
  out[at] = static_cast<uint8_t>(value >> 8);
  out[at + 1] = static_cast<uint8_t>(value);
}

}  // namespace sluice

// QUIC variable-length integers (RFC 9000 16): the two high bits of the first byte give the length
// (1, 2, 4 or 8 bytes), the rest is the value, big-endian. Pure, bounds-checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sluice {

// 2^62 - 1: no varint, and so no stream offset or length, exceeds it.
constexpr uint64_t kQuicVarintMax = (uint64_t(1) << 62) - 1;

// Reads the varint at `pos` of `data` and advances `pos` past it; false (pos unchanged) when its
// bytes run past the end of `data`.
inline bool read_quic_varint(std::span<const uint8_t> data, size_t& pos, uint64_t& value) {
  if (pos >= data.size()) return false;
  const size_t length = size_t(1) << (data[pos] >> 6);
  if (length > data.size() - pos) return false;
  value = data[pos] & 0x3f;
  for (size_t i = 1; i < length; ++i) value = (value << 8) | data[pos + i];
  pos += length;
  return true;
}

}  // namespace sluice

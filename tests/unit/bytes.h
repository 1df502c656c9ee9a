// Big-endian byte building for the unit tests' hand-made frames and records.
#pragma once

#include <cstdint>
#include <vector>

namespace sluice::test {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}
inline void put24(Bytes& out, uint32_t value) {
  out.push_back(static_cast<uint8_t>(value >> 16));
  put16(out, static_cast<uint16_t>(value));
}
inline void put32(Bytes& out, uint32_t value) {
  put16(out, static_cast<uint16_t>(value >> 16));
  put16(out, static_cast<uint16_t>(value));
}

// `a` followed by `b`. Bytes is a std type, so callers outside sluice::test need `using test::operator+;`.
inline Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace sluice::test

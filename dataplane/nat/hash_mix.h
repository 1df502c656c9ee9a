// The 64-bit finalising mix of MurmurHash3 (its published constants): spreads every input bit
// over the whole word, so that NAT's open-addressing tables can take their slot from the low
// bits of a hash of addresses and ports. Pure, no state.
#pragma once

#include <cstdint>

namespace sluice {

inline uint64_t mix64(uint64_t value) {
  value ^= value >> 33;
  value *= 0xff51afd7ed558ccdULL;
  value ^= value >> 33;
  value *= 0xc4ceb9fe1a85ec53ULL;
  value ^= value >> 33;
  return value;
}

}  // namespace sluice

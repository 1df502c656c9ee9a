// Counts flows refused for a full flow table once each, not once per packet: a client retries
// its SYN (Linux after 1, 3, 7, 15… s) and every retry finds the table as full. A direct-mapped
// cache in fixed memory remembers the hashes of recently refused keys; a retry within
// kMemorySeconds of the last refusal of its 5-tuple is not counted again.
//
// Approximate, by design: two refused flows whose hashes share a slot evict each other (each then
// counts again on its next retry, so the count errs high under many distinct refusals), a new
// connection on a 5-tuple refused in the last kMemorySeconds counts with the old one, and two keys
// with the same 64-bit hash count once. Worker-private; no allocation.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/flow/flow_key.h"

namespace sluice {

class RefusedFlows {
 public:
  static constexpr uint32_t kSlots = 256;
  static constexpr uint64_t kMemorySeconds = 75;  // above Linux's longest gap between SYN retries (64 s)

  void init(uint64_t tsc_hz) { memory_tsc_ = kMemorySeconds * tsc_hz; }

  // Notes a refusal of `key`; true when it is the first of its flow (to be counted).
  bool first_refusal(const FlowKey& key, uint64_t now_tsc) {
    const uint64_t hash = hash_of(key) | 1;  // never 0: 0 marks an empty slot
    Slot& slot = slots_[hash % kSlots];
    const bool seen = slot.hash == hash && now_tsc >= slot.tsc && now_tsc - slot.tsc <= memory_tsc_;
    slot.hash = hash;
    slot.tsc = now_tsc;
    return !seen;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint64_t tsc = 0;  // the last refusal
  };

  static uint64_t hash_of(const FlowKey& key) {
    uint64_t words[sizeof(FlowKey) / 8];
    std::memcpy(words, &key, sizeof words);
    uint64_t hash = 0;
    for (uint64_t word : words) {
      hash = (hash ^ word) * 0x9e3779b97f4a7c15ull;
      hash ^= hash >> 29;
    }
    return hash;
  }

  uint64_t memory_tsc_ = 0;
  Slot slots_[kSlots];
};

}  // namespace sluice

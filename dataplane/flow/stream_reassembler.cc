#include "dataplane/flow/stream_reassembler.h"

#include <algorithm>
#include <cstring>

namespace sluice {

void StreamReassembler::init(uint32_t slot_count, uint32_t slot_bytes) {
  slot_bytes_ = slot_bytes;
  states_.assign(slot_count, State{});
  free_slots_.resize(slot_count);
  for (uint32_t i = 0; i < slot_count; ++i) free_slots_[i] = int32_t(slot_count - 1 - i);
  free_count_ = slot_count;
  // new[] without () leaves the bytes uninitialised: untouched slots cost no resident memory.
  storage_.reset(new uint8_t[size_t(slot_count) * slot_bytes]);
}

int32_t StreamReassembler::acquire(uint32_t base_seq) {
  if (free_count_ == 0) return kNoReassemblySlot;
  int32_t slot = free_slots_[--free_count_];
  State& state = states_[size_t(slot)];
  state.base_seq = base_seq;
  state.range_count = 0;
  return slot;
}

void StreamReassembler::release(int32_t slot) {
  if (slot < 0 || size_t(slot) >= states_.size()) return;
  free_slots_[free_count_++] = slot;
}

ReassemblyResult StreamReassembler::add(int32_t slot, uint32_t seq, std::span<const uint8_t> bytes, uint32_t bound) {
  State& state = states_[size_t(slot)];
  bound = std::min(bound, slot_bytes_);
  // Sequence arithmetic is modulo 2^32: a segment "before" the base has a negative offset.
  int64_t offset = int32_t(seq - state.base_seq);
  if (offset < 0) {
    if (uint64_t(-offset) >= bytes.size()) return ReassemblyResult::ok;  // wholly before the message
    bytes = bytes.subspan(size_t(-offset));
    offset = 0;
  }
  if (bytes.empty()) return ReassemblyResult::ok;
  if (uint64_t(offset) + bytes.size() > bound) return ReassemblyResult::beyond_bound;
  const uint32_t begin = uint32_t(offset);
  const uint32_t end = begin + uint32_t(bytes.size());
  uint8_t* data = bytes_of(slot);

  // Bytes already held must agree: a retransmission repeats them, an attacker rewrites them
  // (the server may keep either copy, so which one we judged would be a guess).
  for (int i = 0; i < state.range_count; ++i) {
    const Range& held = state.ranges[i];
    uint32_t overlap_begin = std::max(begin, held.begin);
    uint32_t overlap_end = std::min(end, held.end);
    if (overlap_begin < overlap_end &&
        std::memcmp(data + overlap_begin, bytes.data() + (overlap_begin - begin), overlap_end - overlap_begin) != 0)
      return ReassemblyResult::conflict;
  }

  // Merge [begin, end) into the sorted ranges; touching ranges become one.
  Range merged{begin, end};
  Range kept[kMaxReassemblyRanges + 1];
  int kept_count = 0;
  bool placed = false;
  for (int i = 0; i < state.range_count; ++i) {
    const Range& held = state.ranges[i];
    if (held.end < merged.begin) {
      kept[kept_count++] = held;
    } else if (merged.end < held.begin) {
      if (!placed) kept[kept_count++] = merged, placed = true;
      kept[kept_count++] = held;
    } else {
      merged.begin = std::min(merged.begin, held.begin);
      merged.end = std::max(merged.end, held.end);
    }
  }
  if (!placed) kept[kept_count++] = merged;
  if (kept_count > kMaxReassemblyRanges) return ReassemblyResult::too_many_ranges;

  std::memcpy(data + begin, bytes.data(), bytes.size());
  std::copy(kept, kept + kept_count, state.ranges);
  state.range_count = uint8_t(kept_count);
  return ReassemblyResult::ok;
}

std::span<const uint8_t> StreamReassembler::contiguous(int32_t slot) const {
  const State& state = states_[size_t(slot)];
  if (state.range_count == 0 || state.ranges[0].begin != 0) return {};
  return {bytes_of(slot), state.ranges[0].end};
}

uint32_t StreamReassembler::bytes_held(int32_t slot) const {
  const State& state = states_[size_t(slot)];
  uint32_t total = 0;
  for (int i = 0; i < state.range_count; ++i) total += state.ranges[i].end - state.ranges[i].begin;
  return total;
}

}  // namespace sluice

// Puts back together the first bytes a client sends on a TCP stream (a TLS ClientHello or an
// HTTP request head) when they arrive in several segments: in order, out of order,
// retransmitted or overlapping. Only flows whose first segment did not complete the message
// take a slot, so the common single-segment case costs nothing.
//
// Worker-private: the owning worker is the only reader and writer. All memory is allocated by
// init() on the control thread; the packet path never allocates.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace sluice {

enum class ReassemblyResult : uint8_t {
  ok = 0,
  conflict,         // the segment overlaps bytes already received and disagrees with them
  beyond_bound,     // a byte at or past the message bound (the message would be too large)
  too_many_ranges,  // more than kMaxReassemblyRanges separate holes-and-islands
};

inline constexpr int kMaxReassemblyRanges = 16;
inline constexpr int32_t kNoReassemblySlot = -1;

class StreamReassembler {
 public:
  // Control thread, before the worker starts: `slot_count` streams in flight at once, each up
  // to `slot_bytes` long.
  void init(uint32_t slot_count, uint32_t slot_bytes);

  // Packet path. A slot for a stream whose byte 0 has sequence number `base_seq`;
  // kNoReassemblySlot when every slot is taken.
  int32_t acquire(uint32_t base_seq);
  void release(int32_t slot);

  // Adds the segment starting at `seq`. Bytes before the base are ignored (a retransmission
  // of what came before the message). `bound` (≤ slot_bytes) is the message's size limit.
  ReassemblyResult add(int32_t slot, uint32_t seq, std::span<const uint8_t> bytes, uint32_t bound);

  // The bytes received from the base without a gap.
  std::span<const uint8_t> contiguous(int32_t slot) const;
  uint32_t base_seq(int32_t slot) const { return states_[size_t(slot)].base_seq; }
  // How many bytes of the message the slot holds, gaps left out: grows exactly when add() took
  // a byte it did not have.
  uint32_t bytes_held(int32_t slot) const;

  uint32_t slot_bytes() const { return slot_bytes_; }
  uint32_t slots_in_use() const { return uint32_t(states_.size() - free_count_); }
  uint32_t slot_count() const { return uint32_t(states_.size()); }

 private:
  struct Range {
    uint32_t begin;  // offsets from the base, [begin, end)
    uint32_t end;
  };
  struct State {
    uint32_t base_seq = 0;
    uint8_t range_count = 0;
    Range ranges[kMaxReassemblyRanges];  // sorted, disjoint, not touching
  };
  uint8_t* bytes_of(int32_t slot) { return storage_.get() + size_t(slot) * slot_bytes_; }
  const uint8_t* bytes_of(int32_t slot) const { return storage_.get() + size_t(slot) * slot_bytes_; }

  uint32_t slot_bytes_ = 0;
  std::vector<State> states_;
  std::vector<int32_t> free_slots_;  // a stack of free slot numbers; [0, free_count_) are valid
  uint32_t free_count_ = 0;
  std::unique_ptr<uint8_t[]> storage_;  // slot_count × slot_bytes; pages touched only when used
};

}  // namespace sluice

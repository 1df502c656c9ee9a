// What the feeder offers the worker: one stream of mbufs per port, in order. A packet that must
// not reach the worker before a packet of the other port (a SYN-ACK before its SYN was taken in)
// carries a gate: the number of the other stream's packets the worker must have dequeued first.
// The worker loop serves the inside port, then the outside port, one burst each, so "dequeued
// from the other ring" is enough to keep a connection's packets in order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "bench/five_tuple.h"
#include "bench/traffic.h"
#include "dataplane/worker/worker_counters.h"

struct rte_mbuf;

namespace sluice::bench {

// The frames of a finite schedule, back to back in host memory. The feeder copies each into a
// recycled mbuf just before it is offered, as a NIC's DMA fills its rx ring: the buffers the
// worker reads stay few and warm, and the frames themselves are read in order.
class FrameArena {
 public:
  // `copy_bytes`: how much of the frame the worker can read (0 = all). An established packet's
  // payload is never read, so only its headers need to be written into the buffer.
  uint32_t add(const Bytes& frame, uint16_t copy_bytes = 0) {
    offsets_.push_back(bytes_.size());
    lengths_.push_back(static_cast<uint16_t>(frame.size()));
    uint16_t copied = copy_bytes ? std::min<uint16_t>(copy_bytes, static_cast<uint16_t>(frame.size()))
                                 : static_cast<uint16_t>(frame.size());
    copy_lengths_.push_back(copied);
    bytes_.insert(bytes_.end(), frame.begin(), frame.begin() + copied);
    return static_cast<uint32_t>(lengths_.size() - 1);
  }
  const uint8_t* data(uint32_t frame) const { return bytes_.data() + offsets_[frame]; }
  uint16_t length(uint32_t frame) const { return lengths_[frame]; }
  uint16_t copy_length(uint32_t frame) const { return copy_lengths_[frame]; }
  size_t size() const { return lengths_.size(); }
  size_t bytes() const { return bytes_.size(); }

 private:
  std::vector<uint8_t> bytes_;
  std::vector<size_t> offsets_;
  std::vector<uint16_t> lengths_;
  std::vector<uint16_t> copy_lengths_;
};

struct Stream {
  std::vector<rte_mbuf*> packets;  // cyclic schedules: the recycled mbufs themselves
  std::vector<uint32_t> frames;    // finite schedules: frames of the arena, in order
  std::vector<uint64_t> gates;     // empty, or one a frame, non-decreasing
};

struct Schedule {
  Stream streams[kSideCount];  // indexed by Side: what enters the inside / outside port
  // Established traffic only: forwarded packets come back and are fed again, in the same order,
  // until `cyclic_offer` packets entered each port. Nothing may be dropped in a cyclic schedule.
  bool cyclic = false;
  uint64_t cyclic_offer[kSideCount] = {};
  // Cyclic only: rewrites packets just before they are fed again, so that a few thousand
  // recycled buffers (a NIC's rx ring and mempool cache) carry many more flows. Called on the
  // feeder lcore with the stream position of packets[0]; it writes the packets as a NIC's DMA
  // would, so the worker finds them in the shared cache, not in its own.
  void (*restamp)(const void* context, int side, uint64_t position, rte_mbuf* const* packets, unsigned count) = nullptr;
  const void* restamp_context = nullptr;
  // Cyclic only: the key of every flow the restamp writes, for the stateful baseline's table
  // (a finite schedule's keys are read from its frames).
  std::vector<FiveTuple> flow_keys;

  const FrameArena* arena = nullptr;  // finite schedules

  uint64_t offered(int side) const { return cyclic ? cyclic_offer[side] : streams[side].frames.size(); }
  uint64_t offered() const { return offered(0) + offered(1); }
};

// Builds a finite schedule from frames placed on a common timeline ("slots"): each side's
// stream is its packets sorted by slot, and dependencies across sides become gates.
class ScheduleBuilder {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  // Adds `frame` to the arena; returns the packet's handle. `after` is the handle of a packet of
  // the other side that the worker must have taken in before this one.
  uint32_t add(Side side, double slot, const Bytes& frame, uint32_t after = kNone, uint16_t copy_bytes = 0);
  // The schedule refers to this builder's arena: keep the builder while the schedule is used.
  Schedule build() const;
  size_t size() const { return items_.size(); }
  const FrameArena& arena() const { return arena_; }

 private:
  struct Item {
    double slot;
    uint32_t frame;
    uint32_t after;
    Side side;
  };
  std::vector<Item> items_;
  FrameArena arena_;
};

}  // namespace sluice::bench

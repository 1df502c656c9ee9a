// The pieces of a message under reassembly, held until its flow's verdict. While a TLS/HTTP flow
// is undecided nothing but the message being judged may leave, and not even that before the
// verdict: a piece forwarded early is a byte the server (or whoever listens on the path) gets
// whatever the verdict. So the mbufs of the pieces stay here, next to the reassembly slot whose
// bytes they carry, and leave in sequence order on an allow (or a DRY_RUN denial), or are freed
// on a deny. The same class holds a pending QUIC flow's Initial datagrams (all at one offset:
// they leave in arrival order) and the IP fragments of a datagram being reassembled.
//
// Allocation-free: the mbufs are the received ones; the table of pieces is allocated by init()
// on the control thread. Bounded three ways: pieces a slot (kMaxHeldSegments), frame bytes a
// slot, and mbufs a worker (so that stalled flows cannot drain the receive pool). Worker-private.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

struct rte_mbuf;

namespace sluice {

inline constexpr int kMaxHeldSegments = 16;

// Pieces taken out of a slot on the packet path, before the verdict that settles them is known
// (the follow stage gives a judged message's slot back): they leave ahead of the packet at hand
// when its flow passes, else are freed with it. Per packet, on the stack: one slot's worth.
struct ReleasedPieces {
  rte_mbuf* mbufs[kMaxHeldSegments];
  uint16_t count = 0;
};

class HeldSegments {
 public:
  // Control thread: `slot_count` as the reassembler's, `slot_bytes` frame bytes a slot,
  // `worker_mbufs` held at once over all slots.
  void init(uint32_t slot_count, uint32_t slot_bytes, uint32_t worker_mbufs);

  // Packet path. Holds `mbuf` (`frame_bytes` long) whose payload starts `offset` bytes after the
  // message's first byte; false when a bound is reached (the caller drops it).
  bool hold(int32_t slot, rte_mbuf* mbuf, int32_t offset, uint32_t frame_bytes);
  // True when hold() would take a piece of `frame_bytes` into `slot`.
  bool fits(int32_t slot, uint32_t frame_bytes, uint32_t pieces = 1) const {
    if (!valid(slot) || total_ + pieces > worker_mbufs_) return false;
    const Slot& held = slots_[size_t(slot)];
    return held.count + pieces <= kMaxHeldSegments && held.bytes + frame_bytes <= slot_bytes_;
  }
  // True when `pieces` more of `frame_bytes` exceed the slot's own bounds (whatever the worker's):
  // a message in more pieces than a hold takes, which waiting cannot fix.
  bool slot_full(int32_t slot, uint32_t frame_bytes, uint32_t pieces = 1) const {
    if (!valid(slot)) return pieces > uint32_t(kMaxHeldSegments);
    const Slot& held = slots_[size_t(slot)];
    return held.count + pieces > kMaxHeldSegments || held.bytes + frame_bytes > slot_bytes_;
  }
  // The piece at the lowest offset (nullptr when none): a datagram's first fragment.
  rte_mbuf* first(int32_t slot) const {
    return valid(slot) && slots_[size_t(slot)].count ? slots_[size_t(slot)].pieces[0].mbuf : nullptr;
  }
  // That piece's offset from the message's first byte (0 when none): where the far end's next
  // byte is while every piece of the slot is held.
  int32_t first_offset(int32_t slot) const {
    return valid(slot) && slots_[size_t(slot)].count ? slots_[size_t(slot)].pieces[0].offset : 0;
  }
  // Moves the slot's pieces to `out` in sequence order (arrival order among equals); returns how
  // many. `out` has room for kMaxHeldSegments.
  uint16_t release_to(int32_t slot, rte_mbuf** out);
  // Frees the slot's pieces; returns how many.
  uint16_t discard(int32_t slot);

  uint16_t held(int32_t slot) const { return valid(slot) ? slots_[size_t(slot)].count : 0; }
  uint32_t held_total() const { return total_; }

 private:
  struct Piece {
    rte_mbuf* mbuf;
    int32_t offset;
  };
  struct Slot {
    uint16_t count = 0;
    uint32_t bytes = 0;
    Piece pieces[kMaxHeldSegments];
  };
  bool valid(int32_t slot) const { return slot >= 0 && size_t(slot) < slots_.size(); }

  std::vector<Slot> slots_;
  uint32_t slot_bytes_ = 0;
  uint32_t worker_mbufs_ = 0;
  uint32_t total_ = 0;
};

}  // namespace sluice

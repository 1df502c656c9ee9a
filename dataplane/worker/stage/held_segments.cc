#include "dataplane/worker/stage/held_segments.h"

#include <rte_mbuf.h>

namespace sluice {

void HeldSegments::init(uint32_t slot_count, uint32_t slot_bytes, uint32_t worker_mbufs) {
  slots_.assign(slot_count, Slot{});
  slot_bytes_ = slot_bytes;
  worker_mbufs_ = worker_mbufs;
  total_ = 0;
}

bool HeldSegments::hold(int32_t slot, rte_mbuf* mbuf, int32_t offset, uint32_t frame_bytes) {
  if (!fits(slot, frame_bytes)) return false;
  Slot& held = slots_[size_t(slot)];
  // Insertion keeps the pieces sorted by offset; a later piece at the same offset goes after.
  int i = held.count;
  while (i > 0 && held.pieces[i - 1].offset > offset) {
    held.pieces[i] = held.pieces[i - 1];
    --i;
  }
  held.pieces[i] = Piece{mbuf, offset};
  ++held.count;
  held.bytes += frame_bytes;
  ++total_;
  return true;
}

uint16_t HeldSegments::release_to(int32_t slot, rte_mbuf** out) {
  if (!valid(slot)) return 0;
  Slot& held = slots_[size_t(slot)];
  const uint16_t count = held.count;
  for (uint16_t i = 0; i < count; ++i) out[i] = held.pieces[i].mbuf;
  total_ -= count;
  held.count = 0;
  held.bytes = 0;
  return count;
}

uint16_t HeldSegments::discard(int32_t slot) {
  if (!valid(slot)) return 0;
  Slot& held = slots_[size_t(slot)];
  const uint16_t count = held.count;
  for (uint16_t i = 0; i < count; ++i) rte_pktmbuf_free(held.pieces[i].mbuf);
  total_ -= count;
  held.count = 0;
  held.bytes = 0;
  return count;
}

}  // namespace sluice

#include "bench/schedule.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace sluice::bench {

uint32_t ScheduleBuilder::add(Side side, double slot, const Bytes& frame, uint32_t after, uint16_t copy_bytes) {
  // A gate on a strictly earlier slot of the other side can never deadlock the two streams:
  // everything a packet waits for sits, by induction on slots, ahead of it.
  if (after != kNone && (after >= items_.size() || items_[after].side == side || !(items_[after].slot < slot)))
    throw std::logic_error("a gate must name a packet of the other side at an earlier slot");
  items_.push_back({slot, arena_.add(frame, copy_bytes), after, side});
  return static_cast<uint32_t>(items_.size() - 1);
}

Schedule ScheduleBuilder::build() const {
  Schedule schedule;
  schedule.arena = &arena_;
  std::vector<uint32_t> order(items_.size());
  std::iota(order.begin(), order.end(), 0u);
  // Stable: packets of one slot keep the order they were added in (SYN before its ACK).
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return items_[a].slot < items_[b].slot; });
  std::vector<uint64_t> position(items_.size());
  for (uint32_t handle : order) {
    auto& stream = schedule.streams[static_cast<int>(items_[handle].side)];
    position[handle] = stream.frames.size();
    stream.frames.push_back(items_[handle].frame);
  }
  bool any_gate = std::any_of(items_.begin(), items_.end(), [](const Item& item) { return item.after != kNone; });
  if (!any_gate) return schedule;
  for (auto& stream : schedule.streams) stream.gates.assign(stream.frames.size(), 0);
  for (uint32_t handle = 0; handle < items_.size(); ++handle) {
    const Item& item = items_[handle];
    if (item.after == kNone) continue;
    if (position[item.after] >= schedule.streams[static_cast<int>(items_[item.after].side)].frames.size())
      throw std::logic_error("gate out of range");
    schedule.streams[static_cast<int>(item.side)].gates[position[handle]] = position[item.after] + 1;
  }
  // A stream is fed in order, so a packet waits for every gate before it as well.
  for (auto& stream : schedule.streams)
    for (size_t i = 1; i < stream.gates.size(); ++i) stream.gates[i] = std::max(stream.gates[i], stream.gates[i - 1]);
  return schedule;
}

}  // namespace sluice::bench

#include "dataplane/policy/recent_answers.h"

namespace sluice {

void RecentAnswerRow::publish(const RecentAnswer& answer) {
  Slot& slot = slots_[next_];
  next_ = (next_ + 1) % kRecentAnswers;
  const uint32_t version = slot.version.load(std::memory_order_relaxed);
  slot.version.store(version + 1, std::memory_order_relaxed);  // odd: readers skip the slot
  std::atomic_thread_fence(std::memory_order_release);         // … before any byte below changes
  slot.answer = answer;
  slot.version.store(version + 2, std::memory_order_release);
  latest_.store(answer.sequence, std::memory_order_release);
}

bool RecentAnswerRow::find(uint64_t consumed, uint16_t policy_slot, const IpAddress& address, uint64_t now_tsc,
                           RecentAnswer& found) const {
  if (latest_.load(std::memory_order_acquire) <= consumed) return false;  // all published
  for (const Slot& slot : slots_) {
    const uint32_t before = slot.version.load(std::memory_order_acquire);
    if (before & 1) continue;  // being written: an older answer; the newer one is in another slot
    // Cheap checks on the live slot first; a torn read is caught by the version check below.
    if (slot.answer.sequence <= consumed || slot.answer.policy_slot != policy_slot || !(slot.answer.address == address))
      continue;
    found = slot.answer;
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.version.load(std::memory_order_relaxed) != before) continue;
    if (found.sequence > consumed && found.policy_slot == policy_slot && found.address == address &&
        found.expires_tsc > now_tsc)
      return true;
  }
  return false;
}

}  // namespace sluice

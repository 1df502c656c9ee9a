#include "controlplane/policy/learned_address_store.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

namespace sluice {

uint32_t LearnedAddressStore::drain(rte_ring* ring) {
  if (!ring) return 0;
  LearnedAddressEvent events[32];
  uint32_t total = 0;
  // What the ring holds now, and no more: a worker that keeps filling it cannot keep the
  // control thread here.
  for (uint32_t left = rte_ring_count(ring); left > 0;) {
    const unsigned taken = rte_ring_sc_dequeue_burst_elem(ring, events, sizeof(LearnedAddressEvent),
                                                          std::min<uint32_t>(32, left), nullptr);
    if (taken == 0) break;
    for (unsigned i = 0; i < taken; ++i) add(events[i]);
    total += taken;
    left -= taken;
  }
  return total;
}

void LearnedAddressStore::count(uint16_t slot, int64_t by) {
  if (slot < kMaxPolicies) entries_by_slot_[slot].store(entries_by_slot_[slot].load() + uint64_t(by));
}

void LearnedAddressStore::add(const LearnedAddressEvent& event) {
  if (event.worker_index < kMaxLearningWorkers && event.sequence > consumed_[event.worker_index])
    consumed_[event.worker_index] = event.sequence;
  ++changes_;
  dirty_ = true;  // even a refused event moves `consumed`, which the workers' overlay reads
  Key key{event.policy_slot, event.address};
  auto found = entries_.find(key);
  if (found != entries_.end()) {
    // A newer answer refreshes the entry; the name is the latest one asked for that address.
    if (event.expires_tsc > found->second.expires_tsc) found->second.expires_tsc = event.expires_tsc;
    found->second.name.assign(event.name, event.name_length);
    return;
  }
  if (entries_.size() >= max_entries_) {
    refused_.store(refused_.load() + 1);
    return;
  }
  entries_.emplace(key, Value{std::string(event.name, event.name_length), event.expires_tsc});
  count(event.policy_slot, 1);
}

uint32_t LearnedAddressStore::expire(uint64_t now_tsc) {
  uint32_t expired = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expires_tsc > now_tsc) {
      ++it;
      continue;
    }
    uint16_t slot = it->first.policy_slot;
    count(slot, -1);
    if (slot < kMaxPolicies) expired_by_slot_[slot].store(expired_by_slot_[slot].load() + 1);
    it = entries_.erase(it);
    ++expired;
  }
  if (expired) {
    dirty_ = true;
    ++changes_;
  }
  return expired;
}

std::unique_ptr<LearnedAddressTable> LearnedAddressStore::build_table() {
  dirty_ = false;
  return LearnedAddressTable::build(entries(), consumed_);
}

std::vector<LearnedAddressTable::Input> LearnedAddressStore::entries() const {
  std::vector<LearnedAddressTable::Input> inputs;
  inputs.reserve(entries_.size());
  for (const auto& [key, value] : entries_) inputs.push_back({key.address, key.policy_slot, value.name, value.expires_tsc});
  return inputs;
}

void LearnedAddressStore::restore(uint16_t policy_slot, const IpAddress& address, const std::string& name,
                                  uint64_t expires_tsc) {
  LearnedAddressEvent event;
  event.worker_index = kMaxLearningWorkers;  // no worker: `consumed` stays
  event.policy_slot = policy_slot;
  event.address = address;
  event.expires_tsc = expires_tsc;
  event.name_length = uint8_t(std::min(name.size(), sizeof event.name));
  std::memcpy(event.name, name.data(), event.name_length);
  add(event);
}

void publish_learned_table(std::atomic<const LearnedAddressTable*>& slot, std::unique_ptr<LearnedAddressTable> table,
                           rte_rcu_qsbr* qsbr) {
  const LearnedAddressTable* previous = slot.exchange(table.release(), std::memory_order_acq_rel);
  if (qsbr) rte_rcu_qsbr_synchronize(qsbr, RTE_QSBR_THRID_INVALID);
  delete previous;
}

}  // namespace sluice

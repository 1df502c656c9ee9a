// The control thread's side of DNS learning: it owns every learned address, folds in what the
// workers send (LearnedAddressEvent, through a bounded ring), forgets what expired, and
// publishes an immutable LearnedAddressTable for the workers to read.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "dataplane/policy/learned_addresses.h"
#include "dataplane/worker/worker_counters.h"

struct rte_ring;
struct rte_rcu_qsbr;

namespace sluice {

class LearnedAddressStore {
 public:
  // At most `max_entries` addresses over all policies; more are refused (counted).
  explicit LearnedAddressStore(uint32_t max_entries) : max_entries_(max_entries) {}

  // Control thread. Takes the events `ring` holds when called (not those arriving meanwhile: the
  // call is bounded by the ring's size); returns how many.
  uint32_t drain(rte_ring* ring);
  void add(const LearnedAddressEvent& event);
  // Forgets entries whose time is up at `now_tsc`; counts them per policy.
  uint32_t expire(uint64_t now_tsc);
  bool dirty() const { return dirty_; }
  // Grows with every change of the entries (control thread): the state file is rewritten when it moved.
  uint64_t changes() const { return changes_; }
  std::unique_ptr<LearnedAddressTable> build_table();
  // Control thread: every entry held (for the state file, learned_address_state.h).
  std::vector<LearnedAddressTable::Input> entries() const;
  // Control thread, at start: an entry read back from the state file. Unlike add(), it moves no
  // worker's `consumed` sequence.
  void restore(uint16_t policy_slot, const IpAddress& address, const std::string& name, uint64_t expires_tsc);

  // Metrics (any thread): entries and expirations by policy counter slot.
  uint64_t entries(uint16_t slot) const { return slot < kMaxPolicies ? entries_by_slot_[slot].load() : 0; }
  uint64_t expired(uint16_t slot) const { return slot < kMaxPolicies ? expired_by_slot_[slot].load() : 0; }
  uint64_t refused() const { return refused_.load(); }

 private:
  struct Key {
    uint16_t policy_slot;
    IpAddress address;
    bool operator<(const Key& other) const {
      if (policy_slot != other.policy_slot) return policy_slot < other.policy_slot;
      if (address.family != other.address.family) return address.family < other.address.family;
      return std::memcmp(address.bytes, other.address.bytes, sizeof address.bytes) < 0;
    }
  };
  struct Value {
    std::string name;
    uint64_t expires_tsc = 0;
  };
  void count(uint16_t slot, int64_t by);

  uint32_t max_entries_;
  std::map<Key, Value> entries_;
  uint64_t consumed_[kMaxLearningWorkers] = {};
  bool dirty_ = false;
  uint64_t changes_ = 0;
  std::unique_ptr<std::atomic<uint64_t>[]> entries_by_slot_{new std::atomic<uint64_t>[kMaxPolicies]()};
  std::unique_ptr<std::atomic<uint64_t>[]> expired_by_slot_{new std::atomic<uint64_t>[kMaxPolicies]()};
  std::atomic<uint64_t> refused_{0};
};

// Swaps a new table into `slot` for the workers and frees the old one once no worker can hold
// it: after `qsbr` says every worker passed a quiescent state (null: no worker runs now).
void publish_learned_table(std::atomic<const LearnedAddressTable*>& slot, std::unique_ptr<LearnedAddressTable> table,
                           rte_rcu_qsbr* qsbr);

}  // namespace sluice

// Addresses learned from DNS answers for allowed domains ("FQDN rules for non-TLS traffic").
//
// Workers parse answers and send LearnedAddressEvents to the control thread through a bounded
// ring; the control thread owns the entries (controlplane/learned_address_store), applies TTL
// clamps and grace, and publishes an immutable LearnedAddressTable through an atomic pointer
// (read by workers, retired after an RCU grace period, like a policy generation).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/domain/hostname.h"
#include "dataplane/parse/ip_address.h"

namespace sluice {

inline constexpr int kMaxLearningWorkers = 16;

// Worker → control thread, by value through an rte_ring.
struct alignas(8) LearnedAddressEvent {
  uint64_t tsc = 0;              // when the answer passed
  uint64_t sequence = 0;         // per worker, 1, 2, 3… in enqueue order
  IpAddress address;
  uint64_t expires_tsc = 0;      // tsc + (clamped TTL + grace) × TSC rate
  uint32_t ttl_seconds = 0;      // clamped (from the minimum along the CNAME chain)
  uint16_t policy_slot = 0;      // CompiledRuleset::counter_slot: stable across reloads
  uint16_t worker_index = 0;
  uint8_t name_length = 0;       // the queried name (normalised)
  char name[kMaxHostnameLength] = {};
};
static_assert(sizeof(LearnedAddressEvent) % 4 == 0, "rte_ring element size must be a multiple of 4");

// An immutable open-addressing table of (policy slot, address) → name and expiry.
class LearnedAddressTable {
 public:
  struct Entry {
    IpAddress address;
    uint16_t policy_slot = 0;
    uint8_t name_length = 0;
    uint32_t name_offset = 0;   // into the table's name pool
    uint64_t expires_tsc = 0;   // 0: an empty bucket
  };
  struct Input {
    IpAddress address;
    uint16_t policy_slot = 0;
    std::string name;
    uint64_t expires_tsc = 0;
  };

  // Control thread. `consumed[w]` is the last event sequence of worker w the inputs include.
  static std::unique_ptr<LearnedAddressTable> build(const std::vector<Input>& inputs,
                                                    const uint64_t (&consumed)[kMaxLearningWorkers]);

  // Packet path: the live entry for `address` learned by `policy_slot`, or nullptr.
  const Entry* find(uint16_t policy_slot, const IpAddress& address, uint64_t now_tsc) const;
  std::string_view name(const Entry& entry) const { return {names_.data() + entry.name_offset, entry.name_length}; }
  uint64_t consumed(uint16_t worker_index) const {
    return worker_index < kMaxLearningWorkers ? consumed_[worker_index] : 0;
  }
  size_t size() const { return size_; }

 private:
  static size_t hash(uint16_t policy_slot, const IpAddress& address);
  std::vector<Entry> buckets_;  // a power of two, at most half full
  std::string names_;
  size_t size_ = 0;
  uint64_t consumed_[kMaxLearningWorkers] = {};
};

}  // namespace sluice

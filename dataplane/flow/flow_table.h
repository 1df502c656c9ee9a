// One worker's flow table: rte_hash over FlowKey → position → FlowEntry. Worker-private.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/domain/hostname.h"
#include "dataplane/flow/flow_entry.h"
#include "dataplane/flow/flow_key.h"

struct rte_hash;

namespace sluice {

// The name a flow was judged on, kept so that a new policy generation can judge it again.
// Written only when a payload is inspected; no initialiser, so unused slots cost no memory.
struct FlowName {
  uint8_t length;
  char bytes[kMaxHostnameLength];
};

class FlowTable {
 public:
  FlowTable() = default;
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Control thread, before the worker starts. `name` must be unique in the process.
  bool init(const std::string& name, uint32_t capacity, int socket_id, std::string& error);

  // Packet path. `positions[i]` is the entry position or negative when keys[i] is absent.
  // At most kMaxBulk keys.
  static constexpr uint32_t kMaxBulk = 64;
  void lookup_bulk(const FlowKey* const* keys, uint32_t count, int32_t* positions) const;
  // Inserts `key` (or finds it when present); negative when the table is full.
  int32_t insert(const FlowKey& key);

  // The key stored at `position`; false when the position holds none.
  bool key_at(int32_t position, FlowKey& key) const;
  // Forgets the flow at `position` (aging): its key leaves the hash and the position is free.
  void remove(int32_t position);

  FlowEntry& entry(int32_t position) { return entries_[static_cast<size_t>(position)]; }
  // Packet path: asks the memory for the entry at `position` ahead of its first read, so that the
  // entries of a burst arrive together (the burst driver calls it between the bulk lookup and
  // the act pass). Both ends: an entry may span two cache lines. With write intent: every packet
  // writes its entry (last_seen_tsc).
  void prefetch(int32_t position) const {
    const char* first = reinterpret_cast<const char*>(&entries_[static_cast<size_t>(position)]);
    __builtin_prefetch(first, 1, 3);
    __builtin_prefetch(first + sizeof(FlowEntry) - 1, 1, 3);
  }
  FlowName& name(int32_t position) { return names_[static_cast<size_t>(position)]; }
  uint32_t capacity() const { return capacity_; }
  // Positions run from 0 to position_count() - 1 (the aging sweep walks them).
  uint32_t position_count() const { return static_cast<uint32_t>(entries_.size()); }
  uint32_t size() const;

  // After the worker stopped: every flow in use, with its key.
  void for_each(const std::function<void(const FlowKey&, const FlowEntry&)>& visit) const;

 private:
  rte_hash* hash_ = nullptr;
  uint32_t capacity_ = 0;
  std::vector<FlowEntry> entries_;
  std::unique_ptr<FlowName[]> names_;  // same positions as entries_
};

}  // namespace sluice

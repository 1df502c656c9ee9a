// Stable counter slots for policy names across policy generations. Control thread: assigns;
// metrics scrapes: read the names. A reload that reorders, adds or removes policies never moves
// counts from one policy to another.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/worker/worker_counters.h"

namespace sluice {

class PolicySlots {
 public:
  // The slot of `name`, assigned on first sight. Past kMaxPolicies distinct names, the last
  // slot is shared and named "_other".
  uint16_t slot_for(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = slot_of_.find(name);
    if (it != slot_of_.end()) return it->second;
    if (names_.size() + 1 >= static_cast<size_t>(kMaxPolicies)) {
      if (names_.size() + 1 == static_cast<size_t>(kMaxPolicies)) names_.push_back("_other");
      return static_cast<uint16_t>(kMaxPolicies - 1);
    }
    auto slot = static_cast<uint16_t>(names_.size());
    names_.push_back(name);
    slot_of_.emplace(name, slot);
    return slot;
  }

  // Index = slot.
  std::vector<std::string> names() const {
    std::lock_guard lock(mutex_);
    return names_;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, uint16_t> slot_of_;
  std::vector<std::string> names_;
};

}  // namespace sluice

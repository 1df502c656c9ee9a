// DNS answers the workers learned and the control thread has not published yet, readable by
// every worker at once: the SYN that follows an answer may land on another worker than the
// answer (its flow hashes elsewhere), and the published table (learned_addresses.h) catches up
// only every 50 ms. Each worker writes its own row (its last kRecentAnswers answers); any worker
// reads every row on a miss in the published table. No lock: each slot is a sequence lock (an
// odd version while its writer fills it; a reader copies the slot and keeps the copy only when
// the version was even and unchanged around the copy). Pure (no DPDK).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "dataplane/domain/hostname.h"
#include "dataplane/parse/ip_address.h"
#include "dataplane/policy/learned_addresses.h"

namespace sluice {

struct RecentAnswer {
  uint64_t sequence = 0;  // the LearnedAddressEvent's (per worker 1, 2, 3…); 0: an empty slot
  uint64_t expires_tsc = 0;
  IpAddress address;
  uint16_t policy_slot = 0;
  uint8_t name_length = 0;
  char name[kMaxHostnameLength] = {};
};

// One worker's recent answers. Writer: that worker (publish). Readers: every worker (find).
class RecentAnswerRow {
 public:
  static constexpr int kRecentAnswers = 64;

  void publish(const RecentAnswer& answer);

  // Copies into `found` a live answer of sequence above `consumed` (published already when not)
  // for (`policy_slot`, `address`). False when there is none.
  bool find(uint64_t consumed, uint16_t policy_slot, const IpAddress& address, uint64_t now_tsc,
            RecentAnswer& found) const;

 private:
  struct alignas(64) Slot {
    std::atomic<uint32_t> version{0};  // odd: being written
    RecentAnswer answer;
  };
  Slot slots_[kRecentAnswers];
  std::atomic<uint64_t> latest_{0};  // the sequence of the last answer published (release)
  int next_ = 0;                     // writer only
};

// Every worker's row; one a process (a WorkerSet's workers share it).
struct RecentAnswerBoard {
  RecentAnswerRow rows[kMaxLearningWorkers];
};

}  // namespace sluice

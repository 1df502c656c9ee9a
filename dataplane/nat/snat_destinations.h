// SNAT ports in use per destination (protocol, server address, server port): the range is
// exhausted per destination (a translation is unique per translated port *and* server,
// snat_table.h), so the destinations holding the most ports are the ones about to refuse flows.
//
// Counted at bind and unbind time (SnatTable::allocate and release: once a flow, never a packet)
// in a fixed-capacity open-addressing table made by `init`; a bounded slice of it is walked
// once a loop iteration (`sweep`) to keep the top kSnatTopDestinations, which the worker
// publishes at the end of each pass (SnatTopDestinationsSlot) for the control thread and metric
// scrapes. When more destinations are in use than the table tracks, the bindings of the others
// are counted as untracked (a gauge), not lost silently. Worker-private except the slot.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/nat/nat_key.h"

namespace sluice {

inline constexpr int kSnatTopDestinations = 10;
// Destinations tracked at most (the table has twice as many slots, so probes stay short).
inline constexpr uint32_t kMaxSnatTrackedDestinations = 1u << 16;

struct SnatDestination {
  IpAddress address;  // the server
  uint16_t port = 0;
  uint8_t protocol = 0;
  uint32_t ports_in_use = 0;  // translations (active or quarantined) toward it, over every SNAT address
};

// The fullest destinations, fullest first (ties: the first seen).
struct SnatTopDestinations {
  SnatDestination entries[kSnatTopDestinations];
  uint8_t count = 0;
  void offer(const SnatDestination& destination);
};

class SnatDestinationCounts {
 public:
  // Control thread. Tracks up to min(`max_destinations`, kMaxSnatTrackedDestinations).
  void init(uint32_t max_destinations, uint64_t hash_seed);

  // A binding toward `key`'s server (NatKey::remote) was made: false when its destination is
  // not tracked (table at its bound), counted untracked; pass the result to `remove`.
  bool add(const NatKey& key);
  void remove(const NatKey& key, bool tracked);

  // Walks `budget` slots from where the last call stopped; true when that ended a pass, whose
  // top is then `top()`.
  bool sweep(uint32_t budget);
  const SnatTopDestinations& top() const { return top_; }
  uint32_t untracked_bindings() const { return untracked_; }
  uint32_t tracked() const { return used_; }
  // The current count of one destination (tests, and what a sweep reads).
  uint32_t ports_in_use(const NatKey& key) const;

 private:
  struct Slot {
    uint8_t address[16];
    uint16_t port;
    uint8_t protocol;
    uint8_t family;  // 0: free
    uint32_t count;
  };
  uint32_t home_of(const NatKey& key) const;
  int64_t find(const NatKey& key) const;
  static bool same(const Slot& slot, const NatKey& key);

  std::vector<Slot> slots_;
  uint32_t mask_ = 0;
  uint32_t limit_ = 0;  // destinations tracked at most
  uint32_t used_ = 0;
  uint32_t untracked_ = 0;
  uint64_t seed_ = 0;
  uint32_t cursor_ = 0;
  SnatTopDestinations running_;  // the pass under way
  SnatTopDestinations top_;      // the last finished pass
};

// The worker's last top, for other threads: a sequence lock (odd while the worker writes) over
// plain words. Worker: publish; control thread and scrapes: read (which retries a torn copy).
struct SnatTopDestinationsSlot {
  std::atomic<uint64_t> sequence{0};
  std::atomic<uint64_t> count{0};
  std::atomic<uint64_t> untracked_bindings{0};
  // Per entry: the address's two halves, (family | protocol << 8 | port << 16), ports in use.
  std::atomic<uint64_t> words[kSnatTopDestinations][4] = {};
};

void publish_top_destinations(SnatTopDestinationsSlot& slot, const SnatTopDestinations& top, uint32_t untracked);
// False when the worker kept writing during a few attempts (`out` then holds nothing).
bool read_top_destinations(const SnatTopDestinationsSlot& slot, SnatTopDestinations& out, uint32_t& untracked);

// Control side: the workers' tops as one (a destination's counts summed over the workers whose
// top holds it), and their untracked bindings summed.
SnatTopDestinations merge_top_destinations(const std::vector<const SnatTopDestinationsSlot*>& slots,
                                           uint32_t& untracked);
// "198.51.100.7:443/tcp", "[2001:db8::7]:443/udp".
std::string format_destination(const SnatDestination& destination);

}  // namespace sluice

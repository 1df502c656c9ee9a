// The stateful baseline: the floor of a stateful firewall's job, measured in the same run and on
// the same traffic as Sluice. The pass-through loop's shape (rx burst from each port, tx burst to
// the other, packets and bytes counted) plus what DPDK's l3fwd exact-match adds: the burst's
// headers prefetched, each packet's IPv4 5-tuple read from them, one rte_hash_lookup_bulk a
// burst (it prefetches the buckets itself) over a table holding the profile's flows, and the
// found flow's state touched (its packet count). No parsing beyond the 5-tuple, no verdicts, no
// flow creation: a packet whose flow is not in the table is counted as a miss and forwarded
// anyway, so that packets in = packets out whatever the traffic.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/five_tuple.h"
#include "dataplane/worker/worker_counters.h"

struct rte_hash;

namespace sluice::bench {

// The baseline's flow table: rte_hash with 16-byte keys, made as the product's flow table makes
// its own (CRC hash, the same capacity, the extendable bucket table), and one 8-byte state a
// position. Built before any clock starts; the worker only looks up.
class StatefulBaselineTable {
 public:
  StatefulBaselineTable() = default;
  ~StatefulBaselineTable();
  StatefulBaselineTable(const StatefulBaselineTable&) = delete;
  StatefulBaselineTable& operator=(const StatefulBaselineTable&) = delete;

  // A table of `capacity` positions (at least the keys') holding exactly `keys` (duplicates
  // collapse). `name` must be unique among live DPDK hashes.
  bool build(const std::string& name, const std::vector<FiveTuple>& keys, uint32_t capacity, std::string& error);

  const rte_hash* hash() const { return hash_; }
  uint64_t* flow_packets() const { return flow_packets_; }  // worker: writes; others: read after a run
  uint32_t capacity() const { return capacity_; }
  uint32_t size() const;                     // keys held
  bool contains(const FiveTuple& key) const;
  uint64_t packets_counted() const;          // sum of every flow's packet count
  size_t bytes() const { return bytes_; }    // DPDK heap the hash and the state array took

 private:
  rte_hash* hash_ = nullptr;
  uint64_t* flow_packets_ = nullptr;
  uint32_t capacity_ = 0;
  size_t bytes_ = 0;
};

struct StatefulBaselineSetup {
  uint16_t ports[kSideCount] = {};
  WorkerCounters* counters = nullptr;       // rx/tx per side, tx_failed drops
  const StatefulBaselineTable* table = nullptr;
  const std::atomic<bool>* stop = nullptr;  // feeder: write; worker: read
  uint64_t lookup_misses = 0;               // worker: written before it returns; feeder: read after
};

// lcore entry point; `arg` is a StatefulBaselineSetup*.
int run_stateful_baseline_loop(void* arg);

// Every flow key `schedule`'s packets carry: the profile's list for a cyclic schedule (its
// packets are stamped as they are fed), else read from each frame, once each.
struct Schedule;
std::vector<FiveTuple> schedule_keys(const Schedule& schedule);

}  // namespace sluice::bench

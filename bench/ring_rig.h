// The replay rig: two net_ring ports ("inside", "outside") made with rte_eth_from_rings, a worker
// lcore running the real worker loop (run_worker_loop → PacketProcessor), the pass-through
// baseline or the stateful baseline (bench/stateful_baseline_loop.h), and a feeder on the main lcore that keeps the worker's rx rings full
// from a Schedule and empties its tx rings. The clock runs from the feeder's first enqueue until
// the worker's own counters account for every packet offered (forwarded + dropped).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/schedule.h"
#include "dataplane/policy/compiled_policy.h"
#include "dataplane/worker/flow_event.h"
#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/worker_rig.h"
#include "dataplane/worker/stage/route.h"

struct rte_mempool;
struct rte_ring;
struct rte_rcu_qsbr;

namespace sluice::bench {

struct RigConfig {
  unsigned worker_lcore = 1;
  unsigned rx_ring_size = 2048;     // the worker's "rx descriptors" per port
  unsigned tx_ring_size = 16384;    // roomy: a full tx ring would count as tx_failed drops
  unsigned event_ring_size = 65536;
  unsigned reply_pool_size = 16384 - 1;   // TCP resets in flight
  unsigned feed_pool_size = 32768 - 1;    // the recycled buffers finite schedules are copied into
};

// sluice: the product's worker loop. passthrough: moves packets, the harness's own cost.
// stateful_baseline: the pass-through plus a 5-tuple lookup a packet, the floor of the job.
enum class WorkerKind : uint8_t { sluice, passthrough, stateful_baseline };

class StatefulBaselineTable;

// What a measured worker is made of; `processor`, `counters` and `policy` for WorkerKind::sluice,
// `table` (built from the schedule's keys) for WorkerKind::stateful_baseline.
struct WorkerSpec {
  WorkerKind kind = WorkerKind::sluice;
  PacketProcessor* processor = nullptr;
  WorkerCounters* counters = nullptr;
  const CompiledPolicy* policy = nullptr;
  const StatefulBaselineTable* table = nullptr;
  Router* router = nullptr;  // routed mode (WorkerKind::sluice): the worker loop routes through it
};

struct RunOptions {
  double pace_pps = 0;           // 0: as fast as the worker takes them
  double stall_seconds = 5;      // no progress for this long: the run fails
  // Called on the feeder every `tick_period_us` (the control thread's cadence); when set, the
  // callback owns the event ring, else the feeder drains and discards events itself.
  std::function<void(uint64_t now_tsc)> on_tick;
  double tick_period_us = 1000;
  std::vector<FlowEvent>* keep_events = nullptr;  // collect the events instead of discarding them
  // Write packet contents as a NIC's DMA would (copy frames, restamp flows). The pass-through
  // reads no packet byte, so its runs skip this: the feeder would only slow itself down. The
  // stateful baseline reads the headers: its runs write them, as Sluice's do.
  bool write_packets = true;
};

struct RunResult {
  bool ok = false;
  std::string error;
  uint64_t offered[kSideCount] = {};      // mbufs the feeder put on each port's rx ring
  uint64_t returned[kSideCount] = {};     // mbufs that came out of each port's tx ring (resets included)
  uint64_t elapsed_tsc = 0;
  double seconds = 0;
  // Deltas of the worker's counters over the run.
  uint64_t worker_rx = 0;
  uint64_t worker_tx = 0;                 // forwarded packets and the frames the worker made (resets, ICMP errors)
  uint64_t worker_forwarded = 0;          // tx minus resets
  uint64_t worker_dropped = 0;
  uint64_t resets = 0;
  uint64_t flows_created = 0;
  uint64_t events_dropped = 0;
  uint64_t events_seen = 0;               // events the feeder took off the ring
  uint64_t lookup_misses = 0;             // stateful baseline: packets whose flow was not in its table
  std::array<uint64_t, kReasonCount> dropped_by_reason{};
  std::array<uint64_t, kReasonCount> verdicts_by_reason{};
  // Whether the worker, not the feeder, set the pace: the rx rings' mean backlog, and the share
  // of samples in which both rx rings were empty while packets were still to be offered.
  double mean_rx_backlog = 0;
  double rx_starved_fraction = 0;
  // The worker set the pace when its rx rings held a backlog; else the feeder did, and the rate
  // is only a lower bound of what the worker could take.
  bool worker_bound() const { return mean_rx_backlog >= kBurstSize; }
  // CPU time other processes took on this machine during the run, as a share of both cores
  // (from /proc/stat less this process): a busy neighbour makes a figure worth less.
  // Negative when the run was too short to tell.
  double foreign_cpu_share = -1;

  uint64_t offered_total() const { return offered[0] + offered[1]; }
  double mpps() const { return seconds > 0 ? offered_total() / seconds / 1e6 : 0; }
  double cycles_per_packet() const { return offered_total() ? double(elapsed_tsc) / offered_total() : 0; }
};

class RingRig {
 public:
  explicit RingRig(RigConfig config = {}) : config_(config) {}
  ~RingRig();
  RingRig(const RingRig&) = delete;
  RingRig& operator=(const RingRig&) = delete;

  // After rte_eal_init: rings, the two ports, the worker rig (reply pool, event ring, QSBR variable).
  bool init(std::string& error);

  rte_mempool* reply_pool() const { return worker_rig_.mbufs(); }
  rte_ring* events() const { return worker_rig_.events(); }
  // The rings and buffers measured workers run on (each brings its own flow table).
  const WorkerRig& worker_rig() const { return worker_rig_; }
  const RigConfig& config() const { return config_; }

  // Runs `schedule` once through a worker launched on the worker lcore. The mbufs of a cyclic
  // schedule must be armed (PacketStore::arm) before each run.
  RunResult run(const Schedule& schedule, const WorkerSpec& worker, const RunOptions& options = {});

 private:
  RigConfig config_;
  rte_ring* rx_[kSideCount] = {};
  rte_ring* tx_[kSideCount] = {};
  uint16_t ports_[kSideCount] = {};
  bool ports_open_ = false;
  rte_mempool* feed_pool_ = nullptr;
  WorkerRig worker_rig_;  // a member: released after the destructor has closed the ports
};

// Packets a worker has finished with: forwarded + dropped (each reset counts once in tx and
// once in resets_sent, so it cancels out).
int64_t finished_packets(const WorkerCounters& counters);

}  // namespace sluice::bench

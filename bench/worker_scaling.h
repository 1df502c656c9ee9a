// Several workers (issue #18): the same established traffic through one worker and through two,
// each run on the product's own wiring (controlplane/daemon/worker_set.h: one WorkerRig a
// worker, WorkerSet::connect's lanes, run_worker_loop), so that the figure is sluiced's.
//
// The machine has two vCPUs: two workers leave no core for a feeder. So no feeder runs: every
// frame of a run is put on the ports' rx rings (net_ring, one ring a queue) before the clock
// starts, the workers take them as from a NIC's queues, and a sleeping watcher (woken every
// 200 µs on the first CPU) stops the clock when the workers' own counters account for every
// frame. The buffers are written before the run and read cold, as from a NIC without DDIO: a
// preloaded figure is below the feeder-fed one of the same traffic (bench/ring_rig.h), and
// the two are not compared with each other, only 1 worker with 2 on the same preloaded traffic.
//
// Two placements of the same frames over the queues:
//   rss    each frame on the queue of its flow's owner (flow_owner.h), as a NIC's symmetric RSS
//          places them; the lanes are WorkerSet::connect's for a port with RSS: no handoff.
//   steer  frames spread over the queues without regard to flow (frame i on queue i mod N), as
//          a port without RSS; the lanes steer in software and about (N-1)/N of the frames
//          cross a handoff ring. Its extra cost a frame over `rss` is the handoff cost.
// With one worker both are the same run (one queue, no lanes).
#pragma once

#include <cstdint>
#include <string>

#include "bench/json.h"
#include "dataplane/policy/compiled_policy.h"

namespace sluice::bench {

enum class Placement : uint8_t { rss, steer };
const char* to_string(Placement placement);

struct WorkerScalingRun {
  bool ok = false;
  std::string error;
  uint16_t workers = 1;
  uint64_t offered = 0;        // frames preloaded on the rx rings
  uint64_t forwarded = 0;      // over all workers
  uint64_t dropped = 0;
  std::string drops;           // "reason count, ..." over all workers (empty: none)
  uint64_t returned = 0;       // frames found on the tx rings afterwards
  uint64_t handed_over = 0;    // handoff_sent over all workers
  uint64_t taken_over = 0;     // handoff_received
  uint64_t elapsed_tsc = 0;
  double seconds = 0;
  double foreign_cpu_share = -1;  // other processes' CPU time during the run, share of both cores
  // Per worker: frames it judged (forwarded + dropped; handed-over ones by their owner), and
  // TSC cycles of its loop iterations that moved frames.
  uint64_t judged[2] = {};
  uint64_t busy_cycles[2] = {};
  double mpps() const { return seconds > 0 ? double(offered) / seconds / 1e6 : 0; }
  // A worker's busy cycles a frame it judged: what one worker spends on a frame.
  double busy_cycles_per_packet(int worker) const {
    return judged[worker] ? double(busy_cycles[worker]) / double(judged[worker]) : 0;
  }
};

struct WorkerScalingOptions {
  uint32_t flows = 1000000;
  int repetitions = 5;
  double tsc_hz = 0;
};

// Warms the flows into each worker's table (the owner's), then runs the traffic (every flow one
// 64-byte packet each way, shuffled) `repetitions` times for 1 worker, 2 workers (rss) and 2
// workers (steer). Needs the EAL on lcores 0 and 1 and nothing else launched.
Json run_worker_scaling(const CompiledPolicy& policy, const WorkerScalingOptions& options,
                        std::vector<WorkerScalingRun>* runs = nullptr);

}  // namespace sluice::bench

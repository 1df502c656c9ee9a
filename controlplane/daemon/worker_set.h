// sluiced's workers: one WorkerRig each (buffers, flow-event and learning rings, flow table,
// counters, processor), the ports opened with a queue per worker where the PMD has them, and
// the rings between workers where it has not (worker_lanes.h). Made and released on the
// control thread; rig 0 also holds the QSBR variable (one thread id a worker) and routed
// mode's control-frame ring; every rig has its own neighbour-event ring in routed mode.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/policy/recent_answers.h"
#include "dataplane/port/ports.h"
#include "dataplane/worker/worker_loop.h"
#include "dataplane/worker/worker_rig.h"

struct rte_ring;

namespace sluice {

class WorkerSet {
 public:
  WorkerSet() = default;
  WorkerSet(const WorkerSet&) = delete;
  WorkerSet& operator=(const WorkerSet&) = delete;
  ~WorkerSet() { release(); }

  // One rig a worker (`workers` ≥ 1). `options` and `settings` as for WorkerRig::init; the set
  // numbers the workers (worker_index, flow ids) and sizes the QSBR variable for all of them.
  bool init(uint16_t workers, WorkerRigOptions options, PacketProcessorSetup settings, std::string& error);

  // Opens `name` with up to one rx and one tx queue a worker (rx queue w on worker w's buffers).
  bool open_port(const std::string& name, uint16_t& port_id, PortQueues& queues, std::string& error);

  // After both ports are open: each worker's queues, and the rings between workers when a port
  // cannot spread flows by symmetric RSS over one queue a worker, or always in routed mode
  // (`routed`: several workers steer in software). Fills `loops[w]`.
  bool connect(const uint16_t (&port_ids)[kSideCount], const PortQueues (&queues)[kSideCount], bool routed,
               std::string& error);
  // Routed mode with an exception port (a tap, one queue) and several workers: the ring the
  // others send to it through (worker 0 drains it). Nothing with one worker. After connect.
  bool connect_exception_port(std::string& error);

  // The loop setups to launch (run_worker_loop), one a worker, with the processor, counters,
  // shared state and ports filled in (routed mode adds its own to loop(0)).
  WorkerLoopSetup& loop(uint16_t worker) { return loops_[worker]; }

  uint16_t size() const { return uint16_t(rigs_.size()); }
  WorkerRig& rig(uint16_t worker) { return *rigs_[worker]; }
  bool steers() const { return steer_; }
  std::vector<const WorkerCounters*> counters() const;
  std::vector<rte_ring*> event_rings() const;
  std::vector<rte_ring*> learned_rings() const;  // empty without DNS learning

  // Frees the rings between workers (and the frames in them), then every rig. Ports must be
  // closed first (they receive into the rigs' buffers). Safe to call twice.
  void release();

 private:
  // The workers' recent DNS answers, read across workers (several workers only; outlives the rigs).
  std::unique_ptr<RecentAnswerBoard> answers_;
  std::vector<std::unique_ptr<WorkerRig>> rigs_;
  std::vector<WorkerLoopSetup> loops_;
  std::vector<rte_ring*> rings_;  // handoff and tx rings, for release
  bool steer_ = false;
};

}  // namespace sluice

// The DPDK objects one worker runs on, made in one place and released in reverse order: a pool
// of packet buffers, the flow-event ring, the learned-address ring, routed mode's rings, the QSBR
// variable, and the
// worker itself (flow table, counters, PacketProcessor). sluiced, `sluicectl replay`,
// `sluicectl explain` and the benchmark rig all build their worker with it. Needs the EAL up;
// release it (or let it go out of scope) before rte_eal_cleanup.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dataplane/flow/flow_table.h"
#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/worker_counters.h"

struct rte_mempool;
struct rte_ring;
struct rte_rcu_qsbr;

namespace sluice {

struct WorkerRigOptions {
  // Prefix of the rig's DPDK object names, which are process-wide: the rig adds a number of its
  // own, so that a process (a test, the benchmark) may make many rigs.
  std::string name = "worker";
  int socket = -1;        // rings and buffers (SOCKET_ID_ANY)
  int flow_socket = -1;   // the flow table: the worker lcore's socket
  // Packet buffers: replies (TCP resets, ICMP errors), and received frames where ports use them.
  unsigned mbuf_count = 4095;
  unsigned mbuf_cache = 256;
  uint16_t mbuf_data_room = 0;  // 0: RTE_MBUF_DEFAULT_BUF_SIZE
  unsigned event_ring_size = 1024;
  unsigned learned_ring_size = 0;  // 0: no DNS learning
  unsigned qsbr_threads = 0;       // 0: no QSBR variable (nothing runs beside the caller)
  // Routed mode's rings (0: none, bridge mode): NeighbourEvents worker→control, and frames
  // control→worker (rte_mbuf pointers, stage/route.h).
  unsigned neighbour_ring_size = 0;
  unsigned control_frame_ring_size = 0;
  uint32_t flow_capacity = 0;      // 0: no worker, only its rings (the benchmark makes its own)
};

// One worker's own state on a rig's rings and buffers. Released before the rig's rings.
struct RigWorker {
  FlowTable flows;
  std::unique_ptr<WorkerCounters> counters;
  std::unique_ptr<PacketProcessor> processor;
};

class WorkerRig {
 public:
  WorkerRig() = default;
  WorkerRig(const WorkerRig&) = delete;
  WorkerRig& operator=(const WorkerRig&) = delete;
  ~WorkerRig() { release(); }

  // Makes everything `options` asks for. `settings` are the processor's settings (timeouts,
  // inspection bounds, ...; and `learned_table` when there is a learned ring); the rig fills in
  // its flow table, rings, buffers and counters. False with `error` set when something is short.
  bool init(const WorkerRigOptions& options, const PacketProcessorSetup& settings, std::string& error);

  // A further worker on this rig's rings and buffers, with a fresh flow table and counters.
  bool make_worker(RigWorker& worker, uint32_t flow_capacity, PacketProcessorSetup settings, std::string& error) const;

  // Worker first, then the QSBR variable, the rings and the buffers. Safe to call twice.
  void release();

  rte_mempool* mbufs() const { return mbufs_; }
  rte_ring* events() const { return events_; }
  rte_ring* learned() const { return learned_; }  // null without DNS learning
  rte_rcu_qsbr* qsbr() const { return qsbr_; }    // null when not asked for
  rte_ring* neighbour_events() const { return neighbour_events_; }  // null in bridge mode
  rte_ring* control_frames() const { return control_frames_; }      // null in bridge mode
  FlowTable& flows() { return worker_->flows; }
  WorkerCounters& counters() { return *worker_->counters; }
  PacketProcessor& processor() { return *worker_->processor; }

 private:
  WorkerRigOptions options_;
  std::string prefix_;  // options_.name and this rig's number
  rte_mempool* mbufs_ = nullptr;
  rte_ring* events_ = nullptr;
  rte_ring* learned_ = nullptr;
  rte_ring* neighbour_events_ = nullptr;
  rte_ring* control_frames_ = nullptr;
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::unique_ptr<RigWorker> worker_;
};

}  // namespace sluice

// The poll loop of one worker lcore: rx burst from each port, process, tx burst to the other.
// With several workers (worker_lanes.h) it polls its own queues, hands frames it does not own
// to their owner, judges what others handed it, and sends through its queue or a tx ring.
// In routed mode (a Router in the setup) every port is received from, the router sorts and
// routes around the processor (stage/route.h), and each port transmits its own list; with
// several workers each has its own router and steers frames to their owner (routed_owner.h).
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/policy/compiled_policy.h"
#include "dataplane/route/neighbour_table.h"
#include "dataplane/route/routed_owner.h"
#include "dataplane/route/routing_tables.h"
#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/worker_lanes.h"

struct rte_rcu_qsbr;
struct rte_ring;

namespace sluice {

class Router;

// State the control thread shares with every worker.
struct WorkerShared {
  std::atomic<const CompiledPolicy*> policy{nullptr};  // control: publish (release); workers: read (acquire)
  std::atomic<bool> stop{false};                       // control: write; workers: read
  // Addresses learned from DNS answers: control publishes (release) a new table and frees the
  // old one after an RCU grace period; workers read (acquire) through PacketProcessorSetup.
  std::atomic<const LearnedAddressTable*> learned{nullptr};
  // Routed mode only (null in bridge mode): the routing tables (built once from the config) and
  // the neighbour table (a new one per change). Control publishes (release) and frees an old
  // one after an RCU grace period; workers read (acquire) once a loop iteration (RouterSetup).
  std::atomic<const RoutingTables*> routing{nullptr};
  std::atomic<const NeighbourTable*> neighbours{nullptr};
  // Ready to carry traffic: a policy loaded, every worker polling (the heartbeat /readyz uses),
  // not drained. Control: writes (relaxed) every loop iteration, false before the workers stop;
  // workers: read (relaxed) to answer routed mode's health probe (dataplane/local/local_delivery.h).
  std::atomic<bool> ready{false};
  // Workers report a quiescent state after every loop iteration (thread id = worker index).
  rte_rcu_qsbr* qsbr = nullptr;
};

struct WorkerLoopSetup {
  PacketProcessor* processor = nullptr;
  WorkerCounters* counters = nullptr;
  WorkerShared* shared = nullptr;
  uint16_t ports[kSideCount] = {};  // indexed by Side
  unsigned qsbr_thread_id = 0;
  // Several workers: this one's queues and the rings between them (bridge mode). The default
  // is one worker on queue 0 of each port.
  WorkerLanes lanes;
  // Routed mode: the router (null: bridge mode), the DPDK port of each routed port index
  // (ports[] first, then e.g. the exception port), and the control→worker frame ring
  // (rte_mbuf pointers, `port` = routed port index; single producer: control).
  Router* router = nullptr;
  uint16_t routed_ports[kMaxRoutedPorts] = {};
  uint8_t routed_port_count = kSideCount;
  rte_ring* control_frames = nullptr;
  // Routed mode with several workers: the owner rule steering uses (routed_owner.h); null with
  // one worker and in bridge mode (flow_owner.h steers there).
  const RoutedOwnerRules* routed_owner = nullptr;
};

// lcore entry point (rte_eal_remote_launch); `arg` is a WorkerLoopSetup*. Returns 0.
int run_worker_loop(void* arg);

// Control thread: hands the worker `frame` to send out of routed port `port`. False (the
// caller still owns the frame) when the ring is full.
bool send_control_frame(rte_ring* control_frames, rte_mbuf* frame, uint8_t port);

}  // namespace sluice

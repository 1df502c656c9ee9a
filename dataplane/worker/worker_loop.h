// The poll loop of one worker lcore: rx burst from each port, process, tx burst to the other.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/policy/compiled_policy.h"
#include "dataplane/worker/packet_processor.h"

struct rte_rcu_qsbr;

namespace sluice {

// State the control thread shares with every worker.
struct WorkerShared {
  std::atomic<const CompiledPolicy*> policy{nullptr};  // control: publish (release); workers: read (acquire)
  std::atomic<bool> stop{false};                       // control: write; workers: read
  // Addresses learned from DNS answers: control publishes (release) a new table and frees the
  // old one after an RCU grace period; workers read (acquire) through PacketProcessorSetup.
  std::atomic<const LearnedAddressTable*> learned{nullptr};
  // Ready to carry traffic: a policy loaded, every worker polling (the heartbeat /readyz uses),
  // not drained. Control: writes (relaxed) every loop iteration, false before the workers stop;
  // workers: read (relaxed) to answer routed mode's health probe (dataplane/local/local_delivery.h).
  std::atomic<bool> ready{false};
  rte_rcu_qsbr* qsbr = nullptr;  // workers report a quiescent state after every loop iteration
};

struct WorkerLoopSetup {
  PacketProcessor* processor = nullptr;
  WorkerCounters* counters = nullptr;
  WorkerShared* shared = nullptr;
  uint16_t ports[kSideCount] = {};  // indexed by Side
  unsigned qsbr_thread_id = 0;
};

// lcore entry point (rte_eal_remote_launch); `arg` is a WorkerLoopSetup*. Returns 0.
int run_worker_loop(void* arg);

}  // namespace sluice

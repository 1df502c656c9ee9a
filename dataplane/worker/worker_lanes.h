// How one worker of several shares the ports with the others (docs/ARCHITECTURE.md, "Several
// workers"): which queue of each port it polls and sends on, and the rings between workers.
//
// Ownership: a flow belongs to one worker. Where every port spreads its receive queues by
// symmetric RSS (ports.h), the NIC already delivers each flow to its owner. Otherwise (a port
// with fewer queues than workers, or without RSS) the receiving worker computes the owner
// (flow_owner.h) and hands frames it does not own over `handoff_out[owner]`; the owner takes
// them from `handoff_in[from]`. A port with fewer transmit queues than workers is sent to by
// the others through its tx ring, which the worker holding transmit queue 0 drains.
// With one worker nothing here is used: no hash, no ring.
//
// Routed mode with several workers always steers in software (SNAT answers break the symmetry
// RSS needs; the owner is routed_owner.h's), polls the routed ports' queues like bridge mode,
// and leaves the exception port (a tap, one queue) to worker 0: the others send to it through
// `exception_tx_ring`, which worker 0 drains.
#pragma once

#include <cstdint>

#include "dataplane/worker/worker_counters.h"

struct rte_ring;

namespace sluice {

inline constexpr uint16_t kMaxWorkers = 16;  // learned_addresses.h keeps a sequence per worker
inline constexpr uint16_t kNoQueue = 0xffff;

struct WorkerLanes {
  uint16_t worker_index = 0;
  uint16_t worker_count = 1;
  uint16_t rx_queue[kSideCount] = {0, 0};  // kNoQueue: this worker polls no queue of that port
  uint16_t tx_queue[kSideCount] = {0, 0};  // kNoQueue: it sends through tx_ring[side]
  // Multi-producer (the workers without a queue), single consumer (the worker with queue 0).
  rte_ring* tx_ring[kSideCount] = {nullptr, nullptr};
  bool drains_tx_ring[kSideCount] = {false, false};
  // True: the workers hash each received frame to its owner (flow_owner.h) and hand it over.
  bool steer = false;
  // Single producer, single consumer: handoff_out[w] is worker w's handoff_in[this worker].
  rte_ring* handoff_out[kMaxWorkers] = {};
  rte_ring* handoff_in[kMaxWorkers] = {};
  // Routed mode, several workers, an exception port: multi-producer (workers 1…), single
  // consumer (worker 0, which also sends to the tap directly).
  rte_ring* exception_tx_ring = nullptr;
};

}  // namespace sluice

// The baseline worker: the real worker loop's shape (rx burst from each port, tx burst to the
// other, packets and bytes counted) without PacketProcessor — what moving packets through one
// core costs in this harness, measured in the same run as the firewall.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/worker/worker_counters.h"

namespace sluice::bench {

struct PassthroughSetup {
  uint16_t ports[kSideCount] = {};
  WorkerCounters* counters = nullptr;       // rx/tx per side, tx_failed drops
  const std::atomic<bool>* stop = nullptr;  // feeder: write; worker: read
};

// lcore entry point; `arg` is a PassthroughSetup*.
int run_passthrough_loop(void* arg);

}  // namespace sluice::bench

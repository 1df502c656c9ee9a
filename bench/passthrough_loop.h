// The baseline worker: the real worker loop's shape (rx burst from each port, tx burst to the
// other, packets and bytes counted) without PacketProcessor — what moving packets through one
// core costs in this harness, measured in the same run as the firewall.
#pragma once

#include <atomic>
#include <cstdint>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dataplane/reason.h"
#include "dataplane/worker/worker_counters.h"

namespace sluice::bench {

struct PassthroughSetup {
  uint16_t ports[kSideCount] = {};
  WorkerCounters* counters = nullptr;       // rx/tx per side, tx_failed drops
  const std::atomic<bool>* stop = nullptr;  // feeder: write; worker: read
};

// What both baselines do with a burst from `side` (`bytes` its frames' length): count it in,
// send it out of the other port, count it out, and free and count what the port refused.
inline void forward_burst(const uint16_t (&ports)[kSideCount], WorkerCounters& counters, int side,
                          rte_mbuf** packets, uint16_t count, uint64_t bytes) {
  bump(counters.rx_packets[side], count);
  bump(counters.rx_bytes[side], bytes);
  const int other = 1 - side;
  const uint16_t sent = rte_eth_tx_burst(ports[other], 0, packets, count);
  for (uint16_t i = sent; i < count; ++i) rte_pktmbuf_free(packets[i]);
  bump(counters.tx_packets[other], sent);
  bump(counters.tx_bytes[other], bytes);
  if (sent < count) bump(counters.dropped_packets[static_cast<int>(Reason::tx_failed)], count - sent);
}

// lcore entry point; `arg` is a PassthroughSetup*.
int run_passthrough_loop(void* arg);

}  // namespace sluice::bench

// sluiced's neighbour manager (neighbour_manager.h) wired to DPDK: the frames it sends become
// mbufs on the control→worker frame ring, the tables it builds are published through
// WorkerShared::neighbours (after an RCU grace period once the worker runs), and the worker's
// NeighbourEvents (RoutedMode's ring) feed it. Routed mode only; control thread only.
#pragma once

#include <chrono>
#include <memory>

#include "config.pb.h"
#include "controlplane/daemon/neighbour_manager.h"
#include "controlplane/daemon/routed_mode.h"
#include "dataplane/worker/worker_loop.h"

struct rte_rcu_qsbr;

namespace sluice {

class RoutedNeighbours {
 public:
  // After RoutedMode::start: takes over RoutedMode's event handler.
  RoutedNeighbours(RoutedMode& routed, WorkerShared& shared, const config::ApplianceConfig& config);

  // Before the worker is launched: publishes the first table (static neighbours) and queues the
  // gratuitous ARP and unsolicited NA for the worker to send once it runs.
  void start();
  // Once the worker runs: later tables wait for its quiescent state before the old one is freed.
  void worker_running(rte_rcu_qsbr* qsbr) { qsbr_ = qsbr; }
  // Control loop, after RoutedMode::poll: retries, refreshes and expiries that are due.
  void tick() { manager_->tick(now_ms()); }

  const NeighbourStats& stats() const { return manager_->stats(); }
  // Frames the manager wanted sent that found no buffer or no room on the ring.
  uint64_t frames_not_sent() const { return frames_not_sent_; }

 private:
  uint64_t now_ms() const;
  void send(uint8_t port, std::span<const uint8_t> frame);

  RoutedMode& routed_;
  WorkerShared& shared_;
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::unique_ptr<NeighbourManager> manager_;
  std::chrono::steady_clock::time_point origin_ = std::chrono::steady_clock::now();
  uint64_t frames_not_sent_ = 0;
};

}  // namespace sluice

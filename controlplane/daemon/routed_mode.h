// sluiced's routed mode on the control thread: builds the routing tables from the config and
// the ports' MACs, publishes them and the static neighbours (the first NeighbourTable), makes
// each worker's Router (its own translation state: its slice of the SNAT range, its DNS
// forwarder table, its ICMP error budget) and the owner rule they steer by (routed_owner.h),
// and drains the workers→control NeighbourEvent rings (one a worker). Control frames (ARP/ND
// requests) go to worker 0. Bridge mode never makes one.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config.pb.h"
#include "dataplane/local/kernel_service_filter.h"
#include "dataplane/route/neighbour_event.h"
#include "dataplane/route/neighbour_table.h"
#include "dataplane/route/routed_owner.h"
#include "dataplane/route/routing_tables.h"
#include "dataplane/worker/stage/address_translation.h"
#include "dataplane/worker/stage/route.h"
#include "dataplane/worker/worker_loop.h"
#include "dataplane/worker/worker_rig.h"

struct rte_rcu_qsbr;

namespace sluice {

// The worker's translation state from routing.snat and routing.dns_forwarder (the worker's
// slice of the range, tables of `capacity` translations), or null when neither is configured.
std::unique_ptr<NatState> make_nat_state(const sluice::config::ApplianceConfig& config, uint32_t capacity,
                                         uint32_t worker_index, uint32_t workers, uint64_t tsc_hz, uint64_t seed);

// Publishes `table` (null: none) for the workers and frees the one it replaces once every
// worker has passed a quiescent state (`qsbr`; null when no worker runs yet or any more).
void publish_neighbour_table(std::atomic<const NeighbourTable*>& slot, std::unique_ptr<NeighbourTable> table,
                             rte_rcu_qsbr* qsbr);

class RoutedMode {
 public:
  // After the ports are open, before the workers start: builds and publishes the tables and
  // makes one router a rig, on that rig's rings, buffers and counters (rig 0 also holds the
  // control-frame ring). `port_ids` by routed port index. `exception_port_id`: the DPDK port of
  // routing.exception_port's tap, opened by the caller (routed port index 2), or kNoExceptionPort.
  bool start(const sluice::config::ApplianceConfig& config, const uint16_t (&port_ids)[2], uint16_t exception_port_id,
             const std::vector<WorkerRig*>& rigs, WorkerShared& shared, std::string& error);
  static constexpr uint16_t kNoExceptionPort = 0xffff;
  // Puts worker `worker`'s router, the routed ports, the control→worker ring (worker 0) and,
  // with several workers, the owner rule into its setup.
  void attach(WorkerLoopSetup& loop, uint16_t worker) const;

  // Control loop: every NeighbourEvent the workers sent since the last call, to `handler` (the
  // neighbour manager's input), each worker's ring in turn a burst at a time so that none waits
  // behind another's. Without a handler they are counted and forgotten.
  using EventHandler = std::function<void(const NeighbourEvent&)>;
  void set_event_handler(EventHandler handler) { handler_ = std::move(handler); }
  void poll();
  uint64_t events_received() const { return events_received_; }

  // The control→worker ring (send_control_frame in worker_loop.h) and the rig's buffers.
  rte_ring* control_frames() const { return control_frames_; }
  rte_mempool* buffers() const { return buffers_; }
  const RoutingTables& tables() const { return *tables_; }

  // After the worker stopped: unpublishes the tables (frees the neighbour table).
  void stop(WorkerShared& shared);

 private:
  std::unique_ptr<RoutingTables> tables_;
  // One a worker: SNAT and the DNS forwarder (null when neither is configured), the router.
  std::vector<std::unique_ptr<NatState>> nat_;
  std::vector<std::unique_ptr<Router>> routers_;
  RoutedOwnerRules owner_rules_;  // read by the workers while they run (several workers)
  uint16_t port_ids_[2] = {};
  uint16_t exception_port_id_ = kNoExceptionPort;
  // The kernel services the workers admit to the tap (read by the router's local-delivery hook
  // for as long as the router lives).
  std::unique_ptr<KernelServiceFilter> kernel_services_;
  std::vector<rte_ring*> neighbour_events_;  // one a worker
  rte_ring* control_frames_ = nullptr;
  rte_mempool* buffers_ = nullptr;
  EventHandler handler_;
  uint64_t events_received_ = 0;
};

}  // namespace sluice

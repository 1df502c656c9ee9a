// sluiced's routed mode on the control thread: builds the routing tables from the config and
// the ports' MACs, publishes them and the static neighbours (the first NeighbourTable), makes
// the worker's Router, and drains the worker→control NeighbourEvent ring. Bridge mode never
// makes one.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config.pb.h"
#include "dataplane/route/neighbour_event.h"
#include "dataplane/route/neighbour_table.h"
#include "dataplane/route/routing_tables.h"
#include "dataplane/worker/stage/route.h"
#include "dataplane/worker/worker_loop.h"
#include "dataplane/worker/worker_rig.h"

struct rte_rcu_qsbr;

namespace sluice {

// Publishes `table` (null: none) for the workers and frees the one it replaces once every
// worker has passed a quiescent state (`qsbr`; null when no worker runs yet or any more).
void publish_neighbour_table(std::atomic<const NeighbourTable*>& slot, std::unique_ptr<NeighbourTable> table,
                             rte_rcu_qsbr* qsbr);

class RoutedMode {
 public:
  // After the ports are open, before the worker starts: builds and publishes the tables and
  // makes the router on the rig's rings and buffers. `port_ids` by routed port index.
  bool start(const sluice::config::ApplianceConfig& config, const uint16_t (&port_ids)[2], WorkerRig& rig,
             WorkerShared& shared, std::string& error);
  // Puts the router, the routed ports and the control→worker ring into the worker's setup.
  void attach(WorkerLoopSetup& loop) const;

  // Control loop: every NeighbourEvent the worker sent since the last call, to `handler` (the
  // neighbour manager's input). Without a handler they are counted and forgotten.
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
  std::unique_ptr<Router> router_;
  uint16_t port_ids_[2] = {};
  rte_ring* neighbour_events_ = nullptr;
  rte_ring* control_frames_ = nullptr;
  rte_mempool* buffers_ = nullptr;
  EventHandler handler_;
  uint64_t events_received_ = 0;
};

}  // namespace sluice

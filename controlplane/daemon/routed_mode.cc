#include "controlplane/daemon/routed_mode.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "controlplane/config/routing_config.h"

namespace sluice {

void publish_neighbour_table(std::atomic<const NeighbourTable*>& slot, std::unique_ptr<NeighbourTable> table,
                             rte_rcu_qsbr* qsbr) {
  const NeighbourTable* previous = slot.exchange(table.release(), std::memory_order_acq_rel);
  if (qsbr) rte_rcu_qsbr_synchronize(qsbr, RTE_QSBR_THRID_INVALID);
  delete previous;
}

bool RoutedMode::start(const sluice::config::ApplianceConfig& config, const uint16_t (&port_ids)[2], WorkerRig& rig,
                       WorkerShared& shared, std::string& error) {
  MacAddress macs[2];
  for (int port = 0; port < 2; ++port) {
    rte_ether_addr address{};
    if (rte_eth_macaddr_get(port_ids[port], &address) != 0) {
      error = "cannot read the MAC address of port " + std::to_string(port_ids[port]);
      return false;
    }
    std::memcpy(macs[port].bytes, address.addr_bytes, sizeof macs[port].bytes);
    port_ids_[port] = port_ids[port];
  }
  neighbour_events_ = rig.neighbour_events();
  control_frames_ = rig.control_frames();
  buffers_ = rig.mbufs();
  if (!neighbour_events_ || !control_frames_) {
    error = "routed mode needs the rig's neighbour and control-frame rings";
    return false;
  }
  tables_ = build_routing_tables(config, macs);
  shared.routing.store(tables_.get(), std::memory_order_release);
  publish_neighbour_table(shared.neighbours, build_static_neighbours(config), nullptr);
  RouterSetup setup;
  setup.tables = &shared.routing;
  setup.neighbours = &shared.neighbours;
  setup.neighbour_events = neighbour_events_;
  setup.reply_pool = rig.mbufs();
  setup.counters = &rig.counters();
  router_ = std::make_unique<Router>(setup, rte_get_tsc_hz());
  return true;
}

void RoutedMode::attach(WorkerLoopSetup& loop) const {
  loop.router = router_.get();
  loop.routed_ports[0] = port_ids_[0];
  loop.routed_ports[1] = port_ids_[1];
  loop.routed_port_count = 2;
  loop.control_frames = control_frames_;
}

void RoutedMode::poll() {
  if (!neighbour_events_) return;
  NeighbourEvent events[64];
  unsigned count;
  while ((count = rte_ring_dequeue_burst_elem(neighbour_events_, events, sizeof(NeighbourEvent), 64, nullptr)) > 0) {
    events_received_ += count;
    if (handler_)
      for (unsigned i = 0; i < count; ++i) handler_(events[i]);
  }
}

void RoutedMode::stop(WorkerShared& shared) {
  poll();
  publish_neighbour_table(shared.neighbours, nullptr, nullptr);
  shared.routing.store(nullptr, std::memory_order_release);
}

}  // namespace sluice

#include "controlplane/daemon/routed_mode.h"

#include <algorithm>
#include <cstring>

#include <rte_cycles.h>
#include <rte_random.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "controlplane/config/exception_config.h"
#include "controlplane/config/routing_config.h"
#include "controlplane/policy/cidr.h"
#include "dataplane/nat/snat_port_slices.h"

namespace sluice {

std::unique_ptr<NatState> make_nat_state(const sluice::config::ApplianceConfig& config, uint32_t capacity,
                                         uint32_t worker_index, uint32_t workers, uint64_t tsc_hz, uint64_t seed) {
  const auto& snat = config.routing().snat();
  const bool forwarder = config.routing().dns_forwarder().enabled();
  if (snat.addresses_size() == 0 && !forwarder) return nullptr;
  auto nat = std::make_unique<NatState>();
  if (snat.addresses_size() > 0) {
    SnatTableSettings settings;
    settings.capacity = capacity;
    for (const std::string& text : snat.addresses())
      if (auto address = parse_ip(text)) settings.addresses.push_back(*address);
    const SnatPortSlices slices(uint16_t(snat.port_min()), uint16_t(snat.port_max()), workers);
    settings.ports = slices.slice(worker_index);
    settings.quarantine_ticks = uint64_t(snat.quarantine_seconds()) * tsc_hz;
    settings.hash_seed = seed;
    nat->snat = nat->table.init(settings);
    // Idle translations end like the mappings of RFC 5382 (TCP: 2 h 4 min), RFC 4787 (UDP:
    // 5 min) and RFC 5508 (ICMP: 1 min); the flow table ages its own entries separately.
    nat->idle = {7440 * tsc_hz, 300 * tsc_hz, 60 * tsc_hz};
  }
  if (forwarder) nat->dns_forwarder = nat->forwards.init(4096, 30 * tsc_hz, seed ^ 0x5eed);
  return nat;
}

void publish_neighbour_table(std::atomic<const NeighbourTable*>& slot, std::unique_ptr<NeighbourTable> table,
                             rte_rcu_qsbr* qsbr) {
  const NeighbourTable* previous = slot.exchange(table.release(), std::memory_order_acq_rel);
  if (qsbr) rte_rcu_qsbr_synchronize(qsbr, RTE_QSBR_THRID_INVALID);
  delete previous;
}

bool RoutedMode::start(const sluice::config::ApplianceConfig& config, const uint16_t (&port_ids)[2],
                       uint16_t exception_port_id, const std::vector<WorkerRig*>& rigs, WorkerShared& shared,
                       std::string& error) {
  if (rigs.empty()) {
    error = "routed mode needs a worker";
    return false;
  }
  WorkerRig& rig = *rigs[0];
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
  neighbour_events_.clear();
  for (WorkerRig* worker : rigs) neighbour_events_.push_back(worker->neighbour_events());
  control_frames_ = rig.control_frames();
  buffers_ = rig.mbufs();
  for (rte_ring* ring : neighbour_events_)
    if (!ring) control_frames_ = nullptr;
  if (!control_frames_) {
    error = "routed mode needs each rig's neighbour ring and rig 0's control-frame ring";
    return false;
  }
  tables_ = build_routing_tables(config, macs);
  if (exception_port_id != kNoExceptionPort) {
    // The tap: a routed port with the MAC both its ends share and no address of its own (the
    // kernel behind it holds the appliance's addresses, exception_interface.h).
    rte_ether_addr address{};
    if (rte_eth_macaddr_get(exception_port_id, &address) != 0) {
      error = "cannot read the MAC address of the exception port";
      return false;
    }
    RoutedPort tap;
    std::memcpy(tap.mac.bytes, address.addr_bytes, sizeof tap.mac.bytes);
    tables_->set_port(kExceptionRoutedPort, tap);
    tables_->seal();
    exception_port_id_ = exception_port_id;
  }
  shared.routing.store(tables_.get(), std::memory_order_release);
  publish_neighbour_table(shared.neighbours, build_static_neighbours(config), nullptr);
  kernel_services_ = std::make_unique<KernelServiceFilter>(build_kernel_service_filter(config.routing().exception_port()));
  const uint32_t workers = uint32_t(rigs.size());
  nat_.clear();
  routers_.clear();
  for (uint32_t worker = 0; worker < workers; ++worker) {
    RouterSetup setup;
    setup.tables = &shared.routing;
    setup.neighbours = &shared.neighbours;
    setup.neighbour_events = neighbour_events_[worker];
    setup.reply_pool = rigs[worker]->mbufs();
    setup.counters = &rigs[worker]->counters();
    setup.local.probe_port = uint16_t(config.routing().health_probe().tcp_port());
    setup.local.ready = &shared.ready;
    if (exception_port_id_ != kNoExceptionPort) {
      setup.local.kernel = kernel_services_.get();
      setup.local.exception_port = kExceptionRoutedPort;
    }
    // Each worker hands out SNAT ports from its own slice of the range (snat_port_slices.h).
    nat_.push_back(make_nat_state(config, config.flow_capacity(), worker, workers, rte_get_tsc_hz(), rte_rand()));
    setup.nat = nat_.back().get();
    routers_.push_back(std::make_unique<Router>(setup, rte_get_tsc_hz()));
    // Records carry the source a flow left with (and a flow SNAT cannot translate is refused at
    // its verdict, with its record): the processor asks its router's translation.
    if (nat_.back() && nat_.back()->snat)
      rigs[worker]->processor().set_source_translation(&routers_.back()->source_translation());
  }
  // The owner rule of several workers: the tables (immutable once published) and the SNAT range.
  owner_rules_.tables = tables_.get();
  owner_rules_.workers = uint16_t(workers);
  owner_rules_.snat_addresses.clear();
  const auto& snat = config.routing().snat();
  for (const std::string& text : snat.addresses())
    if (auto address = parse_ip(text)) owner_rules_.snat_addresses.push_back(*address);
  if (!owner_rules_.snat_addresses.empty())
    owner_rules_.slices = SnatPortSlices(uint16_t(snat.port_min()), uint16_t(snat.port_max()), workers);
  return true;
}

void RoutedMode::attach(WorkerLoopSetup& loop, uint16_t worker) const {
  loop.router = routers_[worker].get();
  loop.routed_owner = routers_.size() > 1 ? &owner_rules_ : nullptr;
  loop.routed_ports[0] = port_ids_[0];
  loop.routed_ports[1] = port_ids_[1];
  loop.routed_port_count = 2;
  if (exception_port_id_ != kNoExceptionPort) {
    loop.routed_ports[kExceptionRoutedPort] = exception_port_id_;
    loop.routed_port_count = kExceptionRoutedPort + 1;
  }
  loop.control_frames = worker == 0 ? control_frames_ : nullptr;
}

void RoutedMode::poll() {
  NeighbourEvent events[64];
  // What each ring holds now, and no more (a flood of ARP or ND frames keeps the workers
  // reporting senders: the control thread must still get back to its other work), a batch from
  // each ring in turn.
  std::vector<unsigned> left;
  left.reserve(neighbour_events_.size());
  for (rte_ring* ring : neighbour_events_) left.push_back(rte_ring_count(ring));
  for (bool more = true; more;) {
    more = false;
    for (size_t r = 0; r < neighbour_events_.size(); ++r) {
      if (left[r] == 0) continue;
      const unsigned want = std::min(64u, left[r]);
      const unsigned count = rte_ring_dequeue_burst_elem(neighbour_events_[r], events, sizeof(NeighbourEvent), want, nullptr);
      left[r] = count < want ? 0 : left[r] - count;
      if (count == 0) continue;
      more = true;
      events_received_ += count;
      if (handler_)
        for (unsigned i = 0; i < count; ++i) handler_(events[i]);
    }
  }
}

void RoutedMode::stop(WorkerShared& shared) {
  poll();
  publish_neighbour_table(shared.neighbours, nullptr, nullptr);
  shared.routing.store(nullptr, std::memory_order_release);
}

}  // namespace sluice

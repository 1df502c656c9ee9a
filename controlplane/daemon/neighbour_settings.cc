#include "controlplane/daemon/neighbour_settings.h"

#include "controlplane/config/routing_config.h"
#include "controlplane/policy/cidr.h"

namespace sluice {

namespace {

bool is_unspecified(const IpAddress& address) {
  for (uint8_t b : address.bytes)
    if (b != 0) return false;
  return true;
}

}  // namespace

NeighbourSettings neighbour_settings(const RoutingTables& tables, const config::ApplianceConfig& config) {
  NeighbourSettings settings;
  for (int index = 0; index < kMaxRoutedPorts; ++index) {
    const RoutedPort& routed = tables.port(uint8_t(index));
    if (!routed.present) continue;
    NeighbourPort port;
    port.side = uint8_t(index);
    port.mac = routed.mac;
    port.addresses = routed.addresses;
    settings.ports.push_back(std::move(port));
  }
  for (const auto& neighbour : config.routing().static_neighbours()) {
    const uint8_t side = routed_port_of(neighbour.port());
    const auto address = parse_ip(neighbour.address());
    const auto mac = parse_mac(neighbour.mac());
    if (side == kNoPort || !address || !mac) continue;
    settings.static_neighbours.push_back({side, *address, *mac, is_unspecified(*address)});
  }
  const auto& timers = config.routing().neighbour_timers();
  if (timers.reachable_seconds() != 0) settings.reachable_ms = uint64_t(timers.reachable_seconds()) * 1000;
  if (timers.retry_ms() != 0) settings.retry_ms = timers.retry_ms();
  return settings;
}

}  // namespace sluice

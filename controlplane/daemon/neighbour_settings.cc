#include "controlplane/daemon/neighbour_settings.h"

#include <string>
#include <string_view>

#include "controlplane/policy/cidr.h"

namespace sluice {

namespace {

// INSIDE → 0, OUTSIDE → 1 (NeighbourTable's numbering); -1 for anything else.
int side_of(config::PortRole role) {
  if (role == config::INSIDE) return 0;
  if (role == config::OUTSIDE) return 1;
  return -1;
}

bool is_unspecified(const IpAddress& address) {
  for (uint8_t b : address.bytes)
    if (b != 0) return false;
  return true;
}

}  // namespace

NeighbourSettings neighbour_settings(const config::ApplianceConfig& config, const MacAddress port_macs[2]) {
  NeighbourSettings settings;
  for (const auto& port : config.ports()) {
    const int side = side_of(port.role());
    if (side < 0) continue;
    NeighbourPort entry;
    entry.side = uint8_t(side);
    entry.mac = port_macs[side];
    for (const auto& text : port.addresses()) {
      // "198.18.0.1/24": the own address, and its connected prefix's length (read by parse_cidr
      // on the family's zero address, whose host bits are always clear).
      const std::string_view whole = text;
      const size_t slash = whole.find('/');
      const auto address = parse_ip(whole.substr(0, slash));
      if (!address || slash == std::string_view::npos) continue;
      Cidr prefix;
      const std::string zero = std::string(address->family == 4 ? "0.0.0.0" : "::") + std::string(whole.substr(slash));
      if (parse_cidr(zero, prefix) != CidrError::none) continue;
      const uint8_t length = prefix.prefix_length;
      entry.addresses.push_back({*address, length});
    }
    settings.ports.push_back(std::move(entry));
  }
  for (const auto& neighbour : config.routing().static_neighbours()) {
    const int side = side_of(neighbour.port());
    const auto address = parse_ip(neighbour.address());
    const auto mac = parse_mac(neighbour.mac());
    if (side < 0 || !address || !mac) continue;
    settings.static_neighbours.push_back({uint8_t(side), *address, *mac, is_unspecified(*address)});
  }
  const auto& timers = config.routing().neighbour_timers();
  if (timers.reachable_seconds() != 0) settings.reachable_ms = uint64_t(timers.reachable_seconds()) * 1000;
  if (timers.retry_ms() != 0) settings.retry_ms = timers.retry_ms();
  return settings;
}

}  // namespace sluice

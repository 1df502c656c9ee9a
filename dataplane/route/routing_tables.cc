#include "dataplane/route/routing_tables.h"

#include <algorithm>
#include <cstring>

namespace sluice {

namespace {

int family_index(uint8_t family) { return family == 6 ? 1 : 0; }

// Sealed order: family, then longest prefix first, then the prefix bytes.
bool route_before(const RouteEntry& a, const RouteEntry& b) {
  if (a.prefix.family != b.prefix.family) return a.prefix.family < b.prefix.family;
  if (a.prefix_length != b.prefix_length) return a.prefix_length > b.prefix_length;
  return std::memcmp(a.prefix.bytes, b.prefix.bytes, sizeof a.prefix.bytes) < 0;
}

}  // namespace

IpAddress mask_address(const IpAddress& address, uint8_t prefix_length) {
  // Byte-wise: the router calls this for each prefix length of its routes, twice a packet
  // (the route and the reverse-path check), so it is on the hot path.
  IpAddress masked = address;
  const int total_bits = address.family == 4 ? 32 : 128;
  const int kept_bits = prefix_length < total_bits ? prefix_length : total_bits;
  const int full_bytes = kept_bits / 8;
  const int rest_bits = kept_bits % 8;
  int first_cleared = full_bytes;
  if (rest_bits != 0) masked.bytes[first_cleared++] &= uint8_t(0xff00u >> rest_bits);
  std::memset(masked.bytes + first_cleared, 0, sizeof masked.bytes - first_cleared);
  return masked;
}

bool prefix_contains(const IpAddress& prefix, uint8_t prefix_length, const IpAddress& address) {
  return address.family == prefix.family && mask_address(address, prefix_length) == mask_address(prefix, prefix_length);
}

void RoutingTables::set_port(uint8_t port, const RoutedPort& description) {
  if (port >= kMaxRoutedPorts) return;
  ports_[port] = description;
  ports_[port].present = true;
  for (const OwnAddress& own : description.addresses) {
    RouteEntry connected;
    connected.prefix = mask_address(own.address, own.prefix_length);
    connected.prefix_length = own.prefix_length;
    connected.port = port;
    connected.connected = true;
    bool shadowed = false;
    for (const RouteEntry& route : routes_)
      shadowed |= route.prefix == connected.prefix && route.prefix_length == connected.prefix_length;
    if (!shadowed) routes_.push_back(connected);
  }
  sealed_ = false;
}

void RoutingTables::add_route(const RouteEntry& route) {
  RouteEntry entry = route;
  entry.prefix = mask_address(route.prefix, route.prefix_length);
  for (RouteEntry& existing : routes_) {
    if (existing.prefix == entry.prefix && existing.prefix_length == entry.prefix_length) {
      existing = entry;
      return;
    }
  }
  routes_.push_back(entry);
  sealed_ = false;
}

void RoutingTables::seal() {
  std::sort(routes_.begin(), routes_.end(), route_before);
  runs_[0].clear();
  runs_[1].clear();
  for (uint32_t i = 0; i < routes_.size(); ++i) {
    auto& runs = runs_[family_index(routes_[i].prefix.family)];
    if (runs.empty() || runs.back().length != routes_[i].prefix_length) runs.push_back({routes_[i].prefix_length, i, i});
    runs.back().end = i + 1;
  }
  sealed_ = true;
}

RouteResult RoutingTables::lookup(const IpAddress& destination) const {
  RouteResult result;
  if (!sealed_ || (destination.family != 4 && destination.family != 6)) return result;
  for (const LengthRun& run : runs_[family_index(destination.family)]) {
    RouteEntry wanted;
    wanted.prefix = mask_address(destination, run.length);
    wanted.prefix_length = run.length;
    auto begin = routes_.begin() + run.begin, end = routes_.begin() + run.end;
    auto it = std::lower_bound(begin, end, wanted, route_before);
    if (it != end && it->prefix == wanted.prefix) {
      result.route = &*it;
      result.next_hop = it->connected ? destination : it->via;
      return result;
    }
  }
  return result;
}

uint8_t RoutingTables::owner_of(const IpAddress& address) const {
  for (uint8_t port = 0; port < kMaxRoutedPorts; ++port)
    for (const OwnAddress& own : ports_[port].addresses)
      if (own.address == address) return port;
  return kNoPort;
}

const IpAddress* RoutingTables::own_address(uint8_t port, uint8_t family) const {
  if (port >= kMaxRoutedPorts) return nullptr;
  for (const OwnAddress& own : ports_[port].addresses)
    if (own.address.family == family) return &own.address;
  return nullptr;
}

}  // namespace sluice

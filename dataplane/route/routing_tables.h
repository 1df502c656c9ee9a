// Routed mode's tables as the workers read them: per port its own MAC, its own addresses (with
// their connected prefixes) and MTU, and the routes (longest prefix match, IPv4 and IPv6). The
// control thread builds them from the config (controlplane/config/routing_config.h) and
// publishes them through WorkerShared::routing like a policy; a published table is immutable.
// Pure: no DPDK, no allocation after build; lookups are what the worker calls per packet.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/parse/ip_address.h"
#include "dataplane/route/mac_address.h"

namespace sluice {

// Ports of routed mode by index: the worker's Side values (0 inside, 1 outside); the exception
// port (tap) takes the next index when it exists.
inline constexpr int kMaxRoutedPorts = 3;
inline constexpr uint8_t kNoPort = 0xff;
// The exception port (routing.exception_port, a tap to the host kernel) when there is one.
inline constexpr uint8_t kExceptionRoutedPort = 2;

struct OwnAddress {
  IpAddress address;
  uint8_t prefix_length = 0;  // of the connected prefix
};

struct RoutedPort {
  bool present = false;
  MacAddress mac;
  std::vector<OwnAddress> addresses;
  uint32_t mtu = 1500;  // largest IP packet sent out of this port (L3 bytes)
};

struct RouteEntry {
  IpAddress prefix;  // host bits zero
  uint8_t prefix_length = 0;
  uint8_t port = kNoPort;
  bool connected = false;  // the next hop is the destination itself
  IpAddress via;           // when not connected
  bool snat = false;
};

// Where a packet goes: out of `port`, to the L2 neighbour `next_hop`.
struct RouteResult {
  const RouteEntry* route = nullptr;  // null: no route
  IpAddress next_hop;
};

class RoutingTables {
 public:
  // Control thread, before publishing. add_route of a prefix already there replaces it.
  // set_port's connected prefixes become routes (a static route of the same prefix wins).
  void set_port(uint8_t port, const RoutedPort& description);
  void add_route(const RouteEntry& route);
  void seal();  // sorts; call once after the adds, before publishing

  // Workers.
  RouteResult lookup(const IpAddress& destination) const;
  // The port owning `address` as one of its own, or kNoPort.
  uint8_t owner_of(const IpAddress& address) const;
  // The first own address of `family` on `port` (the source of the ICMP errors it sends), or null.
  const IpAddress* own_address(uint8_t port, uint8_t family) const;
  const RoutedPort& port(uint8_t index) const { return ports_[index < kMaxRoutedPorts ? index : 0]; }

  size_t route_count() const { return routes_.size(); }
  // Control thread: every route, connected prefixes included (for resolving next hops at start).
  const std::vector<RouteEntry>& routes() const { return routes_; }

 private:
  RoutedPort ports_[kMaxRoutedPorts];
  std::vector<RouteEntry> routes_;  // sealed: by family, prefix length descending, then prefix
  // Per family (index 0: v4, 1: v6): the prefix lengths present, longest first; lookups try each
  // with a binary search in its run of routes_.
  struct LengthRun {
    uint8_t length = 0;
    uint32_t begin = 0, end = 0;
  };
  std::vector<LengthRun> runs_[2];
  bool sealed_ = false;
};

// `address` with the bits past `prefix_length` cleared.
IpAddress mask_address(const IpAddress& address, uint8_t prefix_length);
bool prefix_contains(const IpAddress& prefix, uint8_t prefix_length, const IpAddress& address);

}  // namespace sluice

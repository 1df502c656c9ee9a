// The neighbours of routed mode as the workers read them: (port side, IP address) → MAC. The
// control thread owns resolution (ARP, IPv6 ND, static entries, timeouts and refresh); it builds
// a new table when an entry changes and publishes it like a policy (an atomic pointer, the old
// one freed after an RCU grace period). A published table is immutable: workers only `find`.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/parse/ip_address.h"
#include "dataplane/route/mac_address.h"

namespace sluice {

class NeighbourTable {
 public:
  // Control thread, before publishing. A second add of the same (side, address) replaces it.
  // `side` is the port's Side as a number (0 inside, 1 outside), so that this file needs no
  // worker header.
  void add(uint8_t side, const IpAddress& address, const MacAddress& mac);
  // Control thread: sorts for `find`; call once after the adds, before publishing.
  void seal();

  // Workers: the MAC of `address` on the port of `side`; false when it is not resolved (yet).
  // A binary search over a sorted array: no allocation, lock or syscall.
  bool find(uint8_t side, const IpAddress& address, MacAddress& mac) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint8_t side = 0;
    IpAddress address;
    MacAddress mac;
  };
  static bool before(const Entry& a, uint8_t side, const IpAddress& address);
  std::vector<Entry> entries_;
  bool sealed_ = false;
};

}  // namespace sluice

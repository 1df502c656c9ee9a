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
  // Control thread, before publishing. A later add of the same (side, address) replaces the
  // earlier one (from seal() on; size() counts both until then).
  // `side` is the port's Side as a number (0 inside, 1 outside), so that this file needs no
  // worker header.
  void add(uint8_t side, const IpAddress& address, const MacAddress& mac);
  // Control thread, before publishing: every `family` (4 or 6) address on the port of `side`
  // that has no entry of its own maps to `mac`. Azure's platform answers ARP for every address
  // of a subnet with one fixed MAC; a static neighbour "any address on this port" is this.
  void set_fallback(uint8_t side, uint8_t family, const MacAddress& mac);
  // Control thread: sorts for `find`; call once after the adds, before publishing.
  void seal();

  // Workers: the MAC of `address` on the port of `side` (its own entry, else the fallback of its
  // family on that side); false when it is not resolved (yet). A binary search over a sorted
  // array: no allocation, lock or syscall.
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
  // [side][family 4: 0, 6: 1]; a zero MAC is no fallback.
  MacAddress fallback_[2][2] = {};
  bool sealed_ = false;
};

}  // namespace sluice

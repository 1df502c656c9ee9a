// A worker's SNAT translations: a fixed-capacity table of bindings (inside key ↔ outside key),
// each found in O(1) from either side through a chained hash index. Everything is allocated by
// `init` (control thread, before the worker starts); `allocate`, `find_*`, `touch`, `end` and
// `age` allocate nothing, take no lock and make no syscall. One worker owns a table: no field is
// shared.
//
// A translation is unique per (protocol, translated address, translated port, server address,
// server port): one source port may serve several servers at once (endpoint-dependent mapping),
// so the range is exhausted per destination, not per address. An ended binding stays in the
// outside index for `quarantine_ticks` (quarantined), so that a late packet of the old flow cannot
// land in a new flow to the same server through the same port; the inside index forgets it at
// once, so the client's next flow gets a new binding.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dataplane/nat/nat_key.h"
#include "dataplane/nat/snat_destinations.h"
#include "dataplane/nat/snat_port_slices.h"

namespace sluice {

struct SnatBinding {
  NatKey inside;   // client address and port → server
  NatKey outside;  // translated address and port → server
  uint64_t last_used = 0;
  uint64_t quarantine_until = 0;  // quarantined bindings only
  uint32_t next_inside = 0;       // chain links: index + 1, 0 ends the chain
  uint32_t next_outside = 0;
  uint16_t address_index = 0;     // into the table's addresses
  uint8_t state = 0;              // SnatBindingState
  bool destination_tracked = false;  // counted in the table's SnatDestinationCounts
};

enum class SnatBindingState : uint8_t { free = 0, active, quarantined };

enum class SnatAllocationStatus : uint8_t {
  ok,
  no_address,       // no SNAT address of the flow's family
  ports_exhausted,  // no port of the slice is free toward this server on any address
  table_full,       // every binding slot is taken (active or quarantined)
};

struct SnatAllocation {
  SnatAllocationStatus status = SnatAllocationStatus::no_address;
  int32_t index = -1;
};

// How long a binding may stay idle before `age` ends it, by protocol (ticks of the caller's clock).
struct SnatIdleTimeouts {
  uint64_t tcp = 0;
  uint64_t udp = 0;
  uint64_t icmp = 0;
};

struct SnatTableSettings {
  uint32_t capacity = 0;                 // bindings (active + quarantined), >= 1
  std::vector<IpAddress> addresses;      // the SNAT addresses, v4 and v6 mixed
  PortSlice ports;                       // this worker's slice
  uint64_t quarantine_ticks = 0;
  uint64_t hash_seed = 0;                // random, so a workload cannot aim at one chain
  // A port the allocator tries for one (address, destination) before the next address. The slice
  // is scanned from a point the flow hashes to; a slice over 1 - 1/e full toward one destination
  // may be refused before its last free port is found (documented as exhaustion).
  uint32_t max_probes = 256;
};

class SnatTable {
 public:
  // Control thread. False when the settings are unusable (no capacity, an empty slice, more
  // addresses than 65535).
  bool init(const SnatTableSettings& settings);

  // The active binding of an outbound packet's key (client side), or -1.
  int32_t find_inside(const NatKey& key) const;
  // The binding (active or quarantined) of a return packet's key (translated side), or -1.
  int32_t find_outside(const NatKey& key) const;

  // A new binding for `inside` (no active binding of it may exist: find_inside first).
  SnatAllocation allocate(const NatKey& inside, uint64_t now);
  void touch(int32_t index, uint64_t now) { bindings_[index].last_used = now; }
  // The flow ended (TCP RST, both FINs, the flow table forgot it): quarantine it.
  void end(int32_t index, uint64_t now);
  // Walks `budget` slots from where the last call stopped: ends idle bindings, frees quarantined
  // ones whose time is over. Returns the number of slots changed.
  uint32_t age(uint64_t now, const SnatIdleTimeouts& idle, uint32_t budget);

  const SnatBinding& binding(int32_t index) const { return bindings_[index]; }
  std::span<const IpAddress> addresses() const { return addresses_; }

  // Metrics (the owning worker writes; readers take relaxed snapshots through WorkerCounters).
  uint32_t active() const { return active_; }
  uint32_t quarantined() const { return quarantined_; }
  // Distinct ports of the slice in use (by an active or quarantined binding) on address `i`.
  uint32_t ports_in_use(size_t address_index) const { return ports_in_use_[address_index]; }
  uint32_t slice_size() const { return slice_.size(); }
  PortSlice port_range() const { return slice_; }
  uint64_t allocation_failures() const { return allocation_failures_; }
  // The fullest address's share of the slice, in parts per million (a gauge).
  uint32_t fullest_address_ppm() const;
  // Ports in use per destination, counted as bindings are made and released (snat_destinations.h).
  SnatDestinationCounts& destinations() { return destinations_; }
  const SnatDestinationCounts& destinations() const { return destinations_; }

 private:
  uint32_t bucket_of(const NatKey& key) const;
  void link_inside(uint32_t index);
  void link_outside(uint32_t index);
  void unlink_inside(uint32_t index);
  void unlink_outside(uint32_t index);
  void release(uint32_t index);
  void quarantine(uint32_t index, uint64_t now);
  uint32_t& port_use(uint16_t address_index, uint16_t port) {
    return port_users_[size_t(address_index) * slice_.size() + (port - slice_.first)];
  }

  std::vector<SnatBinding> bindings_;
  std::vector<uint32_t> inside_heads_;   // index + 1 of a chain's first binding, 0 empty
  std::vector<uint32_t> outside_heads_;
  std::vector<uint32_t> free_;           // a stack of free binding indices
  uint32_t free_count_ = 0;
  std::vector<IpAddress> addresses_;
  std::vector<uint32_t> port_users_;     // bindings using (address, port), per address and slice port
  std::vector<uint32_t> ports_in_use_;   // per address: ports with at least one user
  SnatDestinationCounts destinations_;
  PortSlice slice_;
  uint32_t bucket_mask_ = 0;
  uint64_t hash_seed_ = 0;
  uint64_t quarantine_ticks_ = 0;
  uint32_t max_probes_ = 256;
  uint32_t age_cursor_ = 0;
  uint32_t allocation_cursor_ = 0;
  uint32_t active_ = 0;
  uint32_t quarantined_ = 0;
  uint64_t allocation_failures_ = 0;
};

}  // namespace sluice

// Neighbour resolution of routed mode, owned by the control thread: which MAC each next hop and
// each neighbour on a connected prefix has, on which port. Entries come from the configuration
// (static neighbours, and "any address on this port" for Azure's fixed gateway MAC), from ARP
// and neighbour discovery the workers saw ("observed"), and from the workers' misses ("wanted"):
// a miss sends an ARP request or a neighbour solicitation, retried every retry interval. A
// resolved entry is used for reachable_seconds, then refreshed (still used while it is asked
// again); one that stops answering is removed. Every change builds a new NeighbourTable and hands
// it to `publish` (the caller stores it where workers read it, RCU like the policy). Frames go out
// through `send` (the control→worker frame ring).
//
// Time is a parameter of every call (milliseconds, any monotonic origin), so tests drive it
// without sleeping. Not thread-safe: control thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "dataplane/parse/ip_address.h"
#include "dataplane/route/mac_address.h"
#include "dataplane/route/neighbour_table.h"
#include "dataplane/route/routing_tables.h"

namespace sluice {

// One data port as the neighbour manager sees it.
struct NeighbourPort {
  uint8_t side = 0;  // the routed port index (RoutingTables, NeighbourTable): 0 inside, 1 outside
  MacAddress mac;    // the port's own MAC: source of every frame sent
  std::vector<OwnAddress> addresses;  // own addresses with their connected prefixes
};

struct StaticNeighbourEntry {
  uint8_t side = 0;
  IpAddress address;  // with any_address: only its family counts
  MacAddress mac;
  bool any_address = false;  // every address of the family on this port (NeighbourTable fallback)
};

struct NeighbourSettings {
  std::vector<NeighbourPort> ports;
  std::vector<StaticNeighbourEntry> static_neighbours;
  uint64_t reachable_ms = 300'000;  // routing.neighbour_timers.reachable_seconds
  uint64_t retry_ms = 1'000;        // routing.neighbour_timers.retry_ms
  unsigned max_requests = 3;        // requests unanswered before resolution (or refresh) fails
  // Resolved and resolving entries together. Entries learned from what neighbours sent (not from
  // a miss) may take at most half, so a workload that floods ARP cannot crowd out next hops.
  size_t capacity = 4096;
};

enum class NeighbourState : uint8_t {
  absent = 0,   // no entry (a static one included: see is_static)
  resolving,    // requests sent, no answer yet: not in the published table
  reachable,    // answered within reachable_ms: in the table
  refreshing,   // reachable_ms passed, requests sent again; the MAC stays in the table meanwhile
};

// Counters for docs/METRICS.md (sluice_neighbour_*). The control thread writes, scrapes (their
// own threads) read.
struct NeighbourStats {
  using Count = std::atomic<uint64_t>;
  Count requests_sent{0};          // ARP requests and neighbour solicitations
  Count announcements_sent{0};     // gratuitous ARP and unsolicited NA
  Count resolved{0};               // resolving → reachable
  Count failed{0};                 // resolving entries given up after max_requests
  Count expired{0};                // refreshing entries removed after max_requests
  Count mac_changes{0};            // an entry's MAC replaced by an observation
  Count refused_full{0};           // wanted or observed, but no room
  Count refused_not_connected{0};  // wanted or observed outside the side's connected prefixes
  Count ignored_static{0};         // observed for a static neighbour or an own address
  Count tables_published{0};
  Count resolving{0}, reachable{0}, refreshing{0}, static_entries{0};  // gauges
};

class NeighbourManager {
 public:
  using Send = std::function<void(uint8_t side, std::span<const uint8_t> frame)>;
  using Publish = std::function<void(std::unique_ptr<NeighbourTable> table)>;

  NeighbourManager(NeighbourSettings settings, Send send, Publish publish);

  // Publishes the first table (static neighbours) and announces every own address: gratuitous
  // ARP for IPv4, unsolicited NA for IPv6.
  void start(uint64_t now_ms);
  // A worker found no MAC for `address` on `side`: resolve it (no-op when already resolving or
  // resolved; a static neighbour never misses).
  void wanted(uint8_t side, const IpAddress& address, uint64_t now_ms);
  // A worker saw `address` at `mac` on `side` (an ARP sender, an NS source's or NA target's
  // link-layer address), already checked by read_arp / read_nd.
  void observed(uint8_t side, const IpAddress& address, const MacAddress& mac, uint64_t now_ms);
  // Retries, expiries and refreshes that are due. Call often (every control-loop turn is fine).
  void tick(uint64_t now_ms);

  NeighbourState state(uint8_t side, const IpAddress& address) const;
  const NeighbourStats& stats() const { return stats_; }

 private:
  struct Key {
    uint8_t side;
    IpAddress address;
    bool operator<(const Key& other) const;
  };
  struct Entry {
    NeighbourState state = NeighbourState::resolving;
    MacAddress mac;
    bool from_miss = false;      // created by wanted(), not by an observation
    uint64_t due_ms = 0;         // resolving/refreshing: next request; reachable: when refresh starts
    unsigned requests = 0;       // sent in this resolution or refresh
  };

  const NeighbourPort* port(uint8_t side) const;
  bool connected(const NeighbourPort& port, const IpAddress& address) const;
  bool is_own(const IpAddress& address) const;
  bool is_static(uint8_t side, const IpAddress& address) const;
  bool make_room(bool from_miss);
  void send_request(const Key& key);
  void publish_if_changed();
  void count_states();

  NeighbourSettings settings_;
  Send send_;
  Publish publish_;
  std::map<Key, Entry> entries_;
  size_t observed_entries_ = 0;  // entries with !from_miss
  bool table_changed_ = false;
  NeighbourStats stats_;
};

}  // namespace sluice

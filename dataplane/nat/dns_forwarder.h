// The DNS forwarder of routed mode, on byte frames: a query from a client to one of the
// appliance's INSIDE addresses, port 53 (UDP or TCP), has its destination rewritten to a resolver
// of the client's policy (chosen by the caller: the policy's first dns_resolvers entry of the
// query's family) before the packet processor, so the DNS guard and DNS learning see a query to
// that resolver; the answer, from that resolver's port 53 to the client's port, gets the
// appliance's address back as its source after its verdict. A worker's table of forwarded
// queries has a fixed capacity (allocated by `init`, control thread) and forgets idle ones.
// Nothing else changes: ports stay, so the resolver sees the client's own port.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dataplane/nat/nat_key.h"
#include "dataplane/parse/packet_parser.h"

namespace sluice {

enum class DnsForwardStatus : uint8_t {
  forwarded,    // query rewritten to the resolver
  restored,     // answer's source put back to the appliance address
  not_ours,     // answer: no forwarded query has this tuple (nothing changed)
  no_resolver,  // query: the policy lists no resolver of the query's family
  table_full,   // query: every slot holds a live forwarded query
  malformed,    // not UDP/TCP to port 53 (query) or from it (answer), or cut short
};

inline constexpr uint16_t kDnsPort = 53;

class DnsForwardTable {
 public:
  // Control thread. `idle_ticks`: a forwarded query's tuple is forgotten this long after its
  // last packet (a TCP connection or retries keep it).
  bool init(uint32_t capacity, uint64_t idle_ticks, uint64_t hash_seed);

  // A query from INSIDE to `packet.dst` (an INSIDE own address), port 53. `resolver`: family 0
  // when the policy has none of the query's family.
  DnsForwardStatus forward_query(std::span<uint8_t> frame, ParsedPacket& packet, const IpAddress& resolver, uint64_t now);
  // A packet going to INSIDE from port 53 of some address: when it answers a forwarded query,
  // its source becomes the address the client asked.
  DnsForwardStatus restore_answer(std::span<uint8_t> frame, ParsedPacket& packet, uint64_t now);
  // Forgets idle entries among the next `budget` slots.
  uint32_t age(uint64_t now, uint32_t budget);

  uint32_t in_use() const { return in_use_; }

 private:
  struct Entry {
    NatKey key;          // protocol, client and port, resolver and 53
    IpAddress asked;     // the appliance address the client sent the query to
    uint64_t last_used = 0;
    uint32_t next = 0;   // chain link: index + 1
    bool used = false;
  };
  int32_t find(const NatKey& key) const;
  uint32_t bucket_of(const NatKey& key) const;
  void remove(uint32_t index);

  std::vector<Entry> entries_;
  std::vector<uint32_t> heads_;
  std::vector<uint32_t> free_;
  uint32_t free_count_ = 0;
  uint32_t mask_ = 0;
  uint64_t seed_ = 0;
  uint64_t idle_ticks_ = 0;
  uint32_t cursor_ = 0;
  uint32_t in_use_ = 0;
};

const char* to_string(DnsForwardStatus status);

}  // namespace sluice

// The DNS queries a worker forwarded and has not seen answered: an answer teaches addresses
// only when it answers one of them (same client and resolver addresses and ports, protocol,
// transaction id and question) before its deadline. Set-associative and fixed in size: memory
// is allocated once by init(), and a full set forgets its oldest query (counted by the
// caller). Pure: no DPDK, no allocation after init().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dataplane/domain/hostname.h"
#include "dataplane/parse/ip_address.h"

namespace sluice {

// One transaction as the client sees it (client = the inside host that asked).
struct DnsTransaction {
  IpAddress client;
  IpAddress resolver;
  uint16_t client_port = 0;
  uint16_t resolver_port = 0;
  uint8_t protocol = 0;
  uint16_t id = 0;
  uint16_t query_type = 0;
  uint16_t query_class = 0;
  std::string_view name;  // normalised (lower case, no trailing dot)
};

enum class DnsAnswerMatch : uint8_t {
  answered,          // a pending query with this transaction and question: now answered
  no_query,          // no pending query with these addresses, ports, protocol and id
  question_differs,  // a pending query with this id whose question is another (it stays pending)
  late,              // the query's deadline passed (it is forgotten)
};

class DnsPendingQueries {
 public:
  static constexpr uint32_t kWays = 8;

  // `capacity` is rounded up to a power of two of at least kWays; control side (allocates).
  void init(uint32_t capacity, uint64_t deadline_tsc);

  // Remembers a forwarded query; a retransmission (same transaction) refreshes it. Returns
  // true when a live query had to be forgotten to make room.
  bool remember(const DnsTransaction& query, uint64_t now_tsc);

  // Looks for the query `answer` answers; an answered or late query is forgotten.
  DnsAnswerMatch take(const DnsTransaction& answer, uint64_t now_tsc);

  uint32_t capacity() const { return uint32_t(entries_.size()); }

 private:
  struct Entry {
    uint64_t expires_tsc = 0;  // 0: free
    IpAddress client;
    IpAddress resolver;
    uint16_t client_port = 0;
    uint16_t resolver_port = 0;
    uint16_t id = 0;
    uint16_t query_type = 0;
    uint16_t query_class = 0;
    uint8_t protocol = 0;
    // The question's name as a 64-bit hash: an entry stays one cache line, and a name that
    // differs yet hashes the same must also come from the resolver with this id and ports.
    uint64_t name_hash = 0;
  };
  static bool same_transaction(const Entry& entry, const DnsTransaction& t);
  static bool same_question(const Entry& entry, const DnsTransaction& t);
  static uint64_t name_hash(std::string_view name);
  Entry* set_of(const DnsTransaction& t);

  std::vector<Entry> entries_;
  uint32_t set_mask_ = 0;
  uint64_t deadline_tsc_ = 0;
};

}  // namespace sluice

// Reads a DNS response for the addresses it gives the name that was asked for.
// Pure, bounds-checked, no allocation: the answer is copied into a fixed-size struct.
//
// Only what can be tied to the question is learned: an A/AAAA record counts when its owner is the
// query name or a name reached from it through the CNAME records of the answer section. Anything
// else a resolver (or a spoofer) adds is counted and dropped, so that a response for an allowed
// name cannot smuggle in addresses for another.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/domain/hostname.h"
#include "dataplane/parse/ip_address.h"

namespace sluice {

inline constexpr int kMaxDnsAddresses = 16;   // addresses kept per answer
inline constexpr int kMaxDnsCnameDepth = 8;   // CNAME links followed

enum class DnsParseStatus : uint8_t {
  ok = 0,
  not_response,          // QR = 0: a query, not an answer
  truncated,             // shorter than its counts and lengths say
  malformed,             // bad label, bad rdlength, qdcount != 1, a name over 253 bytes
  compression_loop,      // a pointer that does not go strictly backwards, or too many of them
  cname_chain_too_long,  // more than kMaxDnsCnameDepth links (a CNAME loop ends here too)
};

struct DnsAddress {
  IpAddress address;
  uint32_t ttl = 0;  // seconds; a TTL with the top bit set reads as 0 (RFC 2181 8)
};

struct DnsAnswerInfo {
  char query_name[kMaxHostnameLength] = {};  // lower case, no trailing dot; not terminated
  uint8_t query_name_length = 0;             // 0 for the root
  uint16_t query_type = 0;
  uint16_t query_class = 0;
  uint16_t id = 0;
  uint8_t opcode = 0;
  uint8_t rcode = 0;
  bool truncated_flag = false;  // TC bit: the resolver cut the answer, the client retries on TCP
  DnsAddress addresses[kMaxDnsAddresses];
  uint8_t address_count = 0;  // A/AAAA of class IN whose owner is on the chain (see above)
  // Minimum TTL over the CNAME records followed: an address reached through the chain is only
  // as fresh as its weakest link, so a caller keeps it for min(ttl, chain_ttl).
  uint32_t chain_ttl = 0xffffffff;
  uint8_t cname_depth = 0;          // CNAME links followed
  // A/AAAA beyond kMaxDnsAddresses, whose owner is not on the chain, or in a response that is not
  // a successful standard query (opcode != 0 or rcode != 0).
  uint16_t addresses_skipped = 0;
  // The query name or a name of the CNAME chain followed has bytes outside host-name syntax
  // (normalize_hostname): a caller that matches names must not learn from this answer.
  bool name_outside_hostname_syntax = false;
};

// `message` is one whole DNS message (a UDP payload). Bytes after the last record are ignored.
// On a status other than ok, `out` holds what was read before the failure and no addresses.
DnsParseStatus parse_dns_response(std::span<const uint8_t> message, DnsAnswerInfo& out);

// `stream` is what the server sent on a TCP connection: 2-byte length prefix, then the message.
// Only the first message is read, and only when it has arrived whole: a prefix announcing more
// bytes than `stream` holds is `truncated`.
DnsParseStatus parse_dns_tcp_response(std::span<const uint8_t> stream, DnsAnswerInfo& out);

const char* to_string(DnsParseStatus status);

}  // namespace sluice

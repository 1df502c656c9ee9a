// Reads a DNS query a client sends to a resolver, so that the query is judged on its name
// (docs/POLICY.md, DNS). Pure, bounds-checked, no allocation.
//
// Strict on purpose: a hostile client owns every byte of the message, so only the shape a
// stub resolver sends is accepted — one question with an uncompressed name in host-name
// syntax, no answer or authority records, at most one additional record and that an EDNS OPT
// record, and nothing after the last record. Anything else is refused by a named status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/domain/hostname.h"

namespace sluice {

enum class DnsQueryStatus : uint8_t {
  ok = 0,
  truncated,          // shorter than its header, counts or lengths say
  not_query,          // QR = 1 (a response sent by the client), or an opcode other than QUERY
  not_one_question,   // QDCOUNT != 1
  unexpected_records, // answer or authority records, or an additional record that is not one OPT
  bad_label,          // a compression pointer or extended label type in the question, a name over 253 bytes
  invalid_name,       // the root, or bytes outside host-name syntax (normalize_hostname)
  trailing_bytes,     // bytes after the last record
};

struct DnsQueryInfo {
  char name[kMaxHostnameLength] = {};  // normalised: lower case, no trailing dot; not terminated
  uint8_t name_length = 0;
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t query_type = 0;
  uint16_t query_class = 0;
  // Offset just after the question (header + question: what an answer from the appliance echoes).
  size_t question_end = 0;
};

inline constexpr uint16_t kDnsTypePtr = 12;
inline constexpr size_t kDnsHeaderLength = 12;

// `message` is one whole DNS message (a UDP payload, or one message of a TCP stream without its
// length prefix). On a status other than ok, `out` holds what was read before the failure.
DnsQueryStatus parse_dns_query(std::span<const uint8_t> message, DnsQueryInfo& out);

// True when `name` (normalised) is a reverse-lookup name: up to four decimal octets under
// in-addr.arpa, or up to 32 hex nibbles under ip6.arpa, each label one octet or nibble.
bool is_reverse_lookup_name(std::string_view name);

const char* to_string(DnsQueryStatus status);

}  // namespace sluice

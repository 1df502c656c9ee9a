// `sluicectl suggest --from DENIALS… [--policy P]`: the allow-list additions that would have let
// denied traffic pass, as a textproto patch for the operator to review. Only the denials an
// allow-list entry can fix are turned into suggestions: domain_not_allowed (a name, grouped by
// registrable domain; a storage account's or bucket's name as its allowed_storage entry),
// ip_not_allowed (a network) and dns_resolver_not_allowed (a resolver);
// every other reason (a malformed ClientHello, an ECH hello…) is counted, never suggested away.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "cli/denial_files.h"
#include "cli/storage_suggestion.h"
#include "controlplane/policy/public_suffix_list.h"

namespace sluice {

// The name's registrable domain: its longest public suffix (ICANN section, as the validator
// reads the list) and one label more. "" when the name is itself a public suffix (then no
// domain can be registered under which to group or widen it).
std::string registrable_domain(const std::string& name, const PublicSuffixList& suffixes);

// What the denials of one registrable domain (or one address) add up to.
struct SuggestionEvidence {
  uint64_t denials = 0;
  uint64_t records = 0;
  std::string first_seen, last_seen;
  int64_t first_ms = 0, last_ms = 0;
  std::vector<std::string> sources;       // "198.18.1.21 (spark-prod)", distinct, sorted
  std::vector<std::string> access_types;  // distinct, sorted
  void add(const DenialRow& row);
};

struct DomainSuggestion {
  std::string registrable;          // "" for a name that is a public suffix itself
  std::vector<std::string> names;   // exact names denied, sorted
  bool wildcard_alternative = false;  // "*.<registrable>" offered (3 or more names below it)
  SuggestionEvidence evidence;
};

// One storage account, bucket or access point, from every denied name of it.
struct StorageSuggestion {
  StorageEntry entry;
  std::vector<std::string> names;  // the host names denied, sorted
  SuggestionEvidence evidence;
};

struct NetworkSuggestion {
  std::string cidr;                 // the address as a /32 or /128
  std::string protocol;             // TCP, UDP, ICMP or PROTOCOL_ANY (another IP protocol)
  std::vector<uint32_t> ports;      // sorted; empty for ICMP and PROTOCOL_ANY
  SuggestionEvidence evidence;
};

struct ResolverSuggestion {
  std::string address;
  SuggestionEvidence evidence;
};

struct PolicySuggestions {
  std::string policy;
  std::vector<StorageSuggestion> storage;    // by kind, then name
  std::vector<DomainSuggestion> domains;     // by registrable domain
  std::vector<NetworkSuggestion> networks;   // by address, then protocol
  std::vector<ResolverSuggestion> resolvers;
  uint64_t unfixable_denials = 0;            // denials no allow-list entry would have passed
  std::vector<std::string> unfixable_reasons;  // distinct, sorted
};

// Groups `rows` (records of DROP or DRY_RUN_DENIAL; others are ignored) by policy, sorted by
// name. `policy` non-empty keeps that policy only.
std::vector<PolicySuggestions> suggest_additions(const std::vector<DenialRow>& rows, const std::string& policy,
                                                 const PublicSuffixList& suffixes);

// The textproto patch: one `policies { name: … }` block per policy with the lines to add, each
// group preceded by a comment with its evidence.
void print_suggestions(const std::vector<PolicySuggestions>& suggestions, const DenialReadResult& read,
                       std::ostream& out);

}  // namespace sluice

// The immutable, compiled form of a policy set that workers read. Built by the control plane's
// PolicyCompiler (which translates protobuf into these plain structs, so the dataplane never
// includes protobuf headers), published through one atomic pointer, never modified afterwards.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <hs/hs.h>

#include "dataplane/domain/domain_matcher.h"
#include "dataplane/parse/ip_address.h"
#include "dataplane/policy/storage_host.h"

struct rte_lpm;
struct rte_lpm6;

namespace sluice {

enum class AccessMode : uint8_t { full, restricted };
enum class Enforcement : uint8_t { enforce, dry_run };

// How a new flow's first packets are inspected: by TCP destination port (tls, http) or by UDP
// destination port (quic: the ClientHello in the client's QUIC Initial packets).
enum class PortClass : uint8_t { none = 0, tls = 1, http = 2, quic = 3 };

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
};

// Rule index of the allow lists (allowed_domains, allowed_networks and their groups): below
// every numbered rule. In a verdict: no numbered rule decided.
inline constexpr uint16_t kNoRule = 0xffff;

// One numbered rule (policy.proto Rule) as it filters flows; CompiledRuleset::rules holds them
// in priority order, so that a lower index decides first.
struct CompiledRule {
  enum class Protocol : uint8_t { any, tcp, udp, icmp };
  std::string name;
  uint32_t priority = 0;
  bool deny = false;
  Protocol protocol = Protocol::any;
  std::vector<PortRange> ports;  // empty = every port
  bool names = false;            // it names domains (domains or domain_groups), not only addresses

  // Packet path, no allocation.
  bool matches(uint8_t ip_protocol, uint16_t port) const;
  // No protocol and no port left out: a DENY like this takes a name off every port.
  bool matches_every_flow() const { return protocol == Protocol::any && ports.empty(); }
};

// One allowed-network rule as it applies to a prefix.
struct NetworkRuleEntry {
  uint16_t policy_index = 0;      // the policy that lists the rule
  uint8_t ip_protocol = 0;        // 0 = any; 6 TCP, 17 UDP, 1/58 ICMP (per family)
  // Its place among the policy's networks (set by build): allowed_networks first, then the
  // members of allowed_ip_groups, then the networks of numbered rules
  // (CompiledRuleset::network_sources says which).
  uint16_t rule_index = 0;
  uint16_t rule = kNoRule;        // the numbered rule it belongs to, or kNoRule (the allow lists)
  std::vector<PortRange> ports;   // empty = every port
};

// Everything that applies to one LPM prefix: its own rules plus those of every shorter prefix
// that covers it (of every policy), so that the longest-prefix match alone answers "does this
// policy allow it?".
struct NetworkRuleGroup {
  std::vector<NetworkRuleEntry> rules;
  bool allows(uint16_t policy_index, uint8_t ip_protocol, uint16_t port) const {
    return allowing_rule(policy_index, ip_protocol, port) != nullptr;
  }
  // The rule that allows it (the policy's first listed), or nullptr; `sluicectl explain` names it.
  const NetworkRuleEntry* allowing_rule(uint16_t policy_index, uint8_t ip_protocol, uint16_t port) const;
  // The entry that decides for the policy whose numbered rules are `rules`: the lowest-numbered
  // rule that matches (its own protocol and ports and the rule's), else the allow lists' first
  // listed match; nullptr when none matches. Packet path, no allocation.
  const NetworkRuleEntry* deciding_rule(uint16_t policy_index, uint8_t ip_protocol, uint16_t port,
                                        const std::vector<CompiledRule>& rules) const;
};

// A table of prefixes → NetworkRuleGroup (v4 and v6), one per generation for all policies:
// an IPv4 rte_lpm costs 64 MiB (its 2^24-entry first level) however few prefixes it holds, so
// one table a policy would not scale past a handful of policies. Owns its rte_lpm tables.
class NetworkTable {
 public:
  NetworkTable() = default;
  ~NetworkTable();
  NetworkTable(const NetworkTable&) = delete;
  NetworkTable& operator=(const NetworkTable&) = delete;

  struct Prefix {
    IpAddress address;
    uint8_t length = 0;
    NetworkRuleEntry rule;
  };
  // Control thread. `name` must be unique in the process (rte_lpm names are global). Each
  // policy's prefixes come in the order the policy lists them: that order numbers rule_index.
  bool build(const std::string& name, const std::vector<Prefix>& prefixes, std::string& error);
  // Packet path: the group of the longest matching prefix, or nullptr.
  const NetworkRuleGroup* lookup(const IpAddress& address) const;
  bool empty() const { return groups_.empty(); }

 private:
  rte_lpm* v4_ = nullptr;
  rte_lpm6* v6_ = nullptr;
  std::vector<NetworkRuleGroup> groups_;
};

// TlsExceptions of policy.proto: which nameless ClientHellos are judged instead of denied.
struct TlsExceptions {
  bool ech_judge_outer_sni = false;
  bool no_sni_judge_address = false;
  bool multiple_sni_judge_first = false;
  bool not_tls_judge_address = false;
};

// policy.proto's DnsDenial: what a query for a name the policy does not allow gets.
enum class DnsDenial : uint8_t { nxdomain, refused, drop };

// What a policy's rules say about a name (CompiledRuleset::judge_name).
struct NameJudgement {
  bool matched = false;      // some rule matched (to allow or to deny)
  bool allowed = false;
  uint16_t rule = kNoRule;   // the numbered rule that decided; kNoRule: the allow lists, or none
  uint32_t pattern = 0;      // the pattern that decided (index of domain_patterns), when matched
};

struct CompiledRuleset {
  std::string name;
  // Index of this policy's counters (WorkerCounters::flows_by_policy): stable across
  // generations for the same policy name, so a reload never moves counts between policies.
  uint16_t counter_slot = 0;
  AccessMode access_mode = AccessMode::restricted;
  Enforcement enforcement = Enforcement::enforce;
  TlsExceptions tls_exceptions;
  // policy.proto allow_unbound_names: an allowed name to an address no DNS answer bound passes
  // (recorded as allowed_unbound_name) instead of being denied name_address_mismatch.
  bool allow_unbound_names = false;
  // Every name pattern of the policy in one database: allowed_domains first (ids 0..n-1, as
  // written), then the members of allowed_domain_groups, then the domains of numbered rules.
  std::unique_ptr<DomainMatcher> domains;
  std::vector<std::string> domain_patterns;  // as written (with any ":PORTS"), indexed by DomainRule::id
  // By DomainRule::id: the numbered rule the pattern belongs to (kNoRule: the allow lists), and
  // the domain group it came from ("" when listed directly).
  std::vector<uint16_t> domain_pattern_rule;
  std::vector<std::string> domain_pattern_group;
  // Numbered rules, in priority order (lowest number first).
  std::vector<CompiledRule> rules;
  // By NetworkRuleEntry::rule_index: each network as written and the ip group it came from ("").
  std::vector<std::string> network_sources;
  std::vector<std::string> network_groups;
  // The destination ports of each allowed-domain rule, by DomainRule::id: sorted, merged
  // ranges; an empty vector = every port. A rule id past the end also allows every port (a
  // ruleset built without ports), but the compiler sizes it to domain_patterns.
  std::vector<std::vector<PortRange>> domain_ports;
  std::vector<IpAddress> dns_resolvers;
  // DNS query judging (docs/POLICY.md, DNS): names that may be resolved without being allowed
  // as destinations (null: none), reverse lookups, and the answer to a denied query.
  std::unique_ptr<DomainMatcher> resolvable_names;
  bool dns_reverse_lookups = false;
  DnsDenial dns_denial = DnsDenial::nxdomain;
  struct Proxy {
    IpAddress address;
    uint16_t port = 0;
  };
  std::vector<Proxy> allowed_proxies;  // where its sources may send CONNECT

  // allowed_storage (docs/POLICY.md, "Storage destinations"). Every host name an entry expands
  // to is an exact rule of `domains` above (after the allowed_domains rules), so DNS queries,
  // learning and binding treat them like any allowed name. The shared path-style endpoints of
  // the buckets' providers are rules too; these say what a match on one of them means.
  struct StorageEndpoint {
    std::string host;                 // "s3.eu-west-1.amazonaws.com", "storage.googleapis.com"
    StorageProvider provider = StorageProvider::none;
    bool path_style_allowed = false;  // some entry of its provider sets allow_path_style_endpoints
  };
  std::vector<StorageEndpoint> storage_endpoints;
  // By DomainRule::id: the storage_endpoints index a rule stands for, -1 for every other rule.
  // Empty when the policy lists no bucket with path-style endpoints.
  std::vector<int16_t> domain_rule_endpoint;
  struct StorageBucket {
    StorageProvider provider = StorageProvider::none;
    std::string name;
  };
  std::vector<StorageBucket> storage_buckets;  // what a plain-HTTP path-style request may name
  // The first DomainRule::id that comes from allowed_storage (every later one does too); the
  // rules below it are the allowed_domains entries, by index. No storage: past every rule.
  uint32_t first_storage_rule = UINT32_MAX;

  bool allows_resolver(const IpAddress& address) const;
  bool allows_proxy(const IpAddress& address, uint16_t port) const;

  // Whether a numbered rule that names domains comes before rule `rule` (kNoRule: before the
  // allow lists) and matches `ip_protocol` and `port`: then, for a flow whose name will be read,
  // the name may decide before the address rule `rule` does (docs/POLICY.md, "Rules with
  // priorities": one order over addresses and names). Packet path, no allocation.
  bool name_rule_before(uint16_t rule, uint8_t ip_protocol, uint16_t port) const;

  // THE question "is this name allowed?", which every stage asks (judge, name binding, DNS
  // guard, DNS learning, explain) so that they cannot disagree. Packet path, no allocation.
  //
  // For a flow: the lowest-numbered rule whose pattern matches `name` (normalised) and whose
  // protocol and ports (the rule's and the pattern's) match decides; below every numbered rule,
  // the allow lists allow when some pattern matching the name lists the port (their ports add
  // up). `ip_protocol` 0 matches only rules for any protocol.
  NameJudgement judge_name(std::string_view name, uint8_t ip_protocol, uint16_t port, hs_scratch_t* scratch) const;
  // For DNS (a query or an answer has no destination port yet): allowed when some rule allows
  // the name on some protocol and port that no DENY above it takes away entirely: a DENY
  // counts here only when it matches every protocol and port (matches_every_flow()).
  NameJudgement judge_name_on_any_port(std::string_view name, hs_scratch_t* scratch) const;

  // judge_name's answer alone, with the deciding pattern's id (kept for explain and tests).
  bool domain_allows(std::string_view name, uint16_t port, hs_scratch_t* scratch, uint32_t* rule_id = nullptr) const;

  // Whether allowed-domain rule `rule_id` allows destination `port` (its ports alone, not its
  // name): for IPs learned from a DNS answer of a name that rule matched. No allocation.
  bool domain_rule_allows_port(uint32_t rule_id, uint16_t port) const;

  // Packet path, no allocation: when the rule that allows `name` on `port` (the lowest, as
  // domain_allows reports it) is a storage path-style endpoint's, that endpoint; else nullptr
  // (an allowed_domains rule written for the same name comes first and wins).
  const StorageEndpoint* storage_endpoint_for(std::string_view name, uint16_t port, hs_scratch_t* scratch) const;
  // Whether a path-style request of `provider` may name `bucket`.
  bool storage_bucket_listed(StorageProvider provider, std::string_view bucket) const;
};

struct CompiledAttachment {
  std::string source_label;
  std::string source_cidr;  // as written; "default" for the default attachment
  uint16_t policy_index = 0;
  Enforcement enforcement = Enforcement::enforce;  // after any override
  // Tenant fields for records (the set's, replaced by the attachment's of the same key), sorted
  // by key. Control thread only: the records are written there, never on the packet path.
  std::vector<std::pair<std::string, std::string>> record_fields;
};

// Attachment 0 is the default policy's; sources no prefix covers get it.
class CompiledPolicy {
 public:
  CompiledPolicy() = default;
  ~CompiledPolicy();
  CompiledPolicy(const CompiledPolicy&) = delete;
  CompiledPolicy& operator=(const CompiledPolicy&) = delete;

  uint64_t generation = 0;
  std::string set_name;
  std::vector<CompiledRuleset> policies;
  std::vector<CompiledAttachment> attachments;
  std::array<PortClass, 65536> port_class{};  // TCP destination port → inspection
  std::array<PortClass, 65536> udp_port_class{};  // UDP destination port → inspection (quic or none)
  std::unique_ptr<NetworkTable> networks;     // allowed networks of every policy; null when none
  rte_lpm* sources_v4 = nullptr;              // next hop = attachment index
  rte_lpm6* sources_v6 = nullptr;
  // One Hyperscan scratch per worker, sized for every database of this generation, so that
  // workers never allocate (worker i: sole user of scratch[i]).
  std::vector<hs_scratch_t*> scratch;

  // Packet path.
  const CompiledAttachment& attachment_for(const IpAddress& source) const;
  uint16_t attachment_index_for(const IpAddress& source) const;
};

}  // namespace sluice

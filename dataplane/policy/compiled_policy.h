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

// One allowed-network rule as it applies to a prefix.
struct NetworkRuleEntry {
  uint16_t policy_index = 0;      // the policy that lists the rule
  uint8_t ip_protocol = 0;        // 0 = any; 6 TCP, 17 UDP, 1/58 ICMP (per family)
  uint16_t rule_index = 0;        // its place among the policy's allowed_networks (set by build)
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
  std::unique_ptr<DomainMatcher> domains;
  std::vector<std::string> domain_patterns;  // as written (with any ":PORTS"), indexed by DomainRule::id
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

  bool allows_resolver(const IpAddress& address) const;
  bool allows_proxy(const IpAddress& address, uint16_t port) const;

  // Packet path, no allocation: true when some allowed-domain rule matching `name` (normalised)
  // allows `port`. Rules for the same name add up (their ports are a union). `rule_id`
  // (optional) receives the lowest such rule's id; without it the scan stops at the first
  // allowing rule, with it every matching rule is visited so that the answer is stable.
  bool domain_allows(std::string_view name, uint16_t port, hs_scratch_t* scratch, uint32_t* rule_id = nullptr) const;

  // Whether allowed-domain rule `rule_id` allows destination `port` (its ports alone, not its
  // name): for IPs learned from a DNS answer of a name that rule matched. No allocation.
  bool domain_rule_allows_port(uint32_t rule_id, uint16_t port) const;
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

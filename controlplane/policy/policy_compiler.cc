#include "controlplane/policy/policy_compiler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <unordered_map>

#include <rte_lpm.h>
#include <rte_lpm6.h>

#include "controlplane/policy/cidr.h"
#include "controlplane/policy/domain_pattern.h"
#include "controlplane/policy/proxy_address.h"
#include "controlplane/policy/storage_expansion.h"
#include "dataplane/parse/packet_parser.h"

namespace sluice {

namespace {

namespace pb = sluice::policy;

constexpr uint16_t kDefaultTlsPort = 443;
constexpr uint16_t kDefaultHttpPort = 80;
constexpr uint16_t kDefaultQuicPort = 443;

Enforcement to_enforcement(pb::Enforcement enforcement) {
  return enforcement == pb::DRY_RUN ? Enforcement::dry_run : Enforcement::enforce;
}

DomainMatchKind to_match_kind(DomainPatternKind kind) {
  switch (kind) {
    case DomainPatternKind::exact: return DomainMatchKind::exact;
    case DomainPatternKind::strict_subdomains: return DomainMatchKind::strict_subdomains;
    case DomainPatternKind::apex_and_subdomains: return DomainMatchKind::apex_and_subdomains;
  }
  return DomainMatchKind::exact;
}

uint8_t to_ip_protocol(pb::Protocol protocol, uint8_t family) {
  switch (protocol) {
    case pb::TCP: return kIpProtoTcp;
    case pb::UDP: return kIpProtoUdp;
    case pb::ICMP: return family == 6 ? kIpProtoIcmpv6 : kIpProtoIcmp;
    default: return 0;
  }
}

// "443" or "8000-8100"; validated already.
PortRange to_port_range(const std::string& text) {
  auto dash = text.find('-');
  PortRange range;
  range.first = static_cast<uint16_t>(std::stoul(text.substr(0, dash)));
  range.last = dash == std::string::npos ? range.first : static_cast<uint16_t>(std::stoul(text.substr(dash + 1)));
  return range;
}

// allowed_storage: each entry's host names become exact domain rules after the allowed_domains
// ones (every port), and so do the shared path-style endpoints of its provider, once each,
// remembered in storage_endpoints so that the judge can tell them apart.
void add_storage_rules(const pb::Policy& source, CompiledRuleset& out, std::vector<DomainRule>& rules) {
  std::unordered_map<std::string, size_t> endpoint_index;
  std::unordered_map<std::string, bool> added;
  auto add_rule = [&](const std::string& host) {
    rules.push_back({DomainMatchKind::exact, host, static_cast<uint32_t>(out.domain_patterns.size())});
    out.domain_patterns.push_back(host);
    out.domain_pattern_rule.push_back(kNoRule);  // an allow-list entry, below every numbered rule
    out.domain_pattern_group.emplace_back();
    out.domain_ports.emplace_back();
  };
  if (source.allowed_storage_size() > 0) out.first_storage_rule = static_cast<uint32_t>(out.domain_patterns.size());
  for (const auto& entry : source.allowed_storage()) {
    const StorageExpansion expansion = expand_storage_destination(entry);
    for (const std::string& host : expansion.hosts)
      if (added.try_emplace(host, true).second) add_rule(host);
    if (!expansion.bucket.empty()) out.storage_buckets.push_back({expansion.provider, expansion.bucket});
    for (const std::string& host : expansion.path_style_endpoints) {
      auto [it, inserted] = endpoint_index.try_emplace(host, out.storage_endpoints.size());
      if (inserted) {
        out.storage_endpoints.push_back({host, expansion.provider, false});
        if (added.try_emplace(host, true).second) {
          out.domain_rule_endpoint.resize(out.domain_patterns.size(), -1);
          out.domain_rule_endpoint.push_back(static_cast<int16_t>(it->second));
          add_rule(host);
        }
      }
      // One entry that opts in opens the endpoint: every bucket behind it is reachable anyway.
      if (entry.allow_path_style_endpoints()) out.storage_endpoints[it->second].path_style_allowed = true;
    }
  }
  if (!out.domain_rule_endpoint.empty()) out.domain_rule_endpoint.resize(out.domain_patterns.size(), -1);
}

// The set's named groups, by name (validated: every reference is known).
struct Groups {
  std::unordered_map<std::string, const pb::DomainGroup*> domains;
  std::unordered_map<std::string, const pb::IpGroup*> networks;
};

CompiledRule::Protocol to_rule_protocol(pb::Protocol protocol) {
  switch (protocol) {
    case pb::TCP: return CompiledRule::Protocol::tcp;
    case pb::UDP: return CompiledRule::Protocol::udp;
    case pb::ICMP: return CompiledRule::Protocol::icmp;
    default: return CompiledRule::Protocol::any;
  }
}

// The policy's numbered rules in priority order (validated: priorities are unique).
std::vector<const pb::Rule*> rules_by_priority(const pb::Policy& source) {
  std::vector<const pb::Rule*> rules;
  for (const auto& rule : source.rules()) rules.push_back(&rule);
  std::stable_sort(rules.begin(), rules.end(),
                   [](const pb::Rule* a, const pb::Rule* b) { return a->priority() < b->priority(); });
  return rules;
}

bool compile_ruleset(const pb::Policy& source, uint16_t policy_index, const Groups& groups, CompiledRuleset& out,
                     std::vector<NetworkTable::Prefix>& prefixes, HyperscanCache* cache, std::string& error) {
  out.name = source.name();
  out.access_mode = source.access_mode() == pb::FULL ? AccessMode::full : AccessMode::restricted;
  out.enforcement = to_enforcement(source.enforcement());
  const auto& exceptions = source.tls_exceptions();
  out.tls_exceptions.ech_judge_outer_sni = exceptions.ech_judge_outer_sni();
  out.tls_exceptions.no_sni_judge_address = exceptions.no_sni_judge_address();
  out.tls_exceptions.multiple_sni_judge_first = exceptions.multiple_sni_judge_first();
  out.tls_exceptions.not_tls_judge_address = exceptions.not_tls_judge_address();
  out.allow_unbound_names = source.allow_unbound_names();

  const std::vector<const pb::Rule*> numbered = rules_by_priority(source);
  for (const pb::Rule* rule : numbered) {
    CompiledRule& compiled = out.rules.emplace_back();
    compiled.name = rule->name();
    compiled.priority = rule->priority();
    compiled.deny = rule->action() == pb::DENY;
    compiled.protocol = to_rule_protocol(rule->protocol());
    for (const auto& port : rule->ports()) compiled.ports.push_back(to_port_range(port));
    compiled.names = rule->domains_size() + rule->domain_groups_size() > 0;
  }

  std::vector<DomainRule> rules;
  auto add_domain = [&](const std::string& text, uint16_t rule, const std::string& group) {
    DomainPattern pattern;
    std::string problem = parse_domain_pattern(text, pattern);
    if (!problem.empty()) {
      error = "policy " + source.name() + ": domain \"" + text + "\": " + problem;
      return false;
    }
    // Ports are not part of the Hyperscan patterns (nor of their cache key): two rules for one
    // name are two patterns with their own ids, and domain_ports says what each allows.
    rules.push_back({to_match_kind(pattern.kind), pattern.base, static_cast<uint32_t>(out.domain_patterns.size())});
    out.domain_patterns.push_back(text);
    out.domain_pattern_rule.push_back(rule);
    out.domain_pattern_group.push_back(group);
    std::vector<PortRange>& ports = out.domain_ports.emplace_back();
    for (const DomainPortRange& range : pattern.ports) ports.push_back({range.first, range.last});
    return true;
  };
  auto add_domain_group = [&](const std::string& name, uint16_t rule) {
    const auto it = groups.domains.find(name);
    if (it == groups.domains.end()) {
      error = "policy " + source.name() + ": unknown domain group \"" + name + "\"";
      return false;
    }
    for (const auto& text : it->second->domains())
      if (!add_domain(text, rule, name)) return false;
    return true;
  };
  for (const auto& text : source.allowed_domains())
    if (!add_domain(text, kNoRule, "")) return false;
  for (const auto& name : source.allowed_domain_groups())
    if (!add_domain_group(name, kNoRule)) return false;
  for (size_t r = 0; r < numbered.size(); ++r) {
    for (const auto& text : numbered[r]->domains())
      if (!add_domain(text, static_cast<uint16_t>(r), "")) return false;
    for (const auto& name : numbered[r]->domain_groups())
      if (!add_domain_group(name, static_cast<uint16_t>(r))) return false;
  }
  add_storage_rules(source, out, rules);
  out.domains = DomainMatcher::compile(rules, error, cache);
  if (!out.domains) {
    error = "policy " + source.name() + ": " + error;
    return false;
  }

  // Networks in the order NetworkTable numbers them (rule_index): allowed_networks, the members
  // of allowed_ip_groups, then the numbered rules' networks and ip group members.
  auto add_network = [&](const std::string& text, pb::Protocol protocol,
                         const google::protobuf::RepeatedPtrField<std::string>& ports, uint16_t rule,
                         const std::string& group) {
    Cidr cidr;
    if (parse_cidr(text, cidr) != CidrError::none) {
      error = "policy " + source.name() + ": bad cidr " + text;
      return false;
    }
    NetworkTable::Prefix prefix;
    prefix.address = cidr.address;
    prefix.length = cidr.prefix_length;
    prefix.rule.policy_index = policy_index;
    prefix.rule.ip_protocol = to_ip_protocol(protocol, cidr.address.family);
    prefix.rule.rule = rule;
    for (const auto& port : ports) prefix.rule.ports.push_back(to_port_range(port));
    prefixes.push_back(std::move(prefix));
    out.network_sources.push_back(text);
    out.network_groups.push_back(group);
    return true;
  };
  auto add_ip_group = [&](const std::string& name, uint16_t rule) {
    const auto it = groups.networks.find(name);
    if (it == groups.networks.end()) {
      error = "policy " + source.name() + ": unknown ip group \"" + name + "\"";
      return false;
    }
    for (const auto& member : it->second->networks())
      if (!add_network(member.cidr(), member.protocol(), member.ports(), rule, name)) return false;
    return true;
  };
  const google::protobuf::RepeatedPtrField<std::string> no_ports;
  for (const auto& network : source.allowed_networks())
    if (!add_network(network.cidr(), network.protocol(), network.ports(), kNoRule, "")) return false;
  for (const auto& name : source.allowed_ip_groups())
    if (!add_ip_group(name, kNoRule)) return false;
  for (size_t r = 0; r < numbered.size(); ++r) {
    for (const auto& text : numbered[r]->networks())
      if (!add_network(text, pb::PROTOCOL_ANY, no_ports, static_cast<uint16_t>(r), "")) return false;
    for (const auto& name : numbered[r]->ip_groups())
      if (!add_ip_group(name, static_cast<uint16_t>(r))) return false;
  }
  for (const auto& resolver : source.dns_resolvers())
    if (auto address = parse_ip(resolver)) out.dns_resolvers.push_back(*address);
  if (source.resolvable_names_size() > 0) {
    std::vector<DomainRule> names;
    for (const auto& text : source.resolvable_names()) {
      DomainPattern pattern;
      std::string problem = parse_domain_pattern(text, pattern);
      if (!problem.empty() || !pattern.ports.empty()) {
        error = "policy " + source.name() + ": resolvable name \"" + text + "\": " +
                (problem.empty() ? "takes no ports" : problem);
        return false;
      }
      names.push_back({to_match_kind(pattern.kind), pattern.base, static_cast<uint32_t>(names.size())});
    }
    out.resolvable_names = DomainMatcher::compile(names, error, cache);
    if (!out.resolvable_names) {
      error = "policy " + source.name() + ": resolvable_names: " + error;
      return false;
    }
  }
  out.dns_reverse_lookups = source.dns_reverse_lookups();
  out.dns_denial = source.dns_denial() == policy::DNS_DENIAL_REFUSED ? DnsDenial::refused
                   : source.dns_denial() == policy::DNS_DENIAL_DROP  ? DnsDenial::drop
                                                                     : DnsDenial::nxdomain;
  for (const auto& text : source.allowed_proxies()) {
    ProxyAddress proxy;
    if (parse_proxy_address(text, proxy).empty()) out.allowed_proxies.push_back({proxy.address, proxy.port});
  }
  return true;
}

// DPDK names its LPM tables process-wide. Two compiles of one generation can run at once (a
// superseded reload's compile is left to finish beside the newer one), so a name carries a
// number of its own besides the generation.
std::string lpm_table_name(uint64_t generation, const char* what) {
  static std::atomic<uint64_t> compiles{0};
  return "g" + std::to_string(generation) + "_" + std::to_string(compiles.fetch_add(1)) + what;
}

bool build_source_tables(CompiledPolicy& policy, const std::vector<Cidr>& sources, std::string& error) {
  size_t v4 = 0, v6 = 0;
  for (const auto& cidr : sources) (cidr.address.family == 4 ? v4 : v6)++;
  const std::string base = lpm_table_name(policy.generation, "_src");
  if (v4) {
    rte_lpm_config config{};
    config.max_rules = static_cast<uint32_t>(v4);
    config.number_tbl8s = static_cast<uint32_t>(std::max<size_t>(v4, 16));
    policy.sources_v4 = rte_lpm_create((base + "4").c_str(), SOCKET_ID_ANY, &config);
    if (!policy.sources_v4) {
      error = "cannot create the IPv4 source table";
      return false;
    }
  }
  if (v6) {
    rte_lpm6_config config{};
    config.max_rules = static_cast<uint32_t>(v6);
    config.number_tbl8s = static_cast<uint32_t>(v6 * 14 + 16);
    policy.sources_v6 = rte_lpm6_create((base + "6").c_str(), SOCKET_ID_ANY, &config);
    if (!policy.sources_v6) {
      error = "cannot create the IPv6 source table";
      return false;
    }
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    uint32_t attachment = static_cast<uint32_t>(i + 1);  // 0 is the default attachment
    const auto& cidr = sources[i];
    int rc = cidr.address.family == 4
                 ? rte_lpm_add(policy.sources_v4, cidr.address.v4_host_order(), cidr.prefix_length, attachment)
                 : rte_lpm6_add(policy.sources_v6, cidr.address.bytes, cidr.prefix_length, attachment);
    if (rc < 0) {
      error = "cannot add source prefix " + format_cidr(cidr);
      return false;
    }
  }
  return true;
}

}  // namespace

CompileResult compile_policy(const pb::PolicySet& policy_set, uint64_t generation, unsigned worker_count,
                             PolicySlots* slots, HyperscanCache* cache) {
  auto started = std::chrono::steady_clock::now();
  CompileResult result;
  auto policy = std::make_unique<CompiledPolicy>();
  policy->generation = generation;
  policy->set_name = policy_set.name();

  std::unordered_map<std::string, uint16_t> index_of;
  std::vector<NetworkTable::Prefix> network_prefixes;
  Groups groups;
  for (const auto& group : policy_set.domain_groups()) groups.domains[group.name()] = &group;
  for (const auto& group : policy_set.ip_groups()) groups.networks[group.name()] = &group;
  policy->policies.resize(static_cast<size_t>(policy_set.policies_size()));
  for (int i = 0; i < policy_set.policies_size(); ++i) {
    const auto& source = policy_set.policies(i);
    index_of[source.name()] = static_cast<uint16_t>(i);
    if (!compile_ruleset(source, static_cast<uint16_t>(i), groups, policy->policies[static_cast<size_t>(i)],
                         network_prefixes, cache, result.error))
      return result;
    auto& compiled = policy->policies[static_cast<size_t>(i)];
    compiled.counter_slot = slots ? slots->slot_for(source.name()) : static_cast<uint16_t>(i);
    result.domain_patterns += compiled.domain_patterns.size();
    const auto& domains = *policy->policies[static_cast<size_t>(i)].domains;
    result.database_bytes += domains.database_bytes();
    if (domains.pattern_count()) ++result.databases;
    if (domains.from_cache()) ++result.databases_from_cache;
  }

  if (!network_prefixes.empty()) {
    policy->networks = std::make_unique<NetworkTable>();
    if (!policy->networks->build(lpm_table_name(generation, "_net"), network_prefixes, result.error))
      return result;
  }

  auto default_it = index_of.find(policy_set.default_policy());
  if (default_it == index_of.end()) {
    result.error = "default_policy \"" + policy_set.default_policy() + "\" is not a policy of the set";
    return result;
  }
  // Sorted by key (std::map): records list them in a stable order whatever the text's order.
  const auto record_fields = [&](const pb::Attachment* attachment) {
    std::map<std::string, std::string> fields(policy_set.record_fields().begin(), policy_set.record_fields().end());
    if (attachment)
      for (const auto& [key, value] : attachment->record_fields()) fields[key] = value;
    return std::vector<std::pair<std::string, std::string>>(fields.begin(), fields.end());
  };
  CompiledAttachment fallback;
  fallback.record_fields = record_fields(nullptr);
  fallback.source_label = policy_set.default_source_label().empty() ? "default" : policy_set.default_source_label();
  fallback.source_cidr = "default";
  fallback.policy_index = default_it->second;
  fallback.enforcement = policy->policies[default_it->second].enforcement;
  policy->attachments.push_back(fallback);

  std::vector<Cidr> sources;
  for (const auto& attachment : policy_set.attachments()) {
    auto it = index_of.find(attachment.policy());
    Cidr cidr;
    if (it == index_of.end() || parse_cidr(attachment.source_cidr(), cidr) != CidrError::none) {
      result.error = "attachment " + attachment.source_cidr() + " is not valid";
      return result;
    }
    CompiledAttachment compiled;
    compiled.source_cidr = attachment.source_cidr();
    compiled.source_label = attachment.source_label().empty() ? attachment.source_cidr() : attachment.source_label();
    compiled.policy_index = it->second;
    compiled.record_fields = record_fields(&attachment);
    compiled.enforcement = attachment.enforcement_override() != pb::ENFORCEMENT_UNSPECIFIED
                               ? to_enforcement(attachment.enforcement_override())
                               : policy->policies[it->second].enforcement;
    policy->attachments.push_back(std::move(compiled));
    sources.push_back(cidr);
  }
  if (!build_source_tables(*policy, sources, result.error)) return result;

  if (policy_set.tls_ports().empty()) policy->port_class[kDefaultTlsPort] = PortClass::tls;
  for (auto port : policy_set.tls_ports()) policy->port_class[port & 0xffff] = PortClass::tls;
  if (policy_set.http_ports().empty()) policy->port_class[kDefaultHttpPort] = PortClass::http;
  for (auto port : policy_set.http_ports()) policy->port_class[port & 0xffff] = PortClass::http;
  if (policy_set.quic_ports().empty()) policy->udp_port_class[kDefaultQuicPort] = PortClass::quic;
  for (auto port : policy_set.quic_ports()) policy->udp_port_class[port & 0xffff] = PortClass::quic;

  policy->scratch.assign(worker_count, nullptr);
  for (auto& scratch : policy->scratch)
    for (const auto& ruleset : policy->policies)
      if (!ruleset.domains->reserve_scratch(&scratch) ||
          (ruleset.resolvable_names && !ruleset.resolvable_names->reserve_scratch(&scratch))) {
        result.error = "cannot allocate Hyperscan scratch";
        return result;
      }

  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.policy = std::move(policy);
  return result;
}

}  // namespace sluice

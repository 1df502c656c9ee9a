#include "controlplane/policy/policy_compiler.h"

#include <chrono>
#include <map>
#include <unordered_map>

#include <rte_lpm.h>
#include <rte_lpm6.h>

#include "controlplane/policy/cidr.h"
#include "controlplane/policy/domain_pattern.h"
#include "controlplane/policy/proxy_address.h"
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

bool compile_ruleset(const pb::Policy& source, uint16_t policy_index, CompiledRuleset& out,
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

  std::vector<DomainRule> rules;
  for (const auto& text : source.allowed_domains()) {
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
    std::vector<PortRange>& ports = out.domain_ports.emplace_back();
    for (const DomainPortRange& range : pattern.ports) ports.push_back({range.first, range.last});
  }
  out.domains = DomainMatcher::compile(rules, error, cache);
  if (!out.domains) {
    error = "policy " + source.name() + ": " + error;
    return false;
  }

  for (const auto& network : source.allowed_networks()) {
    Cidr cidr;
    if (parse_cidr(network.cidr(), cidr) != CidrError::none) {
      error = "policy " + source.name() + ": bad cidr " + network.cidr();
      return false;
    }
    NetworkTable::Prefix prefix;
    prefix.address = cidr.address;
    prefix.length = cidr.prefix_length;
    prefix.rule.policy_index = policy_index;
    prefix.rule.ip_protocol = to_ip_protocol(network.protocol(), cidr.address.family);
    for (const auto& port : network.ports()) prefix.rule.ports.push_back(to_port_range(port));
    prefixes.push_back(std::move(prefix));
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

bool build_source_tables(CompiledPolicy& policy, const std::vector<Cidr>& sources, std::string& error) {
  size_t v4 = 0, v6 = 0;
  for (const auto& cidr : sources) (cidr.address.family == 4 ? v4 : v6)++;
  std::string base = "g" + std::to_string(policy.generation) + "_src";
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
  policy->policies.resize(static_cast<size_t>(policy_set.policies_size()));
  for (int i = 0; i < policy_set.policies_size(); ++i) {
    const auto& source = policy_set.policies(i);
    index_of[source.name()] = static_cast<uint16_t>(i);
    if (!compile_ruleset(source, static_cast<uint16_t>(i), policy->policies[static_cast<size_t>(i)], network_prefixes,
                         cache, result.error))
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
    if (!policy->networks->build("g" + std::to_string(generation) + "_net", network_prefixes, result.error))
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

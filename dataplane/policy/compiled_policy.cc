#include "dataplane/policy/compiled_policy.h"

#include <algorithm>

#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

namespace sluice {

namespace {

bool port_in(const std::vector<PortRange>& ranges, uint16_t port) {
  if (ranges.empty()) return true;
  for (const PortRange& range : ranges)
    if (port >= range.first && port <= range.last) return true;
  return false;
}

// IP protocol numbers, spelled here because the dataplane's policy has no parser header.
constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kIcmpv6 = 58;

}  // namespace

bool CompiledRule::matches(uint8_t ip_protocol, uint16_t port) const {
  switch (protocol) {
    case Protocol::any: break;
    case Protocol::tcp: if (ip_protocol != kTcp) return false; break;
    case Protocol::udp: if (ip_protocol != kUdp) return false; break;
    case Protocol::icmp: if (ip_protocol != kIcmp && ip_protocol != kIcmpv6) return false; break;
  }
  // A port list never matches a protocol without ports (ICMP has port 0).
  return ports.empty() || (port != 0 && port_in(ports, port));
}

const NetworkRuleEntry* NetworkRuleGroup::deciding_rule(uint16_t policy_index, uint8_t ip_protocol, uint16_t port,
                                                        const std::vector<CompiledRule>& numbered) const {
  const NetworkRuleEntry* best = nullptr;
  for (const auto& rule : rules) {
    if (rule.policy_index != policy_index) continue;
    if (best && rule.rule >= best->rule) continue;  // equal: the first listed stays
    if (rule.ip_protocol != 0 && rule.ip_protocol != ip_protocol) continue;
    if (!rule.ports.empty() && (port == 0 || !port_in(rule.ports, port))) continue;
    if (rule.rule != kNoRule && (rule.rule >= numbered.size() || !numbered[rule.rule].matches(ip_protocol, port)))
      continue;
    best = &rule;
  }
  return best;
}

const NetworkRuleEntry* NetworkRuleGroup::allowing_rule(uint16_t policy_index, uint8_t ip_protocol,
                                                        uint16_t port) const {
  for (const auto& rule : rules) {
    if (rule.policy_index != policy_index || rule.rule != kNoRule) continue;
    if (rule.ip_protocol != 0 && rule.ip_protocol != ip_protocol) continue;
    if (rule.ports.empty()) return &rule;
    for (const auto& range : rule.ports)
      if (port >= range.first && port <= range.last) return &rule;
  }
  return nullptr;
}

namespace {

// True when prefix `outer` covers `inner` (same family, shorter or equal, same leading bits).
bool covers(const NetworkTable::Prefix& outer, const NetworkTable::Prefix& inner) {
  if (outer.address.family != inner.address.family || outer.length > inner.length) return false;
  int full_bytes = outer.length / 8;
  if (std::memcmp(outer.address.bytes, inner.address.bytes, full_bytes) != 0) return false;
  int rest = outer.length % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (outer.address.bytes[full_bytes] & mask) == (inner.address.bytes[full_bytes] & mask);
}

bool same_prefix(const NetworkTable::Prefix& a, const NetworkTable::Prefix& b) {
  return a.length == b.length && covers(a, b);
}

}  // namespace

NetworkTable::~NetworkTable() {
  if (v4_) rte_lpm_free(v4_);
  if (v6_) rte_lpm6_free(v6_);
}

bool NetworkTable::build(const std::string& name, const std::vector<Prefix>& prefixes, std::string& error) {
  // Distinct prefixes, each with the rules of every prefix covering it (its own included).
  std::vector<Prefix> distinct;
  for (const auto& prefix : prefixes)
    if (std::none_of(distinct.begin(), distinct.end(), [&](const Prefix& p) { return same_prefix(p, prefix); }))
      distinct.push_back(prefix);
  size_t v4_count = 0, v6_count = 0;
  for (const auto& prefix : distinct) (prefix.address.family == 4 ? v4_count : v6_count)++;

  if (v4_count) {
    rte_lpm_config config{};
    config.max_rules = static_cast<uint32_t>(v4_count);
    config.number_tbl8s = static_cast<uint32_t>(std::max<size_t>(v4_count, 16));
    v4_ = rte_lpm_create((name + "4").c_str(), SOCKET_ID_ANY, &config);
    if (!v4_) {
      error = "rte_lpm_create(" + name + "4): " + rte_strerror(rte_errno);
      return false;
    }
  }
  if (v6_count) {
    rte_lpm6_config config{};
    config.max_rules = static_cast<uint32_t>(v6_count);
    config.number_tbl8s = static_cast<uint32_t>(v6_count * 14 + 16);  // up to 13 tbl8 levels a /128
    v6_ = rte_lpm6_create((name + "6").c_str(), SOCKET_ID_ANY, &config);
    if (!v6_) {
      error = "rte_lpm6_create(" + name + "6): " + rte_strerror(rte_errno);
      return false;
    }
  }
  // Each rule's place in its policy, so that a group's rule can be traced back to the policy text.
  std::vector<uint16_t> rule_index(prefixes.size());
  std::vector<uint16_t> next_index;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    uint16_t policy_index = prefixes[i].rule.policy_index;
    if (next_index.size() <= policy_index) next_index.resize(policy_index + 1u, 0);
    rule_index[i] = next_index[policy_index]++;
  }
  for (const auto& prefix : distinct) {
    NetworkRuleGroup group;
    for (size_t i = 0; i < prefixes.size(); ++i)
      if (covers(prefixes[i], prefix)) {
        group.rules.push_back(prefixes[i].rule);
        group.rules.back().rule_index = rule_index[i];
      }
    uint32_t next_hop = static_cast<uint32_t>(groups_.size());
    groups_.push_back(std::move(group));
    int rc = prefix.address.family == 4
                 ? rte_lpm_add(v4_, prefix.address.v4_host_order(), prefix.length, next_hop)
                 : rte_lpm6_add(v6_, prefix.address.bytes, prefix.length, next_hop);
    if (rc < 0) {
      error = "LPM add for " + format_ip(prefix.address) + "/" + std::to_string(prefix.length) + " failed: " +
              rte_strerror(-rc);
      return false;
    }
  }
  return true;
}

const NetworkRuleGroup* NetworkTable::lookup(const IpAddress& address) const {
  uint32_t next_hop = 0;
  if (address.family == 4) {
    if (!v4_ || rte_lpm_lookup(v4_, address.v4_host_order(), &next_hop) != 0) return nullptr;
  } else {
    if (!v6_ || rte_lpm6_lookup(v6_, address.bytes, &next_hop) != 0) return nullptr;
  }
  return &groups_[next_hop];
}

bool CompiledRuleset::allows_resolver(const IpAddress& address) const {
  for (const auto& resolver : dns_resolvers)
    if (resolver == address) return true;
  return false;
}

bool CompiledRuleset::allows_proxy(const IpAddress& address, uint16_t port) const {
  for (const auto& proxy : allowed_proxies)
    if (proxy.port == port && proxy.address == address) return true;
  return false;
}

bool CompiledRuleset::name_rule_before(uint16_t rule, uint8_t ip_protocol, uint16_t port) const {
  const size_t end = std::min<size_t>(rule, rules.size());
  for (size_t r = 0; r < end; ++r)
    if (rules[r].names && rules[r].matches(ip_protocol, port)) return true;
  return false;
}

bool CompiledRuleset::domain_rule_allows_port(uint32_t rule_id, uint16_t port) const {
  if (rule_id >= domain_ports.size()) return true;
  const std::vector<PortRange>& ranges = domain_ports[rule_id];
  if (ranges.empty()) return true;
  for (const PortRange& range : ranges)
    if (port >= range.first && port <= range.last) return true;
  return false;
}

namespace {

// The best of the patterns matching `name` that `counts` accepts: the lowest rule index (the
// allow lists' kNoRule last), then the lowest pattern id, so that the answer is stable whatever
// order Hyperscan reports matches in.
template <typename Counts>
NameJudgement decide_name(const CompiledRuleset& ruleset, std::string_view name, hs_scratch_t* scratch,
                          Counts counts) {
  NameJudgement best;
  if (!ruleset.domains) return best;
  ruleset.domains->for_each_match(name, scratch, [&](uint32_t id) {
    const uint16_t rule = id < ruleset.domain_pattern_rule.size() ? ruleset.domain_pattern_rule[id] : kNoRule;
    if (!counts(id, rule)) return false;
    if (!best.matched || rule < best.rule || (rule == best.rule && id < best.pattern)) {
      best.matched = true;
      best.rule = rule;
      best.pattern = id;
    }
    return best.rule == 0 && best.pattern == 0;  // nothing decides before rule 0's first pattern
  });
  if (best.matched) best.allowed = best.rule == kNoRule || !ruleset.rules[best.rule].deny;
  return best;
}

}  // namespace

NameJudgement CompiledRuleset::judge_name(std::string_view name, uint8_t ip_protocol, uint16_t port,
                                          hs_scratch_t* scratch) const {
  return decide_name(*this, name, scratch, [&](uint32_t id, uint16_t rule) {
    if (!domain_rule_allows_port(id, port)) return false;
    return rule == kNoRule || rules[rule].matches(ip_protocol, port);
  });
}

NameJudgement CompiledRuleset::judge_name_on_any_port(std::string_view name, hs_scratch_t* scratch) const {
  return decide_name(*this, name, scratch, [&](uint32_t id, uint16_t rule) {
    if (rule == kNoRule || !rules[rule].deny) return true;
    return rules[rule].matches_every_flow() && (id >= domain_ports.size() || domain_ports[id].empty());
  });
}

bool CompiledRuleset::domain_allows(std::string_view name, uint16_t port, hs_scratch_t* scratch,
                                    uint32_t* rule_id) const {
  const NameJudgement judgement = judge_name(name, 0, port, scratch);
  if (judgement.allowed && rule_id) *rule_id = judgement.pattern;
  return judgement.allowed;
}

const CompiledRuleset::StorageEndpoint* CompiledRuleset::storage_endpoint_for(std::string_view name, uint16_t port,
                                                                            hs_scratch_t* scratch) const {
  if (storage_endpoints.empty()) return nullptr;
  uint32_t rule_id = 0;
  if (!domain_allows(name, port, scratch, &rule_id) || rule_id >= domain_rule_endpoint.size()) return nullptr;
  const int16_t endpoint = domain_rule_endpoint[rule_id];
  return endpoint < 0 ? nullptr : &storage_endpoints[size_t(endpoint)];
}

bool CompiledRuleset::storage_bucket_listed(StorageProvider provider, std::string_view bucket) const {
  if (bucket.empty()) return false;
  for (const StorageBucket& listed : storage_buckets)
    if (listed.provider == provider && listed.name == bucket) return true;
  return false;
}

CompiledPolicy::~CompiledPolicy() {
  if (sources_v4) rte_lpm_free(sources_v4);
  if (sources_v6) rte_lpm6_free(sources_v6);
  for (auto* s : scratch)
    if (s) hs_free_scratch(s);
}

uint16_t CompiledPolicy::attachment_index_for(const IpAddress& source) const {
  uint32_t next_hop = 0;
  if (source.family == 4) {
    if (sources_v4 && rte_lpm_lookup(sources_v4, source.v4_host_order(), &next_hop) == 0)
      return static_cast<uint16_t>(next_hop);
  } else if (source.family == 6) {
    if (sources_v6 && rte_lpm6_lookup(sources_v6, source.bytes, &next_hop) == 0)
      return static_cast<uint16_t>(next_hop);
  }
  return 0;
}

const CompiledAttachment& CompiledPolicy::attachment_for(const IpAddress& source) const {
  return attachments[attachment_index_for(source)];
}

}  // namespace sluice

#include "controlplane/policy/rule_shadowing.h"

#include <algorithm>
#include <climits>
#include <map>
#include <optional>

#include "controlplane/policy/cidr.h"
#include "controlplane/policy/domain_pattern.h"
#include "controlplane/policy/quoted_text.h"
#include "controlplane/policy/service_tag_catalog.h"

namespace sluice {

namespace {

namespace pb = sluice::policy;

// A set of destination ports: every port, or the listed ranges (none: no port at all).
struct PortSet {
  bool every = true;
  std::vector<DomainPortRange> ranges;  // sorted, merged

  static PortSet of(const std::vector<DomainPortRange>& ranges) {
    return ranges.empty() ? PortSet{} : PortSet{false, ranges};
  }
  bool empty() const { return !every && ranges.empty(); }
  bool contains(const PortSet& other) const {
    if (every) return true;
    if (other.every) return false;
    return std::all_of(other.ranges.begin(), other.ranges.end(), [&](const DomainPortRange& inner) {
      return std::any_of(ranges.begin(), ranges.end(), [&](const DomainPortRange& outer) {
        return outer.first <= inner.first && inner.last <= outer.last;
      });
    });
  }
  PortSet intersect(const PortSet& other) const {
    if (every) return other;
    if (other.every) return *this;
    PortSet both{false, {}};
    for (const auto& a : ranges)
      for (const auto& b : other.ranges) {
        const uint16_t first = std::max(a.first, b.first), last = std::min(a.last, b.last);
        if (first <= last) both.ranges.push_back({first, last});
      }
    return both;
  }
};

// PROTOCOL_ANY, TCP, UDP, ICMP; nullopt: two protocols that exclude each other (matches nothing).
std::optional<pb::Protocol> intersect(pb::Protocol a, pb::Protocol b) {
  if (a == pb::PROTOCOL_ANY) return b;
  if (b == pb::PROTOCOL_ANY || a == b) return a;
  return std::nullopt;
}

// One name pattern or one network a rule matches, with the protocol and ports it matches on.
struct Target {
  bool is_name = true;
  DomainPattern pattern;
  Cidr cidr;
  pb::Protocol protocol = pb::PROTOCOL_ANY;
  PortSet ports;
};

struct Scope {
  std::string field;        // where the warning points
  std::string description;  // "rule \"x\"", "allowed_domains entry \"a.com\""
  bool deny = false;
  bool numbered = false;
  uint32_t priority = UINT32_MAX;
  std::string line;         // "line 12", for the other rule's message
  std::vector<Target> targets;
  bool partly_unknown = false;  // a service tag no loaded file lists: never called shadowed
};

bool below(const std::string& name, const std::string& base) {
  return name.size() > base.size() && name.ends_with(base) && name[name.size() - base.size() - 1] == '.';
}

// Whether every name `inner` matches, `outer` matches too.
bool covers(const DomainPattern& outer, const DomainPattern& inner) {
  const bool same_or_below = inner.base == outer.base || below(inner.base, outer.base);
  switch (outer.kind) {
    case DomainPatternKind::exact:
      return inner.kind == DomainPatternKind::exact && inner.base == outer.base;
    case DomainPatternKind::strict_subdomains:
      return inner.kind == DomainPatternKind::strict_subdomains ? same_or_below : below(inner.base, outer.base);
    case DomainPatternKind::apex_and_subdomains:
      return same_or_below;
  }
  return false;
}

bool covers(const Cidr& outer, const Cidr& inner) {
  if (outer.address.family != inner.address.family || outer.prefix_length > inner.prefix_length) return false;
  for (unsigned bit = 0; bit < outer.prefix_length; ++bit) {
    const uint8_t mask = uint8_t(0x80u >> (bit % 8));
    if ((outer.address.bytes[bit / 8] & mask) != (inner.address.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

bool covers(const Target& outer, const Target& inner) {
  if (outer.is_name != inner.is_name) return false;
  if (outer.protocol != pb::PROTOCOL_ANY && outer.protocol != inner.protocol) return false;
  if (!outer.ports.contains(inner.ports)) return false;
  return outer.is_name ? covers(outer.pattern, inner.pattern) : covers(outer.cidr, inner.cidr);
}

// Every target of `inner` (that matches anything at all) is covered by one of `outer`.
bool shadows(const Scope& outer, const Scope& inner) {
  if (inner.partly_unknown) return false;
  bool any = false;
  for (const Target& target : inner.targets) {
    if (target.ports.empty()) continue;
    any = true;
    if (std::none_of(outer.targets.begin(), outer.targets.end(),
                     [&](const Target& candidate) { return covers(candidate, target); }))
      return false;
  }
  return any;
}

PortSet ports_of(const google::protobuf::RepeatedPtrField<std::string>& texts) {
  if (texts.empty()) return {};
  std::string joined;
  for (const auto& text : texts) joined += (joined.empty() ? "" : ",") + text;
  std::vector<DomainPortRange> ranges;
  parse_domain_ports(joined, ranges);
  return PortSet::of(ranges);
}

void add_name(Scope& scope, const std::string& text, pb::Protocol protocol, const PortSet& ports) {
  Target target;
  if (!parse_domain_pattern(text, target.pattern).empty()) return;
  target.protocol = protocol;
  target.ports = ports.intersect(PortSet::of(target.pattern.ports));
  scope.targets.push_back(std::move(target));
}

void add_prefix(Scope& scope, const Cidr& cidr, pb::Protocol protocol, const PortSet& ports) {
  Target target;
  target.is_name = false;
  target.cidr = cidr;
  target.protocol = protocol;
  target.ports = ports;
  scope.targets.push_back(std::move(target));
}

void add_network(Scope& scope, const std::string& text, pb::Protocol protocol, const PortSet& ports) {
  Cidr cidr;
  if (parse_cidr(text, cidr) == CidrError::none) add_prefix(scope, cidr, protocol, ports);
}

void add_member(Scope& scope, const pb::NetworkRule& member, pb::Protocol protocol, const PortSet& ports) {
  const std::optional<pb::Protocol> both = intersect(protocol, member.protocol());
  add_network(scope, member.cidr(), both.value_or(pb::PROTOCOL_ANY),
              both ? ports.intersect(ports_of(member.ports())) : PortSet{false, {}});
}

std::string indexed(const std::string& path, int index) { return path + "[" + std::to_string(index) + "]"; }

class ShadowFinder {
 public:
  ShadowFinder(const pb::PolicySet& set, const std::string& file, const FieldLocator& locator,
               const ServiceTagCatalog* service_tags)
      : set_(set), file_(file), locator_(locator), service_tags_(service_tags) {
    for (const auto& group : set.domain_groups()) domain_groups_[group.name()] = &group;
    for (const auto& group : set.ip_groups()) ip_groups_[group.name()] = &group;
  }

  PolicyErrors run() {
    for (int p = 0; p < set_.policies_size(); ++p) check_policy(set_.policies(p), indexed("policies", p));
    return std::move(warnings_);
  }

 private:
  void check_policy(const pb::Policy& policy, const std::string& path) {
    std::vector<Scope> numbered;
    for (int r = 0; r < policy.rules_size(); ++r) numbered.push_back(rule_scope(policy.rules(r), indexed(path + ".rules", r)));
    std::stable_sort(numbered.begin(), numbered.end(),
                     [](const Scope& a, const Scope& b) { return a.priority < b.priority; });
    for (size_t b = 0; b < numbered.size(); ++b)
      for (size_t a = 0; a < b; ++a)
        if (shadows(numbered[a], numbered[b])) {
          warn(numbered[b], numbered[a]);
          break;
        }
    // The allow lists sit below every numbered rule: only a DENY can take what they allow.
    for (const Scope& entry : allow_list_scopes(policy, path))
      for (const Scope& rule : numbered)
        if (rule.deny && shadows(rule, entry)) {
          warn(entry, rule);
          break;
        }
  }

  Scope rule_scope(const pb::Rule& rule, const std::string& path) {
    Scope scope;
    scope.field = path;
    scope.numbered = true;
    scope.deny = rule.action() == pb::DENY;
    scope.priority = rule.priority();
    scope.description = std::string(scope.deny ? "DENY" : "ALLOW") + " rule " + quoted_text(rule.name()) +
                        " (priority " + std::to_string(rule.priority()) + ")";
    scope.line = describe_location(locator_, path);
    const PortSet ports = ports_of(rule.ports());
    for (const auto& text : rule.domains()) add_name(scope, text, rule.protocol(), ports);
    for (const auto& name : rule.domain_groups())
      if (auto it = domain_groups_.find(name); it != domain_groups_.end())
        for (const auto& text : it->second->domains()) add_name(scope, text, rule.protocol(), ports);
    for (const auto& cidr : rule.networks()) add_network(scope, cidr, rule.protocol(), ports);
    for (const auto& name : rule.ip_groups())
      if (auto it = ip_groups_.find(name); it != ip_groups_.end())
        for (const auto& member : it->second->networks()) add_member(scope, member, rule.protocol(), ports);
    for (const auto& tag : rule.service_tags()) {
      bool found = false;
      const std::vector<Cidr> prefixes = service_tags_ ? service_tags_->prefixes_of(tag, found) : std::vector<Cidr>{};
      if (!found) scope.partly_unknown = true;
      for (const Cidr& prefix : prefixes) add_prefix(scope, prefix, rule.protocol(), ports);
    }
    return scope;
  }

  // Each allow-list entry on its own: one of them shadowed is worth a warning of its own.
  std::vector<Scope> allow_list_scopes(const pb::Policy& policy, const std::string& path) {
    std::vector<Scope> scopes;
    auto entry = [&](const std::string& field, const std::string& description) -> Scope& {
      Scope& scope = scopes.emplace_back();
      scope.field = field;
      scope.description = description;
      return scope;
    };
    for (int i = 0; i < policy.allowed_domains_size(); ++i) {
      const std::string& text = policy.allowed_domains(i);
      add_name(entry(indexed(path + ".allowed_domains", i), "allowed_domains entry " + quoted_text(text)), text,
               pb::PROTOCOL_ANY, {});
    }
    for (int i = 0; i < policy.allowed_networks_size(); ++i) {
      const auto& network = policy.allowed_networks(i);
      add_member(entry(indexed(path + ".allowed_networks", i), "allowed_networks entry " + quoted_text(network.cidr())),
                 network, pb::PROTOCOL_ANY, {});
    }
    for (int g = 0; g < policy.allowed_domain_groups_size(); ++g) {
      auto it = domain_groups_.find(policy.allowed_domain_groups(g));
      if (it == domain_groups_.end()) continue;
      for (const auto& text : it->second->domains())
        add_name(entry(indexed(path + ".allowed_domain_groups", g),
                       "member " + quoted_text(text) + " of domain group " + quoted_text(it->first)),
                 text, pb::PROTOCOL_ANY, {});
    }
    for (int g = 0; g < policy.allowed_ip_groups_size(); ++g) {
      auto it = ip_groups_.find(policy.allowed_ip_groups(g));
      if (it == ip_groups_.end()) continue;
      for (const auto& member : it->second->networks())
        add_member(entry(indexed(path + ".allowed_ip_groups", g),
                         "member " + quoted_text(member.cidr()) + " of ip group " + quoted_text(it->first)),
                   member, pb::PROTOCOL_ANY, {});
    }
    return scopes;
  }

  void warn(const Scope& shadowed, const Scope& by) {
    std::string message = shadowed.description;
    if (by.deny && !shadowed.deny)
      message += " never allows anything: " + by.description + " at " + by.line + " denies everything it matches first";
    else
      message += " never decides anything: " + by.description + " at " + by.line + " matches everything it matches first";
    warnings_.push_back({file_, locator_.line_of(shadowed.field), shadowed.field, std::move(message)});
  }

  const pb::PolicySet& set_;
  const std::string& file_;
  const FieldLocator& locator_;
  const ServiceTagCatalog* service_tags_;
  std::map<std::string, const pb::DomainGroup*> domain_groups_;
  std::map<std::string, const pb::IpGroup*> ip_groups_;
  PolicyErrors warnings_;
};

}  // namespace

PolicyErrors find_shadowed_rules(const pb::PolicySet& set, const std::string& file, const FieldLocator& locator,
                                 const ServiceTagCatalog* service_tags) {
  return ShadowFinder(set, file, locator, service_tags).run();
}

}  // namespace sluice

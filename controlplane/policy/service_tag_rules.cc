#include "controlplane/policy/service_tag_rules.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "controlplane/policy/quoted_text.h"

namespace sluice {

namespace {

namespace pb = sluice::policy;

constexpr size_t kMaxNetworkRules = 65535;

std::string indexed(const std::string& path, int index) { return path + "[" + std::to_string(index) + "]"; }

bool parse_port(std::string_view text, uint32_t& value) {
  if (text.empty() || text.size() > 5) return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value >= 1 && value <= 65535;
}

// The same port syntax as allowed_networks ("443", "8000-8100").
std::string port_range_problem(const std::string& text) {
  const size_t dash = text.find('-');
  uint32_t first = 0, last = 0;
  const bool first_ok = parse_port(std::string_view(text).substr(0, dash), first);
  const bool last_ok = dash == std::string::npos ? (last = first, first_ok)
                                                 : parse_port(std::string_view(text).substr(dash + 1), last);
  if (!first_ok || !last_ok) return "not a port or PORT-PORT range in 1-65535 (as in \"443\" or \"8000-8100\")";
  if (first > last) return "range starts above its end";
  return "";
}

std::string file_list(const ServiceTagCatalog& catalog) {
  std::string names;
  for (const auto& file : catalog.files()) names += (names.empty() ? "" : ", ") + file.path;
  return names;
}

}  // namespace

PolicyErrors check_service_tag_rules(const pb::PolicySet& set, const std::string& file, const FieldLocator& locator,
                                     const ServiceTagCatalog* catalog) {
  PolicyErrors errors;
  auto add = [&](const std::string& field, std::string message) {
    errors.push_back({file, locator.line_of(field), field, std::move(message)});
  };
  // A tag of allowed_service_tags or of a numbered rule: some loaded file must list it.
  auto check_tag = [&](const std::string& tag, const std::string& field) {
    if (tag.empty()) {
      add(field, "missing tag");
    } else if (!catalog || catalog->empty()) {
      add(field, "service tag " + quoted_text(tag) +
                     ": no service tag files are loaded (the appliance config's service_tag_files, "
                     "or sluicectl's --service-tags)");
    } else {
      bool found = false;
      catalog->prefixes_of(tag, found);
      if (!found) add(field, "unknown service tag " + quoted_text(tag) + " (not in " + file_list(*catalog) + ")");
    }
  };
  for (int p = 0; p < set.policies_size(); ++p) {
    const pb::Policy& policy = set.policies(p);
    const std::string policy_path = indexed("policies", p);
    if (policy.allowed_service_tags_size() > 0 && policy.access_mode() == pb::FULL)
      add(policy_path + ".allowed_service_tags",
          "allowed_service_tags in a FULL policy: FULL already allows everything (RESTRICTED uses the list)");
    for (int i = 0; i < policy.allowed_service_tags_size(); ++i) {
      const pb::ServiceTagRule& rule = policy.allowed_service_tags(i);
      const std::string path = indexed(policy_path + ".allowed_service_tags", i);
      check_tag(rule.tag(), path + ".tag");
      if (!pb::Protocol_IsValid(rule.protocol()))
        add(path + ".protocol", "unknown protocol " + std::to_string(rule.protocol()));
      const bool has_ports = rule.protocol() == pb::TCP || rule.protocol() == pb::UDP;
      if (!has_ports && rule.ports_size() > 0)
        add(path + ".ports", "ports apply only to protocol TCP or UDP");
      for (int j = 0; j < rule.ports_size(); ++j)
        if (std::string problem = port_range_problem(rule.ports(j)); !problem.empty())
          add(indexed(path + ".ports", j), quoted_text(rule.ports(j)) + ": " + problem);
    }
    // A numbered rule's protocol and ports are checked with the rule (policy_validator).
    for (int r = 0; r < policy.rules_size(); ++r)
      for (int i = 0; i < policy.rules(r).service_tags_size(); ++i)
        check_tag(policy.rules(r).service_tags(i), indexed(indexed(policy_path + ".rules", r) + ".service_tags", i));
    // The compiled network table numbers a policy's rules in 16 bits (NetworkRuleEntry::rule_index).
    if (catalog && (policy.allowed_service_tags_size() > 0 || std::any_of(policy.rules().begin(), policy.rules().end(),
                                                                           [](const pb::Rule& rule) {
                                                                             return rule.service_tags_size() > 0;
                                                                           }))) {
      size_t rules = static_cast<size_t>(policy.allowed_networks_size());
      bool found = false;
      for (const auto& rule : policy.allowed_service_tags()) rules += catalog->prefixes_of(rule.tag(), found).size();
      for (const auto& rule : policy.rules()) {
        rules += static_cast<size_t>(rule.networks_size());
        for (const auto& tag : rule.service_tags()) rules += catalog->prefixes_of(tag, found).size();
      }
      if (rules > kMaxNetworkRules)
        add(policy_path + ".allowed_service_tags",
            "the service tags expand to " + std::to_string(rules) + " network rules with allowed_networks; at most " +
                std::to_string(kMaxNetworkRules) + " a policy (name narrower tags, e.g. a region's)");
    }
  }
  return errors;
}

std::string service_tag_group_name(const std::string& tag) { return kServiceTagGroupPrefix + tag; }

void expand_service_tags(pb::PolicySet& set, const ServiceTagCatalog& catalog) {
  // A rule's tags become ip groups of the set, one a tag as written, named so that no group of
  // the policy text can have the name (a space is not in [a-z0-9_.-]); explain names them.
  std::set<std::string> tag_groups;
  auto group_for = [&](const std::string& tag) {
    const std::string name = service_tag_group_name(tag);
    if (tag_groups.insert(name).second) {
      pb::IpGroup* group = set.add_ip_groups();
      group->set_name(name);
      group->set_description("service tag " + tag);
      bool found = false;
      for (const Cidr& cidr : catalog.prefixes_of(tag, found)) group->add_networks()->set_cidr(format_cidr(cidr));
    }
    return name;
  };
  for (auto& policy : *set.mutable_policies()) {
    for (const auto& rule : policy.allowed_service_tags()) {
      bool found = false;
      for (const Cidr& cidr : catalog.prefixes_of(rule.tag(), found)) {
        pb::NetworkRule* network = policy.add_allowed_networks();
        network->set_cidr(format_cidr(cidr));
        network->set_protocol(rule.protocol());
        *network->mutable_ports() = rule.ports();
        network->set_description("service tag " + rule.tag());
      }
    }
    policy.clear_allowed_service_tags();
    for (auto& rule : *policy.mutable_rules()) {
      for (const auto& tag : rule.service_tags()) rule.add_ip_groups(group_for(tag));
      rule.clear_service_tags();
    }
  }
}

}  // namespace sluice

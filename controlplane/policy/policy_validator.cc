#include "controlplane/policy/policy_validator.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "controlplane/policy/cidr.h"
#include "controlplane/policy/domain_pattern.h"
#include "controlplane/policy/proxy_address.h"
#include "controlplane/policy/public_suffix_list.h"
#include "controlplane/policy/quoted_text.h"
#include "controlplane/policy/storage_expansion.h"
#include "controlplane/policy/storage_naming_rules.h"
#include "controlplane/policy/rule_shadowing.h"

namespace sluice {

namespace protobuf = google::protobuf;
using sluice::policy::NetworkRule;
using sluice::policy::Policy;
using sluice::policy::PolicySet;

// ---- FieldLocator ------------------------------------------------------------------------------

namespace {

class SyntaxErrorCollector : public protobuf::io::ErrorCollector {
 public:
  SyntaxErrorCollector(const std::string& file, PolicyErrors& errors) : file_(file), errors_(errors) {}

  void AddError(int line, protobuf::io::ColumnNumber column, const std::string& message) override {
    // The tokenizer counts from 0; editors count from 1.
    errors_.push_back({file_, line >= 0 ? line + 1 : 0, "",
                       "syntax error at column " + std::to_string(column + 1) + ": " + message});
  }

 private:
  const std::string& file_;
  PolicyErrors& errors_;
};

class IgnoringErrorCollector : public protobuf::io::ErrorCollector {
 public:
  // The text already parsed once; re-reading it cannot find new errors worth reporting.
  void AddError(int, protobuf::io::ColumnNumber, const std::string&) override {}
};

// "attachments[1]" -> name "attachments", index 1; "name" -> index -1.
bool split_segment(std::string_view segment, std::string_view& name, int& index) {
  index = -1;
  const size_t bracket = segment.find('[');
  name = segment.substr(0, bracket);
  if (bracket == std::string_view::npos) return true;
  if (!segment.ends_with(']')) return false;
  const std::string_view digits = segment.substr(bracket + 1, segment.size() - bracket - 2);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  return error == std::errc() && end == digits.data() + digits.size() && index >= 0;
}

}  // namespace

FieldLocator::FieldLocator() = default;
FieldLocator::~FieldLocator() = default;
FieldLocator::FieldLocator(FieldLocator&&) noexcept = default;
FieldLocator& FieldLocator::operator=(FieldLocator&&) noexcept = default;

bool FieldLocator::parse_text(const std::string& text, const std::string& file, protobuf::Message& message,
                              PolicyErrors& errors) {
  text_ = text;
  line_starts_.assign(1, 0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
  element_lines_.clear();
  root_ = message.GetDescriptor();
  tree_ = std::make_unique<ParseInfoTree>();

  SyntaxErrorCollector collector(file, errors);
  protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(tree_.get());
  const size_t errors_before = errors.size();
  if (parser.ParseFromString(text, &message)) return true;
  if (errors.size() == errors_before) errors.push_back({file, 0, "", "not a valid text protobuf"});
  return false;
}

int FieldLocator::line_of(std::string_view path) const {
  const ParseInfoTree* tree = tree_.get();
  const protobuf::Descriptor* descriptor = root_;
  int line = 0;
  while (!path.empty() && tree != nullptr && descriptor != nullptr) {
    const size_t dot = path.find('.');
    const std::string_view segment = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);

    std::string_view name;
    int index = -1;
    if (!split_segment(segment, name, index)) break;
    const protobuf::FieldDescriptor* field = descriptor->FindFieldByName(std::string(name));
    if (field == nullptr) break;

    if (field->is_repeated()) {
      index = std::max(index, 0);
      const std::vector<int>& lines = element_lines(*tree, field);
      if (size_t(index) >= lines.size()) break;
      line = lines[index] + 1;
    } else {
      // ParseInfoTree insists on -1 for singular fields.
      index = -1;
      const protobuf::TextFormat::ParseLocation location = tree->GetLocation(field, index);
      if (location.line < 0) break;
      line = location.line + 1;
    }
    if (field->cpp_type() != protobuf::FieldDescriptor::CPPTYPE_MESSAGE) break;
    // Nested trees are kept per element, list syntax or not.
    tree = tree->GetTreeForNested(field, index);
    descriptor = field->message_type();
  }
  return line;
}

// ParseInfoTree keeps one location per occurrence of a field name, and `ports: ["1", "2"]` is one
// occurrence holding two elements; so each occurrence is read again to find its elements.
const std::vector<int>& FieldLocator::element_lines(const ParseInfoTree& tree,
                                                    const protobuf::FieldDescriptor* field) const {
  auto [it, inserted] = element_lines_.try_emplace({&tree, field});
  if (inserted) {
    for (int occurrence = 0;; ++occurrence) {
      const protobuf::TextFormat::ParseLocationRange range = tree.GetLocationRange(field, occurrence);
      if (range.start.line < 0) break;
      const std::vector<int> lines = lines_of_occurrence(range);
      it->second.insert(it->second.end(), lines.begin(), lines.end());
    }
  }
  return it->second;
}

std::vector<int> FieldLocator::lines_of_occurrence(const protobuf::TextFormat::ParseLocationRange& range) const {
  if (size_t(range.start.line) >= line_starts_.size()) return {range.start.line};
  // Columns count a tab as reaching the next multiple of 8, as the tokenizer does.
  size_t offset = line_starts_[range.start.line];
  for (int column = 0; column < range.start.column && offset < text_.size() && text_[offset] != '\n'; ++offset) {
    column = text_[offset] == '\t' ? column + 8 - column % 8 : column + 1;
  }

  protobuf::io::ArrayInputStream input(text_.data() + offset, int(text_.size() - offset));
  IgnoringErrorCollector ignore;
  protobuf::io::Tokenizer tokenizer(&input, &ignore);
  tokenizer.set_comment_style(protobuf::io::Tokenizer::SH_COMMENT_STYLE);
  tokenizer.set_allow_f_after_float(true);
  tokenizer.set_require_space_after_number(false);
  auto at = [&](const char* text) { return tokenizer.current().text == text; };

  tokenizer.Next();  // the field name
  tokenizer.Next();
  if (at(":")) tokenizer.Next();
  if (!at("[")) return {range.start.line};

  std::vector<int> lines;
  tokenizer.Next();
  if (at("]")) return lines;
  bool element_starts = true;
  int depth = 0;
  do {
    if (element_starts) lines.push_back(range.start.line + tokenizer.current().line);
    element_starts = false;
    if (at("{") || at("<") || at("[")) {
      ++depth;
    } else if (depth > 0 && (at("}") || at(">") || at("]"))) {
      --depth;
    } else if (depth == 0 && at("]")) {
      break;
    } else if (depth == 0 && at(",")) {
      element_starts = true;
    }
  } while (tokenizer.Next());
  return lines;
}

std::string describe_location(const FieldLocator& locator, const std::string& path) {
  const int line = locator.line_of(path);
  return line > 0 ? "line " + std::to_string(line) : path;
}

void sort_in_file_order(PolicyErrors& errors) {
  std::stable_sort(errors.begin(), errors.end(),
                   [](const PolicyError& a, const PolicyError& b) { return a.line < b.line; });
}

// ---- validation --------------------------------------------------------------------------------

namespace {

constexpr int kMaxPolicies = 4096;
constexpr uint32_t kMaxPort = 65535;
constexpr uint32_t kMinRulePriority = 1;
constexpr uint32_t kMaxRulePriority = 65000;
constexpr int kMaxRules = 4096;

std::string indexed(const std::string& path, int index) { return path + "[" + std::to_string(index) + "]"; }


bool is_valid_policy_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

std::optional<uint32_t> parse_port_number(std::string_view text) {
  // Digits only: from_chars alone would take "+80", and five digits are enough for any port.
  if (text.empty() || text.size() > 5) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  uint32_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// A prefix as a comparable key: two spellings of one IPv6 prefix must collide.
std::string prefix_key(const Cidr& cidr) {
  std::string key(reinterpret_cast<const char*>(cidr.address.bytes), sizeof cidr.address.bytes);
  key += char(cidr.address.family);
  key += char(cidr.prefix_length);
  return key;
}

class PolicySetValidator {
 public:
  PolicySetValidator(const std::string& file, const FieldLocator& locator, const PublicSuffixList& suffixes,
                     const ServiceTagCatalog* service_tags)
      : file_(file), locator_(locator), suffixes_(suffixes), service_tags_(service_tags) {}

  PolicyErrors run(const PolicySet& set, PolicyErrors* warnings) {
    check_groups(set);
    check_policies(set);
    check_attachments(set);
    check_default_policy(set);
    check_inspection_ports(set);
    if (warnings) {
      warn_unused_groups(set);
      // Shadowing is judged only on rules that are valid: a broken rule shadows nothing.
      if (errors_.empty()) {
        PolicyErrors shadowed = find_shadowed_rules(set, file_, locator_, service_tags_);
        warnings_.insert(warnings_.end(), shadowed.begin(), shadowed.end());
      }
      sort_in_file_order(warnings_);
      *warnings = std::move(warnings_);
    }
    sort_in_file_order(errors_);
    return std::move(errors_);
  }

 private:
  void add(const std::string& field, std::string message) {
    errors_.push_back({file_, locator_.line_of(field), field, std::move(message)});
  }
  void warn(const std::string& field, std::string message) {
    warnings_.push_back({file_, locator_.line_of(field), field, std::move(message)});
  }

  // ---- named groups (PolicySet.domain_groups, ip_groups) ----

  void check_groups(const PolicySet& set) {
    std::map<std::string, int> first_index;
    for (int i = 0; i < set.domain_groups_size(); ++i) {
      const policy::DomainGroup& group = set.domain_groups(i);
      const std::string path = indexed("domain_groups", i);
      if (check_group_name(group.name(), path, "domain_groups", first_index.try_emplace(group.name(), i).first->second, i))
        domain_groups_.insert(group.name());
      if (group.domains_size() == 0) add(path + ".domains", "group " + quoted_text(group.name()) + " has no domains");
      check_domain_list(group.domains(), path + ".domains");
    }
    first_index.clear();
    for (int i = 0; i < set.ip_groups_size(); ++i) {
      const policy::IpGroup& group = set.ip_groups(i);
      const std::string path = indexed("ip_groups", i);
      if (check_group_name(group.name(), path, "ip_groups", first_index.try_emplace(group.name(), i).first->second, i))
        ip_groups_.insert(group.name());
      if (group.networks_size() == 0) add(path + ".networks", "group " + quoted_text(group.name()) + " has no networks");
      for (int n = 0; n < group.networks_size(); ++n) check_network(group.networks(n), indexed(path + ".networks", n));
    }
  }

  bool check_group_name(const std::string& name, const std::string& path, const std::string& list, int first,
                        int index) {
    return check_unique_name(name, path, "group", list, first, index);
  }

  // A name of the set's own (a policy, a group): present, in policy-name syntax, and the first of
  // its kind in `list`. True when it is all three.
  bool check_unique_name(const std::string& name, const std::string& path, const std::string& kind,
                         const std::string& list, int first, int index) {
    const std::string field = path + ".name";
    if (name.empty()) {
      add(field, "missing name");
    } else if (!is_valid_policy_name(name)) {
      add(field, "name " + quoted_text(name) + " may contain only a-z, 0-9, '_', '.' and '-'");
    } else if (first != index) {
      add(field, "duplicate " + kind + " name " + quoted_text(name) + ", first at " +
                     describe_location(locator_, indexed(list, first) + ".name"));
    } else {
      return true;
    }
    return false;
  }

  // A reference from a policy or rule: unknown is an error, known marks the group used.
  void check_group_reference(const std::string& name, const std::string& field, bool domain_group) {
    const std::set<std::string>& known = domain_group ? domain_groups_ : ip_groups_;
    if (known.contains(name)) {
      (domain_group ? used_domain_groups_ : used_ip_groups_).insert(name);
    } else {
      add(field, std::string(domain_group ? "unknown domain group " : "unknown ip group ") + quoted_text(name) +
                     (domain_group ? " (not in domain_groups)" : " (not in ip_groups)"));
    }
  }

  void warn_unused_groups(const PolicySet& set) {
    for (int i = 0; i < set.domain_groups_size(); ++i)
      if (domain_groups_.contains(set.domain_groups(i).name()) && !used_domain_groups_.contains(set.domain_groups(i).name()))
        warn(indexed("domain_groups", i) + ".name",
             "domain group " + quoted_text(set.domain_groups(i).name()) + " is used by no policy");
    for (int i = 0; i < set.ip_groups_size(); ++i)
      if (ip_groups_.contains(set.ip_groups(i).name()) && !used_ip_groups_.contains(set.ip_groups(i).name()))
        warn(indexed("ip_groups", i) + ".name",
             "ip group " + quoted_text(set.ip_groups(i).name()) + " is used by no policy");
  }

  // ---- numbered rules (Policy.rules) ----

  void check_rules(const Policy& policy, const std::string& path) {
    if (policy.rules_size() > kMaxRules) {
      // Records carry a rule's index in 16 bits (FlowEvent::rule_index).
      add(indexed(path + ".rules", kMaxRules), "too many rules (" + std::to_string(policy.rules_size()) +
                                                    "); at most " + std::to_string(kMaxRules));
    }
    std::map<std::string, int> name_index;
    std::map<uint32_t, int> priority_index;
    for (int i = 0; i < policy.rules_size(); ++i) {
      const policy::Rule& rule = policy.rules(i);
      const std::string rule_path = indexed(path + ".rules", i);
      const std::string rule_name = rule.name();
      if (rule_name.empty()) {
        add(rule_path + ".name", "missing name");
      } else if (!is_valid_policy_name(rule_name)) {
        add(rule_path + ".name", "name " + quoted_text(rule_name) + " may contain only a-z, 0-9, '_', '.' and '-'");
      } else if (const auto [it, inserted] = name_index.try_emplace(rule_name, i); !inserted) {
        add(rule_path + ".name", "duplicate rule name " + quoted_text(rule_name) + ", first at " +
                                     describe_location(locator_, indexed(path + ".rules", it->second)));
      }
      if (rule.priority() < kMinRulePriority || rule.priority() > kMaxRulePriority) {
        add(rule_path + ".priority", "priority " + std::to_string(rule.priority()) + " is not in " +
                                         std::to_string(kMinRulePriority) + "-" + std::to_string(kMaxRulePriority));
      } else if (const auto [it, inserted] = priority_index.try_emplace(rule.priority(), i); !inserted) {
        add(rule_path + ".priority", "priority " + std::to_string(rule.priority()) + " is also rule " +
                                         quoted_text(policy.rules(it->second).name()) + "'s (" +
                                         describe_location(locator_, indexed(path + ".rules", it->second)) +
                                         "); priorities are unique in a policy");
      }
      if (rule.action() == policy::RULE_ACTION_UNSPECIFIED) {
        add(rule_path + ".action", "missing action (ALLOW or DENY)");
      } else if (!policy::RuleAction_IsValid(rule.action())) {
        add(rule_path + ".action", "unknown action " + std::to_string(rule.action()));
      }
      if (rule.domains_size() + rule.domain_groups_size() + rule.networks_size() + rule.ip_groups_size() +
              rule.service_tags_size() ==
          0)
        add(rule_path, "rule " + quoted_text(rule_name) +
                           " names no destination (domains, domain_groups, networks, ip_groups or service_tags)");
      check_domain_list(rule.domains(), rule_path + ".domains");
      for (int g = 0; g < rule.domain_groups_size(); ++g)
        check_group_reference(rule.domain_groups(g), indexed(rule_path + ".domain_groups", g), true);
      for (int n = 0; n < rule.networks_size(); ++n) {
        Cidr cidr;
        if (CidrError error = parse_cidr(rule.networks(n), cidr); error != CidrError::none)
          add(indexed(rule_path + ".networks", n), cidr_problem(rule.networks(n), error));
      }
      for (int g = 0; g < rule.ip_groups_size(); ++g)
        check_group_reference(rule.ip_groups(g), indexed(rule_path + ".ip_groups", g), false);
      if (!policy::Protocol_IsValid(rule.protocol())) {
        add(rule_path + ".protocol", "unknown protocol " + std::to_string(rule.protocol()));
      } else if (rule.protocol() == policy::ICMP && rule.ports_size() > 0) {
        add(rule_path + ".ports", "ports do not apply to protocol ICMP");
      }
      for (int p = 0; p < rule.ports_size(); ++p) {
        if (std::string problem = port_range_problem(rule.ports(p)); !problem.empty())
          add(indexed(rule_path + ".ports", p), quoted_text(rule.ports(p)) + ": " + problem);
      }
    }
  }

  void check_policies(const PolicySet& set) {
    if (set.policies_size() == 0) add("policies", "no policies; a policy set needs at least one");
    if (set.policies_size() > kMaxPolicies) {
      add(indexed("policies", kMaxPolicies), "too many policies (" + std::to_string(set.policies_size()) +
                                                 "); at most " + std::to_string(kMaxPolicies));
    }
    std::map<std::string, int> first_index;
    for (int i = 0; i < set.policies_size(); ++i) {
      const Policy& policy = set.policies(i);
      const std::string path = indexed("policies", i);
      policy_names_.insert(policy.name());
      check_policy_name(policy.name(), path, first_index.try_emplace(policy.name(), i).first->second, i);
      check_policy(policy, path);
    }
  }

  void check_policy_name(const std::string& name, const std::string& path, int first, int index) {
    check_unique_name(name, path, "policy", "policies", first, index);
  }

  void check_policy(const Policy& policy, const std::string& path) {
    if (policy.access_mode() == policy::ACCESS_MODE_UNSPECIFIED) {
      add(path + ".access_mode", "missing access_mode (FULL or RESTRICTED)");
    } else if (!policy::AccessMode_IsValid(policy.access_mode())) {
      add(path + ".access_mode", "unknown access_mode " + std::to_string(policy.access_mode()));
    }
    check_enforcement(policy.enforcement(), path + ".enforcement", /*may_be_unset=*/false);

    if (policy.access_mode() == policy::FULL) {
      // FULL would silently ignore the lists; an operator who wrote them meant something else.
      if (policy.allowed_domains_size() > 0) add(path + ".allowed_domains", full_with_list("allowed_domains"));
      if (policy.allowed_networks_size() > 0) add(path + ".allowed_networks", full_with_list("allowed_networks"));
      if (policy.allowed_proxies_size() > 0) add(path + ".allowed_proxies", full_with_list("allowed_proxies"));
      if (policy.resolvable_names_size() > 0) add(path + ".resolvable_names", full_with_list("resolvable_names"));
      if (policy.allowed_storage_size() > 0) add(path + ".allowed_storage", full_with_list("allowed_storage"));
      if (policy.allowed_domain_groups_size() > 0)
        add(path + ".allowed_domain_groups", full_with_list("allowed_domain_groups"));
      if (policy.allowed_ip_groups_size() > 0) add(path + ".allowed_ip_groups", full_with_list("allowed_ip_groups"));
      if (policy.rules_size() > 0) add(path + ".rules", full_with_list("rules"));
    }
    check_storage(policy, path);
    check_domains(policy, path);
    for (int g = 0; g < policy.allowed_domain_groups_size(); ++g)
      check_group_reference(policy.allowed_domain_groups(g), indexed(path + ".allowed_domain_groups", g), true);
    for (int g = 0; g < policy.allowed_ip_groups_size(); ++g)
      check_group_reference(policy.allowed_ip_groups(g), indexed(path + ".allowed_ip_groups", g), false);
    check_rules(policy, path);
    check_resolvable_names(policy, path);
    if (!policy::DnsDenial_IsValid(policy.dns_denial())) {
      add(path + ".dns_denial", "unknown dns_denial " + std::to_string(policy.dns_denial()));
    }
    for (int i = 0; i < policy.allowed_networks_size(); ++i) {
      check_network(policy.allowed_networks(i), indexed(path + ".allowed_networks", i));
    }
    for (int i = 0; i < policy.dns_resolvers_size(); ++i) {
      if (!parse_ip(policy.dns_resolvers(i))) {
        add(indexed(path + ".dns_resolvers", i), quoted_text(policy.dns_resolvers(i)) + " is not an IP address");
      }
    }
    for (int i = 0; i < policy.allowed_proxies_size(); ++i) {
      ProxyAddress proxy;
      std::string problem = parse_proxy_address(policy.allowed_proxies(i), proxy);
      if (!problem.empty()) add(indexed(path + ".allowed_proxies", i), quoted_text(policy.allowed_proxies(i)) + " " + problem);
    }
  }

  static std::string full_with_list(const std::string& list) {
    return "access_mode FULL allows everything; remove " + list + " or use RESTRICTED";
  }

  void check_enforcement(int value, const std::string& field, bool may_be_unset) {
    if (value == policy::ENFORCEMENT_UNSPECIFIED) {
      if (!may_be_unset) add(field, "missing enforcement (ENFORCE or DRY_RUN)");
    } else if (!policy::Enforcement_IsValid(value)) {
      add(field, "unknown enforcement " + std::to_string(value));
    }
  }

  void check_domains(const Policy& policy, const std::string& path) {
    check_domain_list(policy.allowed_domains(), path + ".allowed_domains");
  }

  // allowed_domains, a domain group's or a rule's domains: patterns, breadth, no duplicates.
  void check_domain_list(const protobuf::RepeatedPtrField<std::string>& list, const std::string& list_path) {
    // The same name with other ports is no duplicate: both rules apply (a union of ports).
    std::map<std::tuple<DomainPatternKind, std::string, std::vector<DomainPortRange>>, int> first_index;
    for (int i = 0; i < list.size(); ++i) {
      const std::string& text = list.Get(i);
      const std::string field = indexed(list_path, i);
      DomainPattern pattern;
      if (std::string problem = parse_domain_pattern(text, pattern); !problem.empty()) {
        add(field, quoted_text(text) + ": " + problem);
        continue;
      }
      if (std::string problem = breadth_problem(pattern); !problem.empty()) {
        add(field, quoted_text(text) + " " + problem);
        continue;
      }
      const auto [it, inserted] = first_index.try_emplace({pattern.kind, pattern.base, pattern.ports}, i);
      if (!inserted) {
        add(field, "duplicate domain pattern " + quoted_text(text) + ", first at " +
                       describe_location(locator_, indexed(list_path, it->second)));
      }
    }
  }

  // Same syntax and breadth rules as allowed_domains, without ports: a query goes to port 53.
  void check_resolvable_names(const Policy& policy, const std::string& path) {
    std::map<std::pair<DomainPatternKind, std::string>, int> first_index;
    for (int i = 0; i < policy.resolvable_names_size(); ++i) {
      const std::string& text = policy.resolvable_names(i);
      const std::string field = indexed(path + ".resolvable_names", i);
      DomainPattern pattern;
      if (std::string problem = parse_domain_pattern(text, pattern); !problem.empty()) {
        add(field, quoted_text(text) + ": " + problem);
        continue;
      }
      if (!pattern.ports.empty()) {
        add(field, quoted_text(text) + ": a resolvable name takes no ports");
        continue;
      }
      if (std::string problem = breadth_problem(pattern); !problem.empty()) {
        add(field, quoted_text(text) + " " + problem);
        continue;
      }
      const auto [it, inserted] = first_index.try_emplace({pattern.kind, pattern.base}, i);
      if (!inserted) {
        add(field, "duplicate resolvable name " + quoted_text(text) + ", first at " +
                       describe_location(locator_, indexed(path + ".resolvable_names", it->second)));
      }
    }
  }

  // allowed_storage: one kind an entry, names by each provider's rules, no entry twice.
  void check_storage(const Policy& policy, const std::string& path) {
    std::map<std::string, int> first_index;  // an entry's first host name → its index
    for (int i = 0; i < policy.allowed_storage_size(); ++i) {
      const policy::StorageDestination& entry = policy.allowed_storage(i);
      const std::string field = indexed(path + ".allowed_storage", i);
      const size_t errors_before = errors_.size();
      switch (entry.destination_case()) {
        case policy::StorageDestination::kAzureAccount: check_azure_account(entry, field); break;
        case policy::StorageDestination::kS3Bucket:
          name_problem(field + ".s3_bucket.name", entry.s3_bucket().name(), s3_bucket_name_problem);
          check_regions(entry.s3_bucket().regions(), field + ".s3_bucket.regions");
          break;
        case policy::StorageDestination::kS3AccessPoint: {
          const policy::S3AccessPoint& point = entry.s3_access_point();
          name_problem(field + ".s3_access_point.name", point.name(), s3_access_point_name_problem);
          name_problem(field + ".s3_access_point.account_id", point.account_id(), aws_account_id_problem);
          check_regions(point.regions(), field + ".s3_access_point.regions");
          break;
        }
        case policy::StorageDestination::kGcsBucket:
          name_problem(field + ".gcs_bucket.name", entry.gcs_bucket().name(), gcs_bucket_name_problem);
          break;
        case policy::StorageDestination::DESTINATION_NOT_SET:
          add(field, "names no storage: set one of azure_account, s3_bucket, s3_access_point, gcs_bucket");
          continue;
      }
      const bool has_path_style = entry.has_s3_bucket() || entry.has_gcs_bucket();
      if (entry.allow_path_style_endpoints() && !has_path_style) {
        add(field + ".allow_path_style_endpoints",
            "only S3 and GCS buckets have path-style endpoints; an Azure account or S3 access point has none");
      }
      if (errors_.size() != errors_before) continue;
      const StorageExpansion expansion = expand_storage_destination(entry);
      if (expansion.hosts.empty()) continue;
      if (const auto [it, inserted] = first_index.try_emplace(expansion.hosts.front(), i); !inserted) {
        add(field, "duplicate storage entry for " + quoted_text(expansion.hosts.front()) + ", first at " +
                       describe_location(locator_, indexed(path + ".allowed_storage", it->second)));
      }
    }
  }

  void check_azure_account(const policy::StorageDestination& entry, const std::string& field) {
    const policy::AzureStorageAccount& account = entry.azure_account();
    const std::string path = field + ".azure_account";
    name_problem(path + ".name", account.name(), azure_account_name_problem);
    if (account.services_size() == 0) {
      add(path + ".services", "missing services: list what the clients use (BLOB, DFS, FILE, QUEUE, TABLE, WEB)");
    }
    std::set<int> seen;
    bool web = false;
    for (int i = 0; i < account.services_size(); ++i) {
      const int service = account.services(i);
      if (service == policy::AZURE_STORAGE_SERVICE_UNSPECIFIED || !policy::AzureStorageService_IsValid(service)) {
        add(indexed(path + ".services", i), "unknown service " + std::to_string(service));
      } else if (!seen.insert(service).second) {
        add(indexed(path + ".services", i), "duplicate service " + policy::AzureStorageService_Name(service));
      }
      web = web || service == policy::WEB;
    }
    if (web) {
      name_problem(path + ".web_zone", account.web_zone(), [](std::string_view zone) {
        return zone.empty() ? std::string("missing web_zone: the WEB service's endpoint is ACCOUNT.ZONE.web.core.windows.net")
                            : azure_web_zone_problem(zone);
      });
    } else if (!account.web_zone().empty()) {
      add(path + ".web_zone", "web_zone applies only with the WEB service");
    }
  }

  template <typename Check>
  void name_problem(const std::string& field, const std::string& name, Check check) {
    if (std::string problem = check(name); !problem.empty()) {
      add(field, name.empty() || problem.starts_with("missing") ? problem : quoted_text(name) + " " + problem);
    }
  }

  void check_regions(const google::protobuf::RepeatedPtrField<std::string>& regions, const std::string& field) {
    if (regions.empty()) add(field, "missing regions: list the AWS regions (\"eu-west-1\") the clients reach it in");
    std::set<std::string> seen;
    for (int i = 0; i < regions.size(); ++i) {
      if (std::string problem = aws_region_problem(regions[i]); !problem.empty()) {
        add(indexed(field, i), quoted_text(regions[i]) + " " + problem);
      } else if (!seen.insert(regions[i]).second) {
        add(indexed(field, i), "duplicate region " + quoted_text(regions[i]));
      }
    }
  }

  std::string breadth_problem(const DomainPattern& pattern) const {
    if (pattern.kind == DomainPatternKind::exact) {
      return suffixes_.is_public_suffix(pattern.base)
                 ? "is a public suffix, which nobody owns; list the domains below it"
                 : "";
    }
    // "*.kawasaki.jp" too: libpsl counts the parent of a wildcard rule as a suffix itself.
    if (suffixes_.is_public_suffix(pattern.base)) {
      return "is over-broad: " + pattern.base + " is a public suffix";
    }
    return "";
  }

  void check_network(const NetworkRule& rule, const std::string& path) {
    if (rule.cidr().empty()) {
      add(path + ".cidr", "missing cidr");
    } else {
      Cidr cidr;
      if (CidrError error = parse_cidr(rule.cidr(), cidr); error != CidrError::none) {
        add(path + ".cidr", cidr_problem(rule.cidr(), error));
      }
    }
    if (!policy::Protocol_IsValid(rule.protocol())) {
      add(path + ".protocol", "unknown protocol " + std::to_string(rule.protocol()));
    }
    const bool has_ports = rule.protocol() == policy::TCP || rule.protocol() == policy::UDP;
    if (!has_ports && rule.ports_size() > 0) {
      add(path + ".ports", "ports apply only to protocol TCP or UDP, not " +
                               (policy::Protocol_IsValid(rule.protocol()) ? policy::Protocol_Name(rule.protocol())
                                                                         : std::to_string(rule.protocol())));
    }
    for (int i = 0; i < rule.ports_size(); ++i) {
      if (std::string problem = port_range_problem(rule.ports(i)); !problem.empty()) {
        add(indexed(path + ".ports", i), quoted_text(rule.ports(i)) + ": " + problem);
      }
    }
  }

  static std::string port_range_problem(const std::string& text) {
    const size_t dash = text.find('-');
    const std::optional<uint32_t> first = parse_port_number(std::string_view(text).substr(0, dash));
    std::optional<uint32_t> last = first;
    if (dash != std::string::npos) last = parse_port_number(std::string_view(text).substr(dash + 1));
    if (!first || !last) return "not a port or PORT-PORT range (as in \"443\" or \"8000-8100\")";
    if (*first < 1 || *first > kMaxPort || *last < 1 || *last > kMaxPort) return "ports are 1-65535";
    if (*first > *last) return "range starts above its end";
    return "";
  }

  static std::string cidr_problem(const std::string& text, CidrError error) {
    std::string problem = quoted_text(text) + ": " + describe(error);
    if (error == CidrError::host_bits_set) {
      // Clearing the host bits is almost always what the operator meant; say so.
      const size_t slash = text.find('/');
      const std::optional<IpAddress> address = parse_ip(std::string_view(text).substr(0, slash));
      unsigned length = 0;
      if (slash != std::string::npos) std::from_chars(text.data() + slash + 1, text.data() + text.size(), length);
      if (address && slash != std::string::npos) {
        Cidr network{*address, uint8_t(length)};
        const unsigned total_bits = address->family == 4 ? 32 : 128;
        for (unsigned bit = length; bit < total_bits; ++bit) {
          network.address.bytes[bit / 8] &= uint8_t(~(0x80u >> (bit % 8)));
        }
        problem += "; did you mean " + format_cidr(network) + "?";
      }
    }
    return problem;
  }

  void check_attachments(const PolicySet& set) {
    std::map<std::string, int> first_index;
    for (int i = 0; i < set.attachments_size(); ++i) {
      const policy::Attachment& attachment = set.attachments(i);
      const std::string path = indexed("attachments", i);
      if (attachment.source_cidr().empty()) {
        add(path + ".source_cidr", "missing source_cidr");
      } else {
        Cidr cidr;
        if (CidrError error = parse_cidr(attachment.source_cidr(), cidr); error != CidrError::none) {
          add(path + ".source_cidr", cidr_problem(attachment.source_cidr(), error));
        } else if (const auto [it, inserted] = first_index.try_emplace(prefix_key(cidr), i); !inserted) {
          add(path + ".source_cidr",
              "duplicate source prefix " + format_cidr(cidr) + ", first at " +
                  describe_location(locator_, indexed("attachments", it->second) + ".source_cidr"));
        }
      }
      check_policy_reference(attachment.policy(), path + ".policy");
      check_enforcement(attachment.enforcement_override(), path + ".enforcement_override", /*may_be_unset=*/true);
    }
  }

  void check_default_policy(const PolicySet& set) { check_policy_reference(set.default_policy(), "default_policy"); }

  void check_policy_reference(const std::string& name, const std::string& field) {
    if (name.empty()) {
      // The field name is the last path segment: "policy" or "default_policy".
      add(field, "missing " + field.substr(field.rfind('.') + 1));
    } else if (!policy_names_.contains(name)) {
      add(field, "unknown policy " + quoted_text(name));
    }
  }

  void check_inspection_ports(const PolicySet& set) {
    std::map<uint32_t, int> tls_index;
    for (int i = 0; i < set.tls_ports_size(); ++i) {
      const uint32_t port = set.tls_ports(i);
      if (port < 1 || port > kMaxPort) add(indexed("tls_ports", i), "port " + std::to_string(port) + " is not in 1-65535");
      tls_index.try_emplace(port, i);
    }
    for (int i = 0; i < set.http_ports_size(); ++i) {
      const uint32_t port = set.http_ports(i);
      const std::string field = indexed("http_ports", i);
      if (port < 1 || port > kMaxPort) {
        add(field, "port " + std::to_string(port) + " is not in 1-65535");
      } else if (const auto it = tls_index.find(port); it != tls_index.end()) {
        // A port is judged on SNI or on Host, never both.
        add(field, "port " + std::to_string(port) + " is also in tls_ports (" +
                       describe_location(locator_, indexed("tls_ports", it->second)) + ")");
      }
    }
    // UDP ports: a port number may be QUIC and also TLS or HTTP over TCP (443 is both by default).
    for (int i = 0; i < set.quic_ports_size(); ++i) {
      const uint32_t port = set.quic_ports(i);
      if (port < 1 || port > kMaxPort) add(indexed("quic_ports", i), "port " + std::to_string(port) + " is not in 1-65535");
    }
  }

  const std::string& file_;
  const FieldLocator& locator_;
  const PublicSuffixList& suffixes_;
  const ServiceTagCatalog* service_tags_;  // null: none loaded (tags are then checked elsewhere)
  std::set<std::string> policy_names_;
  std::set<std::string> domain_groups_, ip_groups_;            // valid, unique names
  std::set<std::string> used_domain_groups_, used_ip_groups_;  // referenced by some policy
  PolicyErrors errors_;
  PolicyErrors warnings_;
};

}  // namespace

PolicyErrors validate_policy_set(const PolicySet& set, const std::string& file, const FieldLocator& locator,
                                 const PublicSuffixList& suffixes, PolicyErrors* warnings,
                                 const ServiceTagCatalog* service_tags) {
  // Without the list no wildcard's breadth can be judged: refuse rather than pass "*.co.uk".
  if (!suffixes.loaded()) return {{suffixes.path().empty() ? public_suffix_list_path() : suffixes.path(), 0, "",
                                   suffixes.error()}};
  return PolicySetValidator(file, locator, suffixes, service_tags).run(set, warnings);
}

}  // namespace sluice

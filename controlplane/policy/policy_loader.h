// Reads and validates a policy set from a text (*.textproto, *.txtpb, *.pbtxt) or binary
// (*.pb, *.binpb) protobuf file. A policy set is accepted whole or refused whole.
#pragma once

#include <string>
#include <vector>

#include "controlplane/policy/policy_error.h"
#include "policy.pb.h"

namespace sluice {

struct LoadedPolicy {
  sluice::policy::PolicySet policy_set;
  PolicyErrors errors;    // empty when the set was accepted
  PolicyErrors warnings;  // valid but almost certainly not meant: unused groups, shadowed rules
  // The line of each numbered rule, [policy][rule] (0 when unknown: binary files), so that
  // `sluicectl explain` can point at the rule that decided.
  std::vector<std::vector<int>> rule_lines;
  bool ok() const { return errors.empty(); }
};

// "file:12: warning: policies[0].rules[1]: message": how sluicectl and sluiced print a warning.
std::string warning_text(const PolicyError& warning);

class PublicSuffixList;
class ServiceTagCatalog;

// Parses and validates; on a syntax error reports the parser's line and column. The policies'
// allowed_service_tags are checked against `service_tags` (null: no tag files, so any tag is an
// error) and, when the set is accepted, expanded into allowed_networks (service_tag_rules.h).
LoadedPolicy load_policy_file(const std::string& path, const PublicSuffixList& suffixes,
                              const ServiceTagCatalog* service_tags = nullptr);

// Same for text already in memory (`display_name` stands in for the file in errors).
LoadedPolicy load_policy_text(const std::string& text, const std::string& display_name,
                              const PublicSuffixList& suffixes, const ServiceTagCatalog* service_tags = nullptr);

}  // namespace sluice

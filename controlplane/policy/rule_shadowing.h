// Finds numbered rules (and allow-list entries) that can never decide anything because a rule
// of a lower priority number matches every flow they match: a DENY that shadows an ALLOW
// entirely, or any rule shadowed entirely. Such a policy is valid, but almost certainly not
// what its author meant, so the validator reports each as a warning naming both lines.
#pragma once

#include <string>

#include "controlplane/policy/policy_error.h"
#include "controlplane/policy/policy_validator.h"
#include "policy.pb.h"

namespace sluice {

class ServiceTagCatalog;

// `set` must have passed validation. One warning per shadowed rule or entry, at its own line,
// naming the first rule that shadows it and that rule's line. A rule's service tags stand for
// the prefixes `service_tags` lists for them; a rule with a tag it does not know (or with no
// catalog) is never called shadowed, since part of what it matches is unknown.
PolicyErrors find_shadowed_rules(const sluice::policy::PolicySet& set, const std::string& file,
                                 const FieldLocator& locator, const ServiceTagCatalog* service_tags = nullptr);

}  // namespace sluice

// A policy's allowed_service_tags: checked against the loaded tag files (a tag no file lists is
// an error at its line), then expanded into allowed_networks, so that the compiler, the judge,
// explain and DNS learning see nothing but the network rules they already know.
#pragma once

#include <string>

#include "controlplane/policy/policy_error.h"
#include "controlplane/policy/policy_validator.h"
#include "controlplane/policy/service_tag_catalog.h"
#include "policy.pb.h"

namespace sluice {

// Every problem of the set's allowed_service_tags; `catalog` may be null (no files configured:
// then any tag is an error that says so).
PolicyErrors check_service_tag_rules(const sluice::policy::PolicySet& set, const std::string& file,
                                     const FieldLocator& locator, const ServiceTagCatalog* catalog);

// Appends one allowed_networks rule per prefix of each tag (protocol and ports of the tag rule,
// description "service tag TAG"), after the policy's own rules, and clears allowed_service_tags.
// A numbered rule's service_tags become ip_groups of the rule: an ip group of the set a tag,
// named service_tag_group_name(TAG), with the tag's prefixes as members (any protocol and port:
// the rule's own narrow them), so that explain names the tag and the prefix that matched.
// `set` must have passed check_service_tag_rules against the same catalog.
void expand_service_tags(sluice::policy::PolicySet& set, const ServiceTagCatalog& catalog);

// "service tag TAG": the ip group a rule's tag becomes (no group of a policy text can be named so).
inline constexpr const char* kServiceTagGroupPrefix = "service tag ";
std::string service_tag_group_name(const std::string& tag);

}  // namespace sluice

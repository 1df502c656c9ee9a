#include "controlplane/policy/policy_loader.h"

#include <filesystem>

#include "controlplane/policy/file_text.h"
#include "controlplane/policy/policy_validator.h"
#include "controlplane/policy/record_fields.h"
#include "controlplane/policy/service_tag_rules.h"

namespace sluice {

namespace {

enum class PolicyFormat { text, binary, unknown };

PolicyFormat format_of(const std::string& path) {
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension == ".textproto" || extension == ".txtpb" || extension == ".pbtxt") return PolicyFormat::text;
  if (extension == ".pb" || extension == ".binpb") return PolicyFormat::binary;
  return PolicyFormat::unknown;
}

void note_rule_lines(LoadedPolicy& loaded, const FieldLocator& locator) {
  const auto& set = loaded.policy_set;
  loaded.rule_lines.resize(size_t(set.policies_size()));
  for (int p = 0; p < set.policies_size(); ++p)
    for (int r = 0; r < set.policies(p).rules_size(); ++r)
      loaded.rule_lines[size_t(p)].push_back(
          locator.line_of("policies[" + std::to_string(p) + "].rules[" + std::to_string(r) + "]"));
}

// The checks beyond validate_policy_set (tags need the tag files; record fields are a concern
// of the records), then the expansion of tags that the compiler reads as networks.
void check_and_expand(LoadedPolicy& result, const std::string& file, const FieldLocator& locator,
                      const PublicSuffixList& suffixes, const ServiceTagCatalog* service_tags) {
  result.errors = validate_policy_set(result.policy_set, file, locator, suffixes, &result.warnings, service_tags);
  for (PolicyErrors more : {check_service_tag_rules(result.policy_set, file, locator, service_tags),
                            check_record_fields(result.policy_set, file, locator)})
    result.errors.insert(result.errors.end(), more.begin(), more.end());
  sort_in_file_order(result.errors);
  if (result.ok() && service_tags) expand_service_tags(result.policy_set, *service_tags);
}

}  // namespace

std::string warning_text(const PolicyError& warning) {
  std::string text = warning.file;
  if (warning.line > 0) text += ":" + std::to_string(warning.line);
  text += ": warning: ";
  if (!warning.field.empty()) text += warning.field + ": ";
  return text + warning.message;
}

LoadedPolicy load_policy_text(const std::string& text, const std::string& display_name,
                              const PublicSuffixList& suffixes, const ServiceTagCatalog* service_tags) {
  LoadedPolicy result;
  FieldLocator locator;
  if (!locator.parse_text(text, display_name, result.policy_set, result.errors)) return result;
  check_and_expand(result, display_name, locator, suffixes, service_tags);
  note_rule_lines(result, locator);
  return result;
}

LoadedPolicy load_policy_file(const std::string& path, const PublicSuffixList& suffixes,
                              const ServiceTagCatalog* service_tags) {
  const PolicyFormat format = format_of(path);
  if (format == PolicyFormat::unknown) {
    LoadedPolicy result;
    result.errors.push_back({path, 0, "",
                             "unknown file extension; expected .textproto, .txtpb or .pbtxt (text) "
                             "or .pb or .binpb (binary)"});
    return result;
  }

  std::string contents;
  LoadedPolicy unread;
  if (!read_file(path, contents, unread.errors)) return unread;
  if (format == PolicyFormat::text) return load_policy_text(contents, path, suffixes, service_tags);

  LoadedPolicy result;
  if (!result.policy_set.ParseFromString(contents)) {
    result.errors.push_back({path, 0, "", "not a binary sluice.policy.PolicySet (wire format error)"});
    return result;
  }
  check_and_expand(result, path, FieldLocator(), suffixes, service_tags);
  note_rule_lines(result, FieldLocator());
  return result;
}

}  // namespace sluice

#include "controlplane/daemon/config_check.h"

#include "controlplane/policy/policy_loader.h"
#include "controlplane/policy/public_suffix_list.h"
#include "controlplane/policy/service_tag_catalog.h"

namespace sluice {

int check_config(const std::string& config_path, const ConfigOverrides& overrides, std::ostream& out,
                 std::ostream& err) {
  LoadedConfig loaded = load_config_file(config_path, overrides);
  PolicyErrors errors = loaded.errors;
  const auto& config = loaded.config;
  if (loaded.ok())
    out << "sluiced: config " << config_path << ": valid (" << config.ports_size() << " ports, "
        << config.worker_lcores_size() << " worker lcore(s), flow capacity " << config.flow_capacity() << ")\n";

  // The policy is checked even when the config has errors, so that one run lists them all; a
  // config that names none (or could not be read) has nothing more to check.
  if (!config.policy_path().empty()) {
    PublicSuffixList suffixes;
    if (suffixes.load())
      out << "sluiced: public suffix list " << suffixes.path() << ": loaded\n";
    // A list that cannot be read comes back as the policy's first error (the validator refuses
    // every policy without one), so it is not reported twice.
    ServiceTagCatalog service_tags;
    const std::vector<std::string> tag_files(config.service_tag_files().begin(), config.service_tag_files().end());
    if (service_tags.load(tag_files, errors)) {
      for (const auto& file : service_tags.summaries())
        out << "sluiced: service tags " << file.path << ": " << file.provider << " version " << file.version << ", "
            << file.tags << " tags, " << file.prefixes << " prefixes\n";
    }
    LoadedPolicy policy = load_policy_file(config.policy_path(), suffixes, &service_tags);
    if (policy.ok()) {
      const auto& set = policy.policy_set;
      out << "sluiced: policy " << config.policy_path() << ": valid (" << set.policies_size() << " policies, "
          << set.attachments_size() << " attachments, default " << set.default_policy() << ")\n";
    }
    errors.insert(errors.end(), policy.errors.begin(), policy.errors.end());
  }

  if (!errors.empty()) {
    for (const auto& error : errors) err << error.to_string() << "\n";
    err << "sluiced: " << errors.size() << " error(s); configuration refused\n";
    return 2;
  }
  out << "sluiced: configuration ok; nothing was started\n";
  return 0;
}

}  // namespace sluice

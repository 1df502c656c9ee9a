// Reads and validates the appliance config (text protobuf) and fills in defaults.
#pragma once

#include <string>

#include "config.pb.h"
#include "controlplane/policy/policy_error.h"

namespace sluice {

struct LoadedConfig {
  sluice::config::ApplianceConfig config;
  PolicyErrors errors;
  bool ok() const { return errors.empty(); }
};

LoadedConfig load_config_file(const std::string& path);
LoadedConfig load_config_text(const std::string& text, const std::string& display_name);

// Defaults for fields left at zero/empty (docs/CONFIG.md); called by the loaders.
void apply_config_defaults(sluice::config::ApplianceConfig& config);

}  // namespace sluice

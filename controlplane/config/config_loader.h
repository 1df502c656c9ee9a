// Reads and validates the appliance config (text protobuf) and fills in defaults. Values given
// on sluiced's command line replace their fields before validation, so every value meets the
// same checks wherever it came from.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config.pb.h"
#include "controlplane/policy/policy_error.h"

namespace sluice {

struct LoadedConfig {
  sluice::config::ApplianceConfig config;
  PolicyErrors errors;
  bool ok() const { return errors.empty(); }
};

// A value from the command line for one config field, e.g. {"--health-address", "[::1]:9618"}.
// An error in it reads "command line: --health-address: …" instead of FILE:LINE: field.
struct ConfigOverride {
  std::string flag;
  std::string value;
};
using ConfigOverrides = std::vector<ConfigOverride>;

// The flags that override a config field, and the field each one sets.
struct OverrideFlag {
  std::string_view flag;   // "--log-dir"
  std::string_view field;  // "log_dir"; "ports[INSIDE].device" for the inside port's device
};
std::span<const OverrideFlag> config_override_flags();

// Where a command-line value's error points instead of a file.
inline constexpr const char* kCommandLine = "command line";

LoadedConfig load_config_file(const std::string& path, const ConfigOverrides& overrides = {});
LoadedConfig load_config_text(const std::string& text, const std::string& display_name,
                              const ConfigOverrides& overrides = {});

// Defaults for fields left at zero/empty (docs/OPERATIONS.md); called by the loaders.
void apply_config_defaults(sluice::config::ApplianceConfig& config);

// The range of one numeric field, checked on the value sluiced will use (after defaults).
// docs/OPERATIONS.md and proto/config.proto state the same bounds; a unit test checks that every
// numeric field of the config has one.
struct NumericBound {
  std::string_view field;  // "inspection.fragment_slots"; a repeated field's every element
  uint64_t min;
  uint64_t max;
  bool power_of_two = false;  // rte_ring sizes
  std::string_view why = {};  // appended to a refusal
};
std::span<const NumericBound> config_numeric_bounds();

// Reassembly buffers: reassembly_slots × max(tls_max_client_hello_bytes, http_max_head_bytes)
// per worker, reserved at start.
inline constexpr uint64_t kMaxReassemblyBytes = 1ull << 30;

}  // namespace sluice

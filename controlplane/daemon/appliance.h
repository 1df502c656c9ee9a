// sluiced's main job: start EAL and the ports, compile the policy, run the worker lcores, and
// on the control thread (the main lcore) turn flow events into records, serve metrics, and
// stop on a signal or when the input went idle.
#pragma once

#include <ostream>
#include <string>

#include "config.pb.h"

namespace sluice {

// Returns the process exit code: 0 after a clean run, 2 for a refused policy or config,
// 1 when the platform failed (EAL, ports, memory).
int run_appliance(const sluice::config::ApplianceConfig& config, std::ostream& out, std::ostream& err);

// The embedded default config with ${SOURCE_ROOT} and ${OUT_DIR} filled in.
std::string embedded_default_config_text();

}  // namespace sluice

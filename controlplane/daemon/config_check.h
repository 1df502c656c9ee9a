// `sluiced --check-config CONFIG` (like `nginx -t`): the appliance config, the policy it names
// and the public suffix list are loaded and validated exactly as a start would, and nothing is
// started: no EAL, no port, no listener, no file written.
#pragma once

#include <ostream>
#include <string>

#include "controlplane/config/config_loader.h"

namespace sluice {

// Prints what was checked to `out` and returns 0, or prints every error to `err` as
// FILE:LINE: field: message (the config's and the policy's together) and returns 2.
int check_config(const std::string& config_path, const ConfigOverrides& overrides, std::ostream& out,
                 std::ostream& err);

}  // namespace sluice

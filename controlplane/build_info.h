// What this build is: the project version from meson.build and the git commit it was built from
// (`git describe --always --dirty` of the source tree at build time; "unknown" outside a git
// checkout). `sluiced --version`, `sluicectl --version` and the sluice_build_info metric say it.
#pragma once

#include <string>

namespace sluice {

const char* build_version();  // "0.1.0"
const char* build_commit();   // "85a7f62c0d1e", "85a7f62c0d1e-dirty" or "unknown"

// "PROGRAM VERSION (commit COMMIT)", the line --version prints.
std::string version_line(const std::string& program);

}  // namespace sluice

#include "controlplane/build_info.h"

#include "build_commit.h"  // generated at every build by meson's vcs_tag (controlplane/meson.build)

namespace sluice {

const char* build_version() { return SLUICE_VERSION; }
const char* build_commit() { return kBuildCommit; }

std::string version_line(const std::string& program) {
  return program + " " + build_version() + " (commit " + build_commit() + ")";
}

}  // namespace sluice

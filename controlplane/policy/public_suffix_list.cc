#include "controlplane/policy/public_suffix_list.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <libpsl.h>

namespace sluice {

std::string public_suffix_list_path() {
  const char* path = std::getenv("SLUICE_PUBLIC_SUFFIX_LIST");
  return path && *path ? path : kDefaultPublicSuffixListPath;
}

PublicSuffixList::~PublicSuffixList() { psl_free(psl_); }

bool PublicSuffixList::load(const std::string& path) {
  psl_free(psl_);
  psl_ = nullptr;
  path_ = path;
  const std::string why = "; without it over-broad wildcards such as *.co.uk cannot be refused "
                          "(Debian's package publicsuffix installs it)";
  // libpsl says only whether it loaded; the file system says why not.
  std::ifstream probe(path);
  if (!probe) {
    error_ = "cannot read the public suffix list: " + std::string(std::strerror(errno)) + why;
    return false;
  }
  psl_ = psl_load_file(path.c_str());
  if (!psl_) {
    error_ = "cannot read the public suffix list: not a list libpsl can load" + why;
    return false;
  }
  error_.clear();
  return true;
}

bool PublicSuffixList::is_public_suffix(std::string_view name) const {
  if (!psl_ || name.empty()) return false;
  return psl_is_public_suffix2(psl_, std::string(name).c_str(), PSL_TYPE_ICANN) != 0;
}

}  // namespace sluice

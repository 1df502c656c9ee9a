#include "controlplane/policy/service_tag_catalog.h"

#include <set>

#include "controlplane/policy/file_text.h"

namespace sluice {

bool ServiceTagCatalog::add_text(std::string_view text, const std::string& display_name, PolicyErrors& errors) {
  LoadedServiceTagFile file;
  file.path = display_name;
  std::string error;
  if (!parse_service_tag_file(text, file.content, error)) {
    errors.push_back({display_name, 0, "", "not a service tag file: " + error});
    return false;
  }
  files_.push_back(std::move(file));
  return true;
}

bool ServiceTagCatalog::load(const std::vector<std::string>& paths, PolicyErrors& errors) {
  files_.clear();
  const size_t errors_before = errors.size();
  for (const auto& path : paths) {
    std::string contents;
    if (!read_file(path, contents, errors)) continue;
    add_text(contents, path, errors);
  }
  if (errors.size() == errors_before) return true;
  files_.clear();
  return false;
}

std::vector<Cidr> ServiceTagCatalog::prefixes_of(std::string_view tag, bool& found) const {
  found = false;
  std::vector<Cidr> prefixes;
  std::set<std::string> seen;
  const std::string key = service_tag_key(tag);
  for (const auto& file : files_) {
    auto it = file.content.tags.find(key);
    if (it == file.content.tags.end()) continue;
    found = true;
    for (const auto& cidr : it->second)
      if (seen.insert(format_cidr(cidr)).second) prefixes.push_back(cidr);
  }
  return prefixes;
}

std::vector<ServiceTagFileSummary> ServiceTagCatalog::summaries() const {
  std::vector<ServiceTagFileSummary> out;
  for (const auto& file : files_)
    out.push_back({to_string(file.content.provider), file.path, file.content.version, file.content.tags.size(),
                   file.content.prefix_count});
  return out;
}

}  // namespace sluice

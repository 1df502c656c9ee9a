#include "cli/service_tag_files.h"

#include "controlplane/config/config_loader.h"

namespace sluice {

std::vector<std::string> split_file_list(const std::string& text) {
  std::vector<std::string> files;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) files.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return files;
}

bool load_service_tag_files(const std::string& config_path, const std::vector<std::string>& extra,
                            ServiceTagCatalog& catalog, PolicyErrors& errors) {
  std::vector<std::string> files;
  if (!config_path.empty()) {
    LoadedConfig config = load_config_file(config_path);
    if (!config.ok()) {
      errors.insert(errors.end(), config.errors.begin(), config.errors.end());
      return false;
    }
    files.assign(config.config.service_tag_files().begin(), config.config.service_tag_files().end());
  }
  files.insert(files.end(), extra.begin(), extra.end());
  return catalog.load(files, errors);
}

}  // namespace sluice

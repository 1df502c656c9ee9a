// Which service tag files an offline command (validate, compile, explain, replay, diff) reads:
// those of an appliance config (--config, its service_tag_files) and those named with
// --service-tags FILE[,FILE...], read and refused exactly as sluiced reads them.
#pragma once

#include <string>
#include <vector>

#include "controlplane/policy/policy_error.h"
#include "controlplane/policy/service_tag_catalog.h"

namespace sluice {

// "a.json,b.json" → {"a.json", "b.json"}; empty parts are dropped.
std::vector<std::string> split_file_list(const std::string& text);

// Loads the config's files (when `config_path` is set) and then `extra`. False with `errors`
// (the config's own errors, or a file that cannot be read or parsed, naming it).
bool load_service_tag_files(const std::string& config_path, const std::vector<std::string>& extra,
                            ServiceTagCatalog& catalog, PolicyErrors& errors);

}  // namespace sluice

// The service tags of the files an appliance config names (service_tag_files), read together:
// what a policy's allowed_service_tags are checked against and expanded from. Read again at
// every policy load, so a reload picks up a file the operator (or a timer) replaced.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "controlplane/policy/policy_error.h"
#include "controlplane/policy/service_tag_file.h"

namespace sluice {

struct LoadedServiceTagFile {
  std::string path;
  ServiceTagFile content;
};

// What metrics and stats show of a loaded file.
struct ServiceTagFileSummary {
  std::string provider;  // "azure" | "aws"
  std::string path;
  std::string version;   // Azure changeNumber, AWS syncToken
  uint64_t tags = 0;
  uint64_t prefixes = 0;
};

class ServiceTagCatalog {
 public:
  // Reads and parses every file; a file that cannot be read or parsed is an error naming it
  // ("ServiceTags_Public.json: not a service tag file: values[3].name: missing or not a string"). All or nothing:
  // on any error the catalog stays empty.
  bool load(const std::vector<std::string>& paths, PolicyErrors& errors);
  // The same for text already in memory (tests, fuzzing): `display_name` names it in errors.
  bool add_text(std::string_view text, const std::string& display_name, PolicyErrors& errors);

  // The prefixes of `tag` (matched case-insensitively) over every file, without repeats; empty
  // with `found` false when no file lists it.
  std::vector<Cidr> prefixes_of(std::string_view tag, bool& found) const;

  const std::vector<LoadedServiceTagFile>& files() const { return files_; }
  std::vector<ServiceTagFileSummary> summaries() const;
  bool empty() const { return files_.empty(); }

 private:
  std::vector<LoadedServiceTagFile> files_;
};

}  // namespace sluice

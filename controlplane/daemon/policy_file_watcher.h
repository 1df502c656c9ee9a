// Notices when the policy file (or a service tag file it depends on) is written or replaced (inotify on its directory, so that
// editors and `mv` of a new file are seen too) and says when to reload, after the writes settle.
// Control thread only; never blocks.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sluice {

class PolicyFileWatcher {
 public:
  ~PolicyFileWatcher();
  // Returns false with `error` when inotify is not available. `also` are more files whose change
  // reloads the policy (the config's service_tag_files).
  bool start(const std::string& policy_path, std::string& error, const std::vector<std::string>& also = {});
  // True once, when the file changed and then stayed quiet for the settle time.
  bool should_reload();

 private:
  static constexpr std::chrono::milliseconds kSettle{150};
  bool watch(const std::string& file_path, std::string& error);

  int fd_ = -1;
  std::map<int, std::set<std::string>> names_by_watch_;  // watch descriptor (a directory) → file names
  bool changed_ = false;
  std::chrono::steady_clock::time_point last_change_;
};

}  // namespace sluice

// Notices when the policy file is written or replaced (inotify on its directory, so that
// editors and `mv` of a new file are seen too) and says when to reload, after the writes settle.
// Control thread only; never blocks.
#pragma once

#include <chrono>
#include <string>

namespace sluice {

class PolicyFileWatcher {
 public:
  ~PolicyFileWatcher();
  // Returns false with `error` when inotify is not available.
  bool start(const std::string& policy_path, std::string& error);
  // True once, when the file changed and then stayed quiet for the settle time.
  bool should_reload();

 private:
  static constexpr std::chrono::milliseconds kSettle{150};
  int fd_ = -1;
  std::string file_name_;
  bool changed_ = false;
  std::chrono::steady_clock::time_point last_change_;
};

}  // namespace sluice

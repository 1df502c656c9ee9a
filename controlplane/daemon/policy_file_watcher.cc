#include "controlplane/daemon/policy_file_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sluice {

PolicyFileWatcher::~PolicyFileWatcher() {
  if (fd_ >= 0) close(fd_);
}

bool PolicyFileWatcher::start(const std::string& policy_path, std::string& error,
                              const std::vector<std::string>& also) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    error = std::string("inotify_init1: ") + strerror(errno);
    return false;
  }
  if (!watch(policy_path, error)) return false;
  for (const auto& path : also)
    if (!watch(path, error)) return false;
  return true;
}

bool PolicyFileWatcher::watch(const std::string& file_path, std::string& error) {
  std::filesystem::path path(file_path);
  std::string directory = path.has_parent_path() ? path.parent_path().string() : ".";
  // A directory watched twice gives the same descriptor: its names add up.
  int wd = inotify_add_watch(fd_, directory.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
  if (wd < 0) {
    error = "inotify_add_watch(" + directory + "): " + strerror(errno);
    return false;
  }
  names_by_watch_[wd].insert(path.filename().string());
  return true;
}

bool PolicyFileWatcher::should_reload() {
  if (fd_ < 0) return false;
  alignas(inotify_event) char buffer[4096];
  ssize_t length;
  while ((length = read(fd_, buffer, sizeof buffer)) > 0) {
    for (char* at = buffer; at < buffer + length;) {
      auto* event = reinterpret_cast<inotify_event*>(at);
      auto names = names_by_watch_.find(event->wd);
      if (event->len && names != names_by_watch_.end() && names->second.count(event->name)) {
        changed_ = true;
        last_change_ = std::chrono::steady_clock::now();
      }
      at += sizeof(inotify_event) + event->len;
    }
  }
  if (changed_ && std::chrono::steady_clock::now() - last_change_ >= kSettle) {
    changed_ = false;
    return true;
  }
  return false;
}

}  // namespace sluice

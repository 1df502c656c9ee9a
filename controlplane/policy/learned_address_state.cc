#include "controlplane/policy/learned_address_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "controlplane/policy/cidr.h"
#include "dataplane/domain/hostname.h"

namespace sluice {

namespace {

constexpr const char* kHeader = "sluice-learned-addresses 1";

bool policy_name_ok(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

template <typename Int>
bool parse_int(const std::string& text, Int& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::vector<LearnedStateEntry> learned_state_snapshot(const LearnedAddressStore& store,
                                                      const std::vector<std::string>& slot_names, uint64_t now_tsc,
                                                      uint64_t tsc_hz, int64_t now_unix) {
  std::vector<LearnedStateEntry> entries;
  if (tsc_hz == 0) return entries;
  for (const auto& input : store.entries()) {
    if (input.expires_tsc <= now_tsc || input.policy_slot >= slot_names.size()) continue;
    const int64_t remaining = int64_t((input.expires_tsc - now_tsc + tsc_hz - 1) / tsc_hz);
    entries.push_back({slot_names[input.policy_slot], input.address, input.name, now_unix + remaining});
  }
  return entries;
}

std::string format_learned_state(const std::vector<LearnedStateEntry>& entries) {
  std::string text = std::string(kHeader) + "\n";
  for (const auto& entry : entries)
    text += entry.policy + " " + format_ip(entry.address) + " " + entry.name + " " +
            std::to_string(entry.expires_unix) + "\n";
  text += "end " + std::to_string(entries.size()) + "\n";
  return text;
}

bool parse_learned_state(const std::string& text, std::vector<LearnedStateEntry>& entries, std::string& error) {
  entries.clear();
  std::istringstream in(text);
  std::string line;
  size_t number = 0;
  bool ended = false;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = "line " + std::to_string(number) + ": ";
    if (ended) {
      error = where + "text after the end line";
      return false;
    }
    if (number == 1) {
      if (line != kHeader) {
        error = where + "not a learned-address state file (expected \"" + kHeader + "\")";
        return false;
      }
      continue;
    }
    std::istringstream fields(line);
    std::string policy, address, name, expires, rest;
    fields >> policy >> address >> name >> expires >> rest;
    if (policy == "end" && expires.empty()) {
      size_t count = 0;
      if (!parse_int(address, count) || !name.empty() || count != entries.size()) {
        error = where + "end line does not match the " + std::to_string(entries.size()) + " entries read";
        return false;
      }
      ended = true;
      continue;
    }
    LearnedStateEntry entry;
    const auto ip = parse_ip(address);
    char normalized[kMaxHostnameLength];
    size_t length = 0;
    if (!rest.empty() || expires.empty() || !policy_name_ok(policy) || !ip ||
        normalize_hostname(name, normalized, length) != HostnameStatus::ok || std::string(normalized, length) != name ||
        !parse_int(expires, entry.expires_unix)) {
      error = where + "expected POLICY ADDRESS NAME EXPIRES_UNIX_SECONDS";
      return false;
    }
    entry.policy = policy;
    entry.address = *ip;
    entry.name = name;
    entries.push_back(std::move(entry));
  }
  if (number == 0) {
    error = "empty file";
    return false;
  }
  if (!ended) {
    error = "no end line after " + std::to_string(entries.size()) + " entries (torn or truncated)";
    return false;
  }
  return true;
}

bool load_learned_state(const std::string& path, const std::function<int(const std::string&)>& slot_of,
                        LearnedAddressStore& store, uint64_t now_tsc, uint64_t tsc_hz, int64_t now_unix,
                        LearnedStateLoad& result, std::string& error) {
  result = {};
  std::error_code exists_error;
  if (!std::filesystem::exists(path, exists_error) && !exists_error) return true;  // first start
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    error = path + ": cannot be read";
    return false;
  }
  std::ostringstream buffer;
  buffer << file.rdbuf();
  std::vector<LearnedStateEntry> entries;
  if (!parse_learned_state(buffer.str(), entries, error)) {
    error = path + ": " + error;
    return false;
  }
  for (const auto& entry : entries) {
    if (entry.expires_unix <= now_unix) {
      ++result.expired;
      continue;
    }
    const int slot = slot_of(entry.policy);
    if (slot < 0) {
      ++result.unknown_policy;
      continue;
    }
    store.restore(uint16_t(slot), entry.address, entry.name,
                  now_tsc + uint64_t(entry.expires_unix - now_unix) * tsc_hz);
    ++result.loaded;
  }
  return true;
}

LearnedStateWriter::LearnedStateWriter(std::string path) : path_(std::move(path)), thread_([this] { run(); }) {}

LearnedStateWriter::~LearnedStateWriter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void LearnedStateWriter::offer(std::vector<LearnedStateEntry> entries) {
  auto snapshot = std::make_unique<std::vector<LearnedStateEntry>>(std::move(entries));
  {
    std::lock_guard lock(mutex_);
    pending_.swap(snapshot);  // an older snapshot not yet written is replaced (freed below, unlocked)
  }
  wake_.notify_one();
}

std::string LearnedStateWriter::take_error() {
  std::lock_guard lock(mutex_);
  std::string error;
  error.swap(error_);
  return error;
}

uint64_t LearnedStateWriter::writes() const {
  std::lock_guard lock(mutex_);
  return writes_;
}

void LearnedStateWriter::run() {
  while (true) {
    std::unique_ptr<std::vector<LearnedStateEntry>> snapshot;
    bool stopping;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || pending_; });
      snapshot.swap(pending_);
      stopping = stop_;
    }
    if (snapshot) {
      std::string error;
      const bool ok = write(format_learned_state(*snapshot), error);
      std::lock_guard lock(mutex_);
      if (ok) ++writes_;
      else error_ = error;
    }
    if (stopping) return;
  }
}

bool LearnedStateWriter::write(const std::string& text, std::string& error) const {
  const std::string temporary = path_ + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = temporary + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = temporary + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    done += size_t(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_errno = errno;
  if (::close(fd) != 0 || !synced) {
    error = temporary + ": " + std::strerror(synced ? errno : sync_errno);
    return false;
  }
  if (::rename(temporary.c_str(), path_.c_str()) != 0) {
    error = path_ + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace sluice

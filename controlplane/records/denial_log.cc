#include "controlplane/records/denial_log.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <rte_cycles.h>

namespace sluice {

bool DenialLog::open(const DenialLogOptions& options, LatencyHistogram* latency, std::string& error) {
  options_ = options;
  std::filesystem::path json_path = std::filesystem::path(options.directory) / options.file_name;
  json_path_ = json_path.string();
  proto_path_ = json_path.replace_extension(".pb").string();
  if (latency) {
    // The TSC rate is read when a record is written, not here: the log opens before the EAL
    // (which measures the rate) starts, and a rate of 0 made every latency infinite.
    json_.on_written([latency](uint64_t stamp) {
      uint64_t now = rte_rdtsc();
      auto tsc_hz = static_cast<double>(rte_get_tsc_hz());
      latency->observe(now > stamp && tsc_hz > 0 ? double(now - stamp) / tsc_hz : 0.0);
    });
  }
  return open_files(error);
}

bool DenialLog::open_files(std::string& error) {
  std::error_code directory_error;
  std::filesystem::create_directories(options_.directory, directory_error);
  bool opened = json_.open(json_path_, RecordFraming::lines, error) &&
                (!options_.protobuf || proto_.open(proto_path_, RecordFraming::length_delimited, error));
  opened_ = std::chrono::steady_clock::now();
  if (!opened) {
    ++file_errors_;
    file_error_ = error;
    retry_open_at_ = opened_ + kRetryOpen;
  }
  if (opened) apply_file_group();
  return opened;
}

void DenialLog::apply_file_group() {
  if (options_.file_group.empty()) return;
  const group* entry = getgrnam(options_.file_group.c_str());  // control thread only
  if (!entry) {
    ++file_errors_;
    file_error_ = "denial_log.file_group: no group \"" + options_.file_group + "\" on this host";
    return;
  }
  const gid_t gid = entry->gr_gid;
  auto give = [&](const std::string& path, bool directory) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return;  // a rotated file not made yet
    mode_t mode = directory ? (info.st_mode & 07777) | S_IRGRP | S_IXGRP : 0640;
    if ((info.st_gid != gid && ::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0) ||
        ((info.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) != 0)) {
      ++file_errors_;
      file_error_ = "cannot give " + path + " to group " + options_.file_group + ": " + std::strerror(errno);
    }
  };
  give(options_.directory, true);
  for (const std::string* path : {&json_path_, &proto_path_}) {
    give(*path, false);
    for (uint32_t index = 1; index <= options_.keep_files; ++index) give(*path + "." + std::to_string(index), false);
  }
}

void DenialLog::append(const std::string& json_line, const std::string& proto, uint64_t stamp) {
  if (!json_.is_open()) {
    ++records_lost_closed_;  // the dataplane goes on; the loss is counted
    return;
  }
  json_.append(json_line, stamp);
  if (proto_.is_open()) proto_.append(proto);
}

void DenialLog::poll() {
  std::string error;
  if (!json_.is_open() && std::chrono::steady_clock::now() >= retry_open_at_) open_files(error);
  json_.reap_finished();
  proto_.reap_finished();
  rotate_if_due();  // between batches: nothing in flight, queued records go to the new file
  json_.submit_queued();
  proto_.submit_queued();
}

void DenialLog::drain() {
  json_.drain();
  proto_.drain();
}

std::string DenialLog::last_error() const {
  if (!json_.last_error().empty()) return json_.last_error();
  if (!proto_.last_error().empty()) return proto_.last_error();
  return file_error_;
}

void DenialLog::rotate_if_due() {
  if (!json_.is_open()) return;
  bool by_size = options_.max_bytes && json_.file_bytes() >= options_.max_bytes;
  bool by_age = options_.max_age_seconds && json_.file_bytes() > 0 &&
                std::chrono::steady_clock::now() - opened_ >= std::chrono::seconds(options_.max_age_seconds);
  // Between batches only: queued records simply go to the new file.
  if (!(by_size || by_age) || json_.writing() || proto_.writing()) return;
  bool rotated = rotate(json_, json_path_);
  if (proto_.is_open()) rotate(proto_, proto_path_);
  opened_ = std::chrono::steady_clock::now();  // also after a failure: retry at the next due time
  if (rotated) ++rotations_;
}

bool DenialLog::rotate(RecordFileWriter& writer, const std::string& path) {
  // Shift path.(N-1) → path.N … path → path.1; the oldest falls off the end.
  for (uint32_t index = options_.keep_files; index >= 1; --index) {
    std::string from = index == 1 ? path : path + "." + std::to_string(index - 1);
    std::string to = path + "." + std::to_string(index);
    if (std::rename(from.c_str(), to.c_str()) != 0 && index == 1) {
      ++file_errors_;
      file_error_ = "cannot rotate " + path + ": " + std::strerror(errno);
      return false;
    }
  }
  if (options_.keep_files == 0) std::remove(path.c_str());
  std::string error;
  if (!writer.reopen(path, error)) {
    ++file_errors_;
    file_error_ = error;
    return false;
  }
  apply_file_group();  // the new file; the rotated ones kept theirs through the rename
  return true;
}

}  // namespace sluice

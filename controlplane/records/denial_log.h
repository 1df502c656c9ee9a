// The denial log on disk: <dir>/denials.jsonl (and, when asked, <dir>/denials.pb with
// length-delimited sluice.denial.DenialRecord), rotated by size and age (denials.jsonl.1 is the
// newest rotated file, .N the oldest kept). Control thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "controlplane/records/latency_histogram.h"
#include "controlplane/records/record_file_writer.h"

namespace sluice {

struct DenialLogOptions {
  std::string directory;
  std::string file_name = "denials.jsonl";  // the protobuf file takes the same stem, ".pb"
  uint64_t max_bytes = 64ull << 20;  // rotate at this size; 0 = never
  uint32_t max_age_seconds = 3600;   // rotate files this old; 0 = never
  uint32_t keep_files = 10;          // rotated files kept
  bool protobuf = false;
  // "" or a group name: the files (current and rotated) get this group and mode 0640, the
  // directory the group with read and search access (for log collectors, e.g. "adm").
  std::string file_group;
};

class DenialLog {
 public:
  // `latency` (may be null) receives the packet-to-disk time of every record. Creates the
  // directory. On failure (an unwritable directory) the log stays usable: records are counted
  // as lost and poll() tries to open the files again every kRetryOpen.
  bool open(const DenialLogOptions& options, LatencyHistogram* latency, std::string& error);
  bool is_open() const { return json_.is_open(); }
  static constexpr std::chrono::seconds kRetryOpen{5};
  // `stamp`: the TSC of the verdict. `proto` is written only when protobuf is on.
  void append(const std::string& json_line, const std::string& proto, uint64_t stamp);
  // The same with the JSON line formatted by `format(std::string& out)` straight into the
  // writer's queue (RecordFileWriter::append_formatted); not called when the log is closed.
  template <typename Format>
  void append_formatted(Format&& format, const std::string& proto, uint64_t stamp) {
    if (!json_.is_open()) {
      ++records_lost_closed_;  // the dataplane goes on; the loss is counted
      return;
    }
    json_.append_formatted(format, stamp);
    if (proto_.is_open()) proto_.append(proto);
  }
  void poll();
  void drain();

  const std::string& json_path() const { return json_path_; }
  uint64_t records_written() const { return json_.records_written(); }
  uint64_t records_lost() const { return json_.records_lost() + records_lost_closed_; }
  uint64_t bytes_written() const { return json_.bytes_written(); }
  uint64_t write_errors() const { return json_.write_errors() + proto_.write_errors() + file_errors_; }
  uint64_t rotations() const { return rotations_; }
  uint64_t repaired_bytes() const { return json_.repaired_bytes() + proto_.repaired_bytes(); }
  std::string last_error() const;

 private:
  bool open_files(std::string& error);
  void rotate_if_due();
  bool rotate(RecordFileWriter& writer, const std::string& path);
  // Gives the directory and every file of the log to options_.file_group; a failure is counted
  // as a file error (the records are still written).
  void apply_file_group();

  DenialLogOptions options_;
  std::string json_path_;
  std::string proto_path_;
  RecordFileWriter json_;
  RecordFileWriter proto_;
  std::chrono::steady_clock::time_point opened_;
  uint64_t rotations_ = 0;
  uint64_t file_errors_ = 0;           // failed opens and rotations
  std::string file_error_;
  uint64_t records_lost_closed_ = 0;   // appended while no file could be opened
  std::chrono::steady_clock::time_point retry_open_at_;
};

}  // namespace sluice

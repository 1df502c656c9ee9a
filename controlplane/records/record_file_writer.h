// Appends records to a file through io_uring, in batches, from the control thread: JSON lines,
// or length-delimited protobuf. The caller never waits on disk except in drain(): records
// collect in memory while the previous batch is in flight, and each batch is one write of whole
// records. A record cut short by a crash (kill -9 during a write) is removed when the file is
// opened again, so a reader never finds a torn record once sluiced runs.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <liburing.h>

namespace sluice {

enum class RecordFraming : uint8_t {
  lines,             // record + '\n'
  length_delimited,  // varint length + record (protobuf's writeDelimitedTo)
};

class RecordFileWriter {
 public:
  RecordFileWriter() = default;
  ~RecordFileWriter();
  RecordFileWriter(const RecordFileWriter&) = delete;
  RecordFileWriter& operator=(const RecordFileWriter&) = delete;

  // Creates or appends to `path`, first cutting off a torn last record.
  bool open(const std::string& path, RecordFraming framing, std::string& error);
  // Closes the current file and continues in `path` (rotation). Only while !writing().
  bool reopen(const std::string& path, std::string& error);
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  // Queues one record. `stamp` (a TSC value, 0 = none) comes back through the written callback
  // once the record is on disk, for latency figures.
  void append(std::string_view record, uint64_t stamp = 0);
  // The same for a record that `format(std::string& out)` appends to `out`: it is built in the
  // queue itself, with no string of its own (the denial path, at the rate denials happen).
  template <typename Format>
  void append_formatted(Format&& format, uint64_t stamp = 0) {
    const size_t start = queued_.size();
    format(queued_);
    end_formatted(start, stamp);
  }
  // Reaps a finished write, then submits queued records when no write is in flight. Non-blocking.
  void poll() {
    reap_finished();
    submit_queued();
  }
  // The two halves of poll(), for a caller that acts between batches (rotation).
  void reap_finished();
  void submit_queued();
  // Writes everything queued and waits until it is on disk (fdatasync).
  void drain();
  bool writing() const { return writing_; }
  void on_written(std::function<void(uint64_t stamp)> callback) { written_ = std::move(callback); }

  uint64_t records_written() const { return records_written_; }
  uint64_t records_lost() const { return records_lost_; }  // batches given up after retries
  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t file_bytes() const { return file_bytes_; }      // size of the current file
  uint64_t write_errors() const { return write_errors_; }
  uint64_t repaired_bytes() const { return repaired_bytes_; }  // torn tail cut off at open
  const std::string& last_error() const { return last_error_; }

 private:
  bool open_file(const std::string& path, std::string& error);
  void submit();
  bool reap(bool wait);
  void finish_batch(bool written);

  // Frames the record appended at queued_[start..] and queues it.
  void end_formatted(size_t start, uint64_t stamp);

  std::string path_;
  RecordFraming framing_ = RecordFraming::lines;
  int fd_ = -1;
  io_uring ring_{};
  bool ring_ready_ = false;
  // A batch is at most this large, so that rotation and error recovery act at a fine grain.
  static constexpr size_t kMaxBatchBytes = 64 * 1024;
  // Records not yet submitted: queued_[queued_head_..]; consumed from the front in batches
  // without moving the rest (compacted once the consumed part is large), so a backlog costs
  // no quadratic copying.
  std::string queued_;
  size_t queued_head_ = 0;
  std::deque<uint64_t> queued_stamps_;
  std::deque<size_t> queued_ends_;   // end offset of each queued record in queued_
  std::string in_flight_;            // the batch the kernel is writing
  std::vector<uint64_t> in_flight_stamps_;
  std::vector<size_t> in_flight_ends_;
  uint64_t batch_start_ = 0;         // file size when the batch in flight began
  size_t in_flight_done_ = 0;        // bytes of in_flight_ already written (short writes continue)
  bool writing_ = false;
  int retries_ = 0;                  // failed attempts of the batch in flight
  std::function<void(uint64_t)> written_;
  uint64_t records_written_ = 0;
  uint64_t records_lost_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t file_bytes_ = 0;
  uint64_t write_errors_ = 0;
  uint64_t repaired_bytes_ = 0;
  std::string last_error_;
};

}  // namespace sluice

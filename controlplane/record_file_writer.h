// Appends lines to a file through io_uring, in batches, from the control thread.
// The writer never blocks the caller on disk except in drain(): lines collect in a buffer while
// the previous batch is in flight, and each batch is one write of whole lines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <liburing.h>

namespace sluice {

class JsonLinesWriter {
 public:
  JsonLinesWriter() = default;
  ~JsonLinesWriter();
  JsonLinesWriter(const JsonLinesWriter&) = delete;
  JsonLinesWriter& operator=(const JsonLinesWriter&) = delete;

  // Creates or appends to `path`.
  bool open(const std::string& path, std::string& error);
  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  // Queues one line (a newline is added).
  void append(std::string_view line);
  // Submits queued lines when no write is in flight, and reaps a finished write. Non-blocking.
  void poll();
  // Writes everything queued and waits until it is on disk (fdatasync).
  void drain();

  uint64_t lines_written() const { return lines_written_; }
  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t write_errors() const { return write_errors_; }
  const std::string& last_error() const { return last_error_; }

 private:
  void submit();
  bool reap(bool wait);

  std::string path_;
  int fd_ = -1;
  io_uring ring_{};
  bool ring_ready_ = false;
  std::string queued_;        // lines not yet submitted
  uint64_t queued_lines_ = 0;
  std::string in_flight_;     // the batch the kernel is writing
  uint64_t in_flight_lines_ = 0;
  size_t in_flight_done_ = 0; // bytes of in_flight_ already written (short writes continue)
  bool writing_ = false;
  int retries_ = 0;           // failed attempts of the batch in flight
  uint64_t lines_written_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t write_errors_ = 0;
  std::string last_error_;
};

}  // namespace sluice

#include "controlplane/json_lines_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice {

namespace {
constexpr unsigned kQueueDepth = 8;
constexpr int kMaxRetries = 3;
}  // namespace

JsonLinesWriter::~JsonLinesWriter() {
  if (fd_ >= 0) {
    drain();
    close(fd_);
  }
  if (ring_ready_) io_uring_queue_exit(&ring_);
}

bool JsonLinesWriter::open(const std::string& path, std::string& error) {
  path_ = path;
  int rc = io_uring_queue_init(kQueueDepth, &ring_, 0);
  if (rc < 0) {
    error = "io_uring_queue_init: " + std::string(strerror(-rc));
    return false;
  }
  ring_ready_ = true;
  // O_APPEND: every batch lands at the end even if another writer (a rotation tool) appended.
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    error = path + ": " + strerror(errno);
    return false;
  }
  return true;
}

void JsonLinesWriter::append(std::string_view line) {
  queued_.append(line);
  queued_.push_back('\n');
  ++queued_lines_;
}

void JsonLinesWriter::submit() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) return;  // the queue is full; try again on the next poll
  io_uring_prep_write(sqe, fd_, in_flight_.data() + in_flight_done_,
                      static_cast<unsigned>(in_flight_.size() - in_flight_done_), 0);
  io_uring_submit(&ring_);
  writing_ = true;
}

bool JsonLinesWriter::reap(bool wait) {
  io_uring_cqe* cqe = nullptr;
  int rc = wait ? io_uring_wait_cqe(&ring_, &cqe) : io_uring_peek_cqe(&ring_, &cqe);
  if (rc < 0 || !cqe) return false;
  int result = cqe->res;
  io_uring_cqe_seen(&ring_, cqe);
  writing_ = false;
  if (result < 0) {
    ++write_errors_;
    last_error_ = path_ + ": " + strerror(-result);
    if (++retries_ <= kMaxRetries) {
      submit();  // transient (EINTR, EAGAIN, a full disk freed meanwhile): try the same bytes again
    } else {
      retries_ = 0;  // give the batch up; it is counted in write_errors
      in_flight_.clear();
      in_flight_done_ = 0;
      in_flight_lines_ = 0;
    }
    return true;
  }
  retries_ = 0;
  in_flight_done_ += static_cast<size_t>(result);
  bytes_written_ += static_cast<uint64_t>(result);
  if (in_flight_done_ < in_flight_.size()) {
    submit();  // a short write: continue where it stopped
  } else {
    lines_written_ += in_flight_lines_;
    in_flight_.clear();
    in_flight_done_ = 0;
    in_flight_lines_ = 0;
  }
  return true;
}

void JsonLinesWriter::poll() {
  if (fd_ < 0) return;
  if (writing_) reap(false);
  if (!writing_ && in_flight_.empty() && !queued_.empty()) {
    in_flight_.swap(queued_);
    in_flight_lines_ = queued_lines_;
    queued_lines_ = 0;
    in_flight_done_ = 0;
    submit();
  }
}

void JsonLinesWriter::drain() {
  if (fd_ < 0) return;
  for (int guard = 0; guard < 1000 && (writing_ || !queued_.empty() || !in_flight_.empty()); ++guard) {
    poll();
    if (writing_) reap(true);
    if (!writing_ && !in_flight_.empty()) submit();
  }
  fdatasync(fd_);
}

}  // namespace sluice

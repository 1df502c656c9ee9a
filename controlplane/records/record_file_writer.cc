#include "controlplane/records/record_file_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sluice {

namespace {

constexpr unsigned kQueueDepth = 8;
constexpr int kMaxRetries = 3;

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// Repair reads through one fixed buffer, however large the file: memory stays constant.
constexpr size_t kRepairChunk = 1 << 20;

// True when [from, to) is one hole of a sparse file: it reads as zeros and holds no data.
bool is_hole(int fd, uint64_t from, uint64_t to) {
  off_t data = lseek(fd, static_cast<off_t>(from), SEEK_DATA);
  if (data < 0) return errno == ENXIO;  // no data at or after `from` (EINVAL: no hole support)
  return static_cast<uint64_t>(data) >= to;
}

// JSON lines: everything after the last newline is torn. Reads backwards from the end, a chunk
// at a time, so a huge file costs one chunk of memory and a read of its last line only. Holes
// (zeros, no newline) are skipped without reading.
uint64_t whole_lines(int fd, uint64_t size, std::string& buffer) {
  uint64_t end = size;
  while (end > 0) {
    uint64_t begin = end > kRepairChunk ? end - kRepairChunk : 0;
    if (!is_hole(fd, begin, end)) {
      size_t length = static_cast<size_t>(end - begin);
      buffer.resize(length);
      ssize_t got = pread(fd, buffer.data(), length, static_cast<off_t>(begin));
      if (got != static_cast<ssize_t>(length)) return size;  // unreadable: leave the file alone
      auto newline = buffer.rfind('\n');
      if (newline != std::string::npos) return begin + newline + 1;
    }
    end = begin;
  }
  return 0;  // no newline at all: the whole file is one torn record
}

// Length-delimited records: each record's length is known only from the one before it, so the
// scan walks forward from the start, reading the varints through a fixed window (records longer
// than the window are skipped by offset, not read). Time grows with the number of records,
// memory does not. A hole at a record boundary is a run of zero bytes, each a whole record of
// length 0 (as protobuf's parseDelimitedFrom reads it), so it is stepped over without reading.
uint64_t whole_length_delimited(int fd, uint64_t size, std::string& buffer) {
  uint64_t window_begin = 0, window_end = 0;  // file range held in buffer
  auto byte_at = [&](uint64_t offset, uint8_t& byte) {
    if (offset < window_begin || offset >= window_end) {
      size_t length = static_cast<size_t>(std::min<uint64_t>(kRepairChunk, size - offset));
      buffer.resize(length);
      ssize_t got = pread(fd, buffer.data(), length, static_cast<off_t>(offset));
      if (got <= 0) return false;
      window_begin = offset;
      window_end = offset + static_cast<uint64_t>(got);
    }
    byte = static_cast<uint8_t>(buffer[offset - window_begin]);
    return true;
  };
  uint64_t at = 0;
  while (at < size) {
    if (at >= window_end) {  // about to read past the window: maybe a hole starts here
      off_t data = lseek(fd, static_cast<off_t>(at), SEEK_DATA);
      if (data < 0 && errno == ENXIO) return size;  // zeros to the end: all whole
      if (data > 0 && static_cast<uint64_t>(data) > at) {
        at = std::min<uint64_t>(static_cast<uint64_t>(data), size);
        continue;
      }
    }
    uint64_t length = 0, cursor = at;
    int shift = 0;
    bool complete = false;
    uint8_t byte = 0;
    while (cursor < size && shift < 64 && byte_at(cursor, byte)) {
      ++cursor;
      length |= uint64_t(byte & 0x7f) << shift;
      shift += 7;
      if (!(byte & 0x80)) {
        complete = true;
        break;
      }
    }
    if (!complete || length > size - cursor) break;
    at = cursor + length;
  }
  return at;
}

// Cuts a torn last record off `fd` (left by a crash during a write); returns the bytes removed.
uint64_t repair_tail(int fd, RecordFraming framing) {
  struct stat status{};
  if (fstat(fd, &status) != 0 || status.st_size == 0) return 0;
  auto size = static_cast<uint64_t>(status.st_size);
  std::string buffer;
  uint64_t keep = framing == RecordFraming::lines ? whole_lines(fd, size, buffer)
                                                  : whole_length_delimited(fd, size, buffer);
  if (keep >= size || ftruncate(fd, static_cast<off_t>(keep)) != 0) return 0;
  return size - keep;
}

}  // namespace

RecordFileWriter::~RecordFileWriter() {
  if (fd_ >= 0) {
    drain();
    close(fd_);
  }
  if (ring_ready_) io_uring_queue_exit(&ring_);
}

bool RecordFileWriter::open(const std::string& path, RecordFraming framing, std::string& error) {
  framing_ = framing;
  if (!ring_ready_) {  // a second open() (a retry) keeps the ring
    int rc = io_uring_queue_init(kQueueDepth, &ring_, 0);
    if (rc < 0) {
      error = "io_uring_queue_init: " + std::string(strerror(-rc));
      return false;
    }
    ring_ready_ = true;
  }
  return open_file(path, error);
}

bool RecordFileWriter::open_file(const std::string& path, std::string& error) {
  // O_APPEND: every batch lands at the end, whatever else appended meanwhile.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = path + ": " + strerror(errno);
    return false;
  }
  repaired_bytes_ += repair_tail(fd, framing_);
  struct stat status{};
  file_bytes_ = fstat(fd, &status) == 0 ? static_cast<uint64_t>(status.st_size) : 0;
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  path_ = path;
  return true;
}

bool RecordFileWriter::reopen(const std::string& path, std::string& error) {
  if (writing_) {
    error = "a write is in flight";
    return false;
  }
  return open_file(path, error);
}

void RecordFileWriter::append(std::string_view record, uint64_t stamp) {
  if (framing_ == RecordFraming::length_delimited) put_varint(queued_, record.size());
  queued_.append(record);
  if (framing_ == RecordFraming::lines) queued_.push_back('\n');
  queued_stamps_.push_back(stamp);
  queued_ends_.push_back(queued_.size());
}

void RecordFileWriter::end_formatted(size_t start, uint64_t stamp) {
  if (framing_ == RecordFraming::length_delimited) {
    std::string length;
    put_varint(length, queued_.size() - start);
    queued_.insert(start, length);
  } else {
    queued_.push_back('\n');
  }
  queued_stamps_.push_back(stamp);
  queued_ends_.push_back(queued_.size());
}

void RecordFileWriter::submit() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) return;  // the queue is full; try again on the next poll
  io_uring_prep_write(sqe, fd_, in_flight_.data() + in_flight_done_,
                      static_cast<unsigned>(in_flight_.size() - in_flight_done_), 0);
  io_uring_submit(&ring_);
  writing_ = true;
}

void RecordFileWriter::finish_batch(bool written) {
  // On failure some leading records may be on disk whole; a record cut by the failed write
  // (a short write, then ENOSPC) is truncated away, so the file never ends in a torn record.
  size_t whole = in_flight_stamps_.size();
  if (!written) {
    whole = 0;
    while (whole < in_flight_ends_.size() && in_flight_ends_[whole] <= in_flight_done_) ++whole;
    uint64_t keep = batch_start_ + (whole ? in_flight_ends_[whole - 1] : 0);
    if (file_bytes_ > keep && ftruncate(fd_, static_cast<off_t>(keep)) == 0) file_bytes_ = keep;
    records_lost_ += in_flight_stamps_.size() - whole;
  }
  records_written_ += whole;
  if (written_)
    for (size_t i = 0; i < whole; ++i)
      if (in_flight_stamps_[i]) written_(in_flight_stamps_[i]);
  in_flight_.clear();
  in_flight_stamps_.clear();
  in_flight_ends_.clear();
  in_flight_done_ = 0;
  retries_ = 0;
}

bool RecordFileWriter::reap(bool wait) {
  io_uring_cqe* cqe = nullptr;
  int rc = wait ? io_uring_wait_cqe(&ring_, &cqe) : io_uring_peek_cqe(&ring_, &cqe);
  if (rc < 0 || !cqe) return false;
  int result = cqe->res;
  io_uring_cqe_seen(&ring_, cqe);
  writing_ = false;
  if (result < 0) {
    ++write_errors_;
    last_error_ = path_ + ": " + strerror(-result);
    if (++retries_ <= kMaxRetries) submit();  // transient (EINTR, EAGAIN, space freed): the same bytes again
    else finish_batch(false);                  // given up: counted in records_lost
    return true;
  }
  in_flight_done_ += static_cast<size_t>(result);
  bytes_written_ += static_cast<uint64_t>(result);
  file_bytes_ += static_cast<uint64_t>(result);
  if (in_flight_done_ < in_flight_.size()) submit();  // a short write: continue where it stopped
  else finish_batch(true);
  return true;
}

void RecordFileWriter::reap_finished() {
  if (fd_ >= 0 && writing_) reap(false);
}

void RecordFileWriter::submit_queued() {
  if (fd_ < 0 || writing_ || !in_flight_.empty() || queued_ends_.empty()) return;
  // Whole records, up to kMaxBatchBytes (at least one).
  in_flight_stamps_.clear();
  in_flight_ends_.clear();
  size_t end = queued_head_;
  do {
    end = queued_ends_.front();
    in_flight_ends_.push_back(end - queued_head_);
    in_flight_stamps_.push_back(queued_stamps_.front());
    queued_ends_.pop_front();
    queued_stamps_.pop_front();
  } while (!queued_ends_.empty() && queued_ends_.front() - queued_head_ <= kMaxBatchBytes);
  in_flight_.assign(queued_, queued_head_, end - queued_head_);
  queued_head_ = end;
  if (queued_ends_.empty()) {
    queued_.clear();
    queued_head_ = 0;
  } else if (queued_head_ > (1u << 20) && queued_head_ * 2 > queued_.size()) {
    queued_.erase(0, queued_head_);
    for (auto& queued_end : queued_ends_) queued_end -= queued_head_;
    queued_head_ = 0;
  }
  in_flight_done_ = 0;
  batch_start_ = file_bytes_;
  submit();
}

void RecordFileWriter::drain() {
  if (fd_ < 0) return;
  for (int guard = 0; guard < 100000 && (writing_ || !queued_ends_.empty() || !in_flight_.empty()); ++guard) {
    poll();
    if (writing_) reap(true);
    if (!writing_ && !in_flight_.empty()) submit();
  }
  fdatasync(fd_);
}

}  // namespace sluice

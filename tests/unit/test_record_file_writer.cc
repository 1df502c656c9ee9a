// The torn-tail repair of RecordFileWriter::open: a crash during a write leaves part of a
// record at the end; the next open cuts it, for a file of any size, in constant memory. And the
// framing of records formatted in the queue itself.
#include "controlplane/records/record_file_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace sluice {
namespace {

// The process's peak resident memory since reset_peak_rss() (VmHWM): a repair that read the
// whole file into memory would raise it by the file's size.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
uint64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

const std::string kWhole = R"({"event_time":"2026-11-22T20:00:00.000Z","access_type":"DROP","flow_id":1,"count":1})";
const std::string kTorn = R"({"event_time":"2026-11-22T20:00:00.001Z","acc)";

class RecordFileRepair : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::path(::testing::TempDir()) /
                 ("sluice_repair_" + std::to_string(getpid()) + "_" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    path_ = (directory_ / "denials.jsonl").string();
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  void write_file(const std::string& contents) { std::ofstream(path_, std::ios::binary) << contents; }
  std::string read_file() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  uint64_t file_size() const { return std::filesystem::file_size(path_); }
  // Opens the writer on path_ (repairing it), appends `record` and waits until it is on disk.
  uint64_t open_and_append(RecordFraming framing, const std::string& record) {
    RecordFileWriter writer;
    std::string error;
    EXPECT_TRUE(writer.open(path_, framing, error)) << error;
    uint64_t repaired = writer.repaired_bytes();
    writer.append(record);
    writer.drain();
    EXPECT_EQ(writer.records_written(), 1u);
    return repaired;
  }
  // The last `count` bytes of the file.
  std::string tail(size_t count) const {
    std::string bytes(count, '\0');
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(pread(fd, bytes.data(), count, static_cast<off_t>(file_size() - count)), static_cast<ssize_t>(count));
    close(fd);
    return bytes;
  }

  std::filesystem::path directory_;
  std::string path_;
};

TEST_F(RecordFileRepair, TornLastLineIsCutAndTheNextRecordStartsOnItsOwnLine) {
  write_file(kWhole + "\n" + kTorn);
  EXPECT_EQ(open_and_append(RecordFraming::lines, kWhole), kTorn.size());
  EXPECT_EQ(read_file(), kWhole + "\n" + kWhole + "\n");
}

TEST_F(RecordFileRepair, ALogWithoutAnyNewlineIsOneTornRecord) {
  write_file(kTorn);
  EXPECT_EQ(open_and_append(RecordFraming::lines, kWhole), kTorn.size());
  EXPECT_EQ(read_file(), kWhole + "\n");
}

TEST_F(RecordFileRepair, AnEmptyLogStaysAsItIs) {
  write_file("");
  EXPECT_EQ(open_and_append(RecordFraming::lines, kWhole), 0u);
  EXPECT_EQ(read_file(), kWhole + "\n");
}

TEST_F(RecordFileRepair, ALogEndingCleanlyIsNotTouched) {
  write_file(kWhole + "\n" + kWhole + "\n");
  EXPECT_EQ(open_and_append(RecordFraming::lines, kWhole), 0u);
  EXPECT_EQ(read_file(), kWhole + "\n" + kWhole + "\n" + kWhole + "\n");
}

TEST_F(RecordFileRepair, ATornLineLongerThanTheReadChunkIsCutWhole) {
  const std::string long_torn(3 << 20, 'x');  // 3 MiB without a newline: several chunks back
  write_file(kWhole + "\n" + long_torn);
  EXPECT_EQ(open_and_append(RecordFraming::lines, kWhole), long_torn.size());
  EXPECT_EQ(read_file(), kWhole + "\n" + kWhole + "\n");
}

// The measured fault: a 2.1 GiB log took 12 s and 2.16 GB to open, and its torn tail was not
// cut (a single pread stops short of 2 GiB), so the next record was glued to it. 3 GiB here,
// sparse so that the test needs no disk: a record at the start, a hole, a whole record and a
// torn one at the end.
TEST_F(RecordFileRepair, AThreeGibLogIsRepairedFromItsTailInConstantMemory) {
  constexpr uint64_t kSize = 3ull << 30;
  int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  ASSERT_GE(fd, 0);
  const std::string first = kWhole + "\n";
  const std::string end = kWhole + "\n" + kTorn;
  ASSERT_EQ(pwrite(fd, first.data(), first.size(), 0), static_cast<ssize_t>(first.size()));
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(kSize - end.size())), 0);
  ASSERT_EQ(pwrite(fd, end.data(), end.size(), static_cast<off_t>(kSize - end.size())), static_cast<ssize_t>(end.size()));
  close(fd);
  ASSERT_EQ(file_size(), kSize);

  reset_peak_rss();
  const uint64_t peak_before = peak_rss_bytes();
  auto started = std::chrono::steady_clock::now();
  RecordFileWriter writer;
  std::string error;
  ASSERT_TRUE(writer.open(path_, RecordFraming::lines, error)) << error;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const uint64_t peak_after = peak_rss_bytes();
  EXPECT_EQ(writer.repaired_bytes(), kTorn.size());
  EXPECT_EQ(writer.file_bytes(), kSize - kTorn.size());
  // Generous: the fault took 12 s; reading the last chunk takes milliseconds.
  EXPECT_LT(seconds, 1.0) << "opening a 3 GiB log took " << seconds << " s";
  EXPECT_LT(peak_after - peak_before, 16u << 20) << "peak memory grew while opening";

  writer.append(kWhole);
  writer.drain();
  EXPECT_EQ(file_size(), kSize - kTorn.size() + kWhole.size() + 1);
  EXPECT_EQ(tail(2 * (kWhole.size() + 1)), kWhole + "\n" + kWhole + "\n");  // not glued to the torn bytes
}

// Length-delimited protobuf: a varint length, then the record. A cut inside the length or the
// record is removed; whole records (also empty ones, and records longer than a read) stay.
std::string delimited(const std::string& record) {
  std::string out;
  uint64_t value = record.size();
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out + record;
}

TEST_F(RecordFileRepair, LengthDelimitedTornRecordIsCut) {
  const std::string big(2 << 20, 'p');  // longer than the read window: skipped by its length
  const std::string whole = delimited("abc") + delimited("") + delimited(big) + delimited("xyz");
  const std::string torn_record = delimited("0123456789").substr(0, 6);  // length and part of it
  write_file(whole + torn_record);
  EXPECT_EQ(open_and_append(RecordFraming::length_delimited, "next"), torn_record.size());
  EXPECT_EQ(read_file(), whole + delimited("next"));

  const std::string torn_length = "\xff\xff";  // a varint cut before its last byte
  write_file(whole + torn_length);
  EXPECT_EQ(open_and_append(RecordFraming::length_delimited, "next"), torn_length.size());
  EXPECT_EQ(read_file(), whole + delimited("next"));

  write_file(whole);
  EXPECT_EQ(open_and_append(RecordFraming::length_delimited, "next"), 0u);
  EXPECT_EQ(read_file(), whole + delimited("next"));
}

// A hole in a protobuf file reads as zero bytes, each a whole empty record: the scan steps over
// it without reading, so a huge sparse file is quick, and a torn record after it is still cut.
TEST_F(RecordFileRepair, LengthDelimitedSparseLogIsRepairedInConstantMemory) {
  constexpr uint64_t kSize = 3ull << 30;
  int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  ASSERT_GE(fd, 0);
  const std::string first = delimited("first");
  const std::string end = delimited("last") + delimited("0123456789").substr(0, 4);
  ASSERT_EQ(pwrite(fd, first.data(), first.size(), 0), static_cast<ssize_t>(first.size()));
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(kSize - end.size())), 0);
  ASSERT_EQ(pwrite(fd, end.data(), end.size(), static_cast<off_t>(kSize - end.size())), static_cast<ssize_t>(end.size()));
  close(fd);
  reset_peak_rss();
  const uint64_t peak_before = peak_rss_bytes();
  RecordFileWriter writer;
  std::string error;
  ASSERT_TRUE(writer.open(path_, RecordFraming::length_delimited, error)) << error;
  EXPECT_EQ(writer.repaired_bytes(), 4u);
  EXPECT_EQ(writer.file_bytes(), kSize - 4);
  EXPECT_LT(peak_rss_bytes() - peak_before, 16u << 20) << "peak memory grew while opening";
}

// A record formatted in place in the queue (the denial path) is framed exactly as one handed
// over as a string, between others, in both framings.
TEST_F(RecordFileRepair, ARecordFormattedInTheQueueIsFramedLikeOneAppended) {
  const std::string long_record(300, 'x');  // a two-byte length varint
  for (RecordFraming framing : {RecordFraming::lines, RecordFraming::length_delimited}) {
    std::filesystem::remove(path_);
    RecordFileWriter writer;
    std::string error;
    ASSERT_TRUE(writer.open(path_, framing, error)) << error;
    writer.append(kWhole);
    writer.append_formatted([&](std::string& out) { out.append(long_record); });
    writer.append_formatted([](std::string& out) { out.append(kWhole); });
    writer.drain();
    const std::string formatted = read_file();
    EXPECT_EQ(writer.records_written(), 3u);

    std::filesystem::remove(path_);
    RecordFileWriter reference;
    ASSERT_TRUE(reference.open(path_, framing, error)) << error;
    reference.append(kWhole);
    reference.append(long_record);
    reference.append(kWhole);
    reference.drain();
    EXPECT_EQ(formatted, read_file());
  }
  EXPECT_EQ(read_file().substr(0, 1), std::string(1, static_cast<char>(kWhole.size())));  // the varint first
}

}  // namespace
}  // namespace sluice

// The learned-address state file: what sluiced writes (off the control thread) and reads at
// start, with the remaining TTL counted by the wall clock; a torn or corrupt file is an error and
// an empty table, never a crash.
#include "controlplane/policy/learned_address_state.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "controlplane/policy/cidr.h"

namespace sluice {
namespace {

constexpr uint64_t kHz = 1'000'000;  // a TSC of 1 MHz keeps the arithmetic readable
constexpr int64_t kNow = 1'800'000'000;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("sluice_state_" + std::to_string(::getpid()) + "_" + name)).string();
}

int slot_of(const std::string& name) { return name == "prod" ? 0 : name == "baseline" ? 2 : -1; }

LearnedAddressEvent event(const char* address, uint16_t slot, const std::string& name, uint64_t expires_tsc) {
  LearnedAddressEvent e;
  e.address = *parse_ip(address);
  e.policy_slot = slot;
  e.expires_tsc = expires_tsc;
  e.name_length = uint8_t(name.size());
  std::memcpy(e.name, name.data(), name.size());
  return e;
}

TEST(LearnedAddressState, RoundTripKeepsTheRemainingTimeByTheWallClock) {
  LearnedAddressStore before(16);
  before.add(event("198.19.10.1", 0, "pypi.org", 100 * kHz));       // 90 s left at tsc 10 s
  before.add(event("2001:db8::443", 2, "github.com", 3610 * kHz));  // an hour left
  before.add(event("198.19.10.9", 0, "gone.example", 5 * kHz));     // already expired
  auto entries = learned_state_snapshot(before, {"prod", "_", "baseline"}, 10 * kHz, kHz, kNow);
  ASSERT_EQ(entries.size(), 2u);
  const std::string text = format_learned_state(entries);
  EXPECT_NE(text.find("prod 198.19.10.1 pypi.org " + std::to_string(kNow + 90)), std::string::npos) << text;

  const std::string path = temp_path("roundtrip");
  std::ofstream(path) << text;
  // Restarted 30 s later with a TSC that began again at 1 s.
  LearnedAddressStore after(16);
  LearnedStateLoad loaded;
  std::string error;
  ASSERT_TRUE(load_learned_state(path, slot_of, after, 1 * kHz, kHz, kNow + 30, loaded, error)) << error;
  EXPECT_EQ(loaded.loaded, 2u);
  auto restored = after.entries();
  ASSERT_EQ(restored.size(), 2u);
  for (const auto& entry : restored) {
    if (entry.name == "pypi.org") EXPECT_EQ(entry.expires_tsc, (1 + 60) * kHz);
    else EXPECT_EQ(entry.expires_tsc, (1 + 3600 - 30) * kHz);
  }
  std::filesystem::remove(path);
}

TEST(LearnedAddressState, ExpiredAndUnknownPolicyEntriesAreDroppedAndCounted) {
  const std::string path = temp_path("expired");
  std::ofstream(path) << "sluice-learned-addresses 1\nprod 198.19.10.1 pypi.org " << kNow - 1 << "\n"
                      << "gone 198.19.10.2 pypi.org " << kNow + 100 << "\nend 2\n";
  LearnedAddressStore store(16);
  LearnedStateLoad loaded;
  std::string error;
  ASSERT_TRUE(load_learned_state(path, slot_of, store, kHz, kHz, kNow, loaded, error)) << error;
  EXPECT_EQ(loaded.loaded, 0u);
  EXPECT_EQ(loaded.expired, 1u);
  EXPECT_EQ(loaded.unknown_policy, 1u);
  std::filesystem::remove(path);
}

TEST(LearnedAddressState, MissingFileIsAFirstStart) {
  LearnedAddressStore store(16);
  LearnedStateLoad loaded;
  std::string error;
  EXPECT_TRUE(load_learned_state(temp_path("never_written"), slot_of, store, kHz, kHz, kNow, loaded, error));
  EXPECT_TRUE(error.empty());
  EXPECT_TRUE(store.entries().empty());
}

TEST(LearnedAddressState, TornOrCorruptFilesAreRefusedWholeWithTheirLine) {
  const std::string whole = "sluice-learned-addresses 1\nprod 198.19.10.1 pypi.org 1900000000\nend 1\n";
  const struct {
    std::string text;
    std::string says;
  } bad[] = {
      {whole.substr(0, whole.size() - 6), "no end line"},            // torn before its end line
      {whole.substr(0, 30), "line 2"},                                // torn inside an entry
      {"", "empty"},
      {"something else\n", "line 1"},
      {"sluice-learned-addresses 1\nprod 198.19.10.1 pypi.org 1900000000\nend 2\n", "line 3"},
      {"sluice-learned-addresses 1\nprod not-an-address pypi.org 1900000000\nend 1\n", "line 2"},
      {"sluice-learned-addresses 1\nprod 198.19.10.1 PyPI.org 1900000000\nend 1\n", "line 2"},
      {"sluice-learned-addresses 1\nprod 198.19.10.1 pypi.org soon\nend 1\n", "line 2"},
      {"sluice-learned-addresses 1\nprod 198.19.10.1 pypi.org 1900000000 extra\nend 1\n", "line 2"},
      {whole + "prod 198.19.10.2 pypi.org 1900000000\n", "after the end"},
      {"sluice-learned-addresses 1\n\x01\xff garbage\n", "line 2"},
  };
  for (const auto& [text, says] : bad) {
    const std::string path = temp_path("bad");
    std::ofstream(path, std::ios::binary) << text;
    LearnedAddressStore store(16);
    LearnedStateLoad loaded;
    std::string error;
    EXPECT_FALSE(load_learned_state(path, slot_of, store, kHz, kHz, kNow, loaded, error)) << text;
    EXPECT_NE(error.find(says), std::string::npos) << error;
    EXPECT_TRUE(store.entries().empty()) << text;
    std::filesystem::remove(path);
  }
}

TEST(LearnedAddressState, WriterWritesTheLastSnapshotAtomically) {
  const std::string path = temp_path("writer");
  {
    LearnedStateWriter writer(path);
    writer.offer({{"prod", *parse_ip("198.19.10.1"), "pypi.org", kNow + 60}});
    writer.offer({{"prod", *parse_ip("198.19.10.2"), "github.com", kNow + 60}});
  }  // the destructor writes what was offered last
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<LearnedStateEntry> entries;
  std::string error;
  ASSERT_TRUE(parse_learned_state(text, entries, error)) << error;
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].name, "github.com");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  std::filesystem::remove(path);
}

TEST(LearnedAddressState, WriterReportsAnUnwritablePath) {
  LearnedStateWriter writer("/nonexistent-dir/learned.state");
  writer.offer({});
  std::string error;
  for (int i = 0; i < 200 && error.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    error = writer.take_error();
  }
  EXPECT_NE(error.find("/nonexistent-dir/learned.state.tmp"), std::string::npos) << error;
}

}  // namespace
}  // namespace sluice

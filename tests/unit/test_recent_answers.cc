// Recent DNS answers shared between workers (recent_answers.h): an answer one worker published
// is found by another at once; answers the published table holds, other policies, other
// addresses and expired answers are not; a reader racing the writer never returns a torn answer.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "dataplane/policy/recent_answers.h"

namespace sluice {
namespace {

IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.family = 4;
  address.bytes[0] = a, address.bytes[1] = b, address.bytes[2] = c, address.bytes[3] = d;
  return address;
}

RecentAnswer answer(uint64_t sequence, const IpAddress& address, const std::string& name, uint16_t slot = 3,
                    uint64_t expires = 1000) {
  RecentAnswer made;
  made.sequence = sequence;
  made.address = address;
  made.policy_slot = slot;
  made.expires_tsc = expires;
  made.name_length = uint8_t(name.size());
  std::memcpy(made.name, name.data(), name.size());
  return made;
}

std::string name_of(const RecentAnswer& found) { return {found.name, found.name_length}; }

TEST(RecentAnswers, FoundUntilPublishedExpiredOrPushedOut) {
  auto row = std::make_unique<RecentAnswerRow>();
  RecentAnswer found;
  EXPECT_FALSE(row->find(0, 3, v4(198, 19, 0, 1), 10, found));
  row->publish(answer(1, v4(198, 19, 0, 1), "pypi.org"));
  ASSERT_TRUE(row->find(0, 3, v4(198, 19, 0, 1), 10, found));
  EXPECT_EQ(name_of(found), "pypi.org");
  EXPECT_FALSE(row->find(1, 3, v4(198, 19, 0, 1), 10, found));    // the table holds it now
  EXPECT_FALSE(row->find(0, 4, v4(198, 19, 0, 1), 10, found));    // another policy's hosts
  EXPECT_FALSE(row->find(0, 3, v4(198, 19, 0, 2), 10, found));    // another address
  EXPECT_FALSE(row->find(0, 3, v4(198, 19, 0, 1), 1000, found));  // expired
  for (uint64_t sequence = 2; sequence < 2 + RecentAnswerRow::kRecentAnswers; ++sequence)
    row->publish(answer(sequence, v4(198, 19, 1, uint8_t(sequence)), "files.pythonhosted.org"));
  EXPECT_FALSE(row->find(0, 3, v4(198, 19, 0, 1), 10, found));  // pushed out of the row
  EXPECT_TRUE(row->find(0, 3, v4(198, 19, 1, 2), 10, found));
}

// Worker A publishes an answer; worker B, told the moment it is published (the client's SYN
// follows the answer), looks it up at once and must find it; then the next answer.
TEST(RecentAnswers, AnAnswerOnOneThreadIsFoundOnAnotherAtOnce) {
  auto board = std::make_unique<RecentAnswerBoard>();
  constexpr uint64_t kAnswers = 5000;
  std::atomic<uint64_t> published{0}, looked{0};
  uint64_t found_count = 0;  // reader only until joined
  std::thread reader([&] {
    RecentAnswer found;
    for (uint64_t sequence = 1; sequence <= kAnswers; ++sequence) {
      while (published.load(std::memory_order_acquire) < sequence) std::this_thread::yield();
      const IpAddress address = v4(198, 19, uint8_t(sequence >> 8), uint8_t(sequence));
      if (board->rows[1].find(sequence - 1, 3, address, 10, found) &&
          name_of(found) == "n" + std::to_string(sequence) + ".example")
        ++found_count;
      looked.store(sequence, std::memory_order_release);
    }
  });
  for (uint64_t sequence = 1; sequence <= kAnswers; ++sequence) {
    board->rows[1].publish(answer(sequence, v4(198, 19, uint8_t(sequence >> 8), uint8_t(sequence)),
                                  "n" + std::to_string(sequence) + ".example"));
    published.store(sequence, std::memory_order_release);
    while (looked.load(std::memory_order_acquire) < sequence) std::this_thread::yield();
  }
  reader.join();
  EXPECT_EQ(found_count, kAnswers);
}

// The writer overwrites the row as fast as it can, each answer's name spelling its sequence;
// a reader that finds an answer finds one whole answer, never a mix of two.
TEST(RecentAnswers, AReaderRacingTheWriterNeverSeesATornAnswer) {
  auto board = std::make_unique<RecentAnswerBoard>();
  std::atomic<bool> done{false};
  const IpAddress address = v4(198, 19, 0, 9);
  auto name_for = [](uint64_t sequence) {
    return std::string(1 + sequence % 200, char('a' + sequence % 26)) + ".example";
  };
  std::thread writer([&] {
    for (uint64_t sequence = 1; sequence <= 300000; ++sequence)
      board->rows[0].publish(answer(sequence, address, name_for(sequence)));
    done.store(true, std::memory_order_release);
  });
  uint64_t found_count = 0, torn = 0;
  RecentAnswer found;
  while (!done.load(std::memory_order_acquire)) {
    if (!board->rows[0].find(0, 3, address, 10, found)) continue;
    ++found_count;
    if (name_of(found) != name_for(found.sequence)) ++torn;
  }
  writer.join();
  EXPECT_EQ(torn, 0u);
  EXPECT_GT(found_count, 0u);
}

}  // namespace
}  // namespace sluice

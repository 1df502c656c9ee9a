#include "dataplane/policy/learned_addresses.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sluice {
namespace {

IpAddress address(const char* text) {
  IpAddress a;
  if (inet_pton(AF_INET, text, a.bytes) == 1) {
    a.family = 4;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, text, a.bytes), 1) << text;
    a.family = 6;
  }
  return a;
}

LearnedAddressTable::Input input(const char* text, uint16_t slot, std::string name, uint64_t expires) {
  return {address(text), slot, std::move(name), expires};
}

const uint64_t kNoneConsumed[kMaxLearningWorkers] = {};

class LearnedAddressesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inputs = {
        input("198.51.100.7", 1, "api.example.com", 10'000),
        input("198.51.100.8", 1, "cdn.example.com", 20'000),
        input("2001:db8::7", 1, "api.example.com", 30'000),
        input("203.0.113.5", 2, "files.example.org", 40'000),
        input("2001:db8:1::5", 2, "files.example.org", 50'000),
        // The same address learned by two policies, under different names.
        input("192.0.2.1", 1, "shared.example.net", 60'000),
        input("192.0.2.1", 2, "alias.example.net", 70'000),
    };
    uint64_t consumed[kMaxLearningWorkers] = {};
    consumed[0] = 5;
    consumed[1] = 12;
    consumed[15] = 99;
    table = LearnedAddressTable::build(inputs, consumed);
    ASSERT_NE(table, nullptr);
  }
  std::vector<LearnedAddressTable::Input> inputs;
  std::unique_ptr<LearnedAddressTable> table;
};

TEST_F(LearnedAddressesTest, FindsEveryEntry) {
  EXPECT_EQ(table->size(), inputs.size());
  for (const auto& in : inputs) {
    const LearnedAddressTable::Entry* entry = table->find(in.policy_slot, in.address, 1'000);
    ASSERT_NE(entry, nullptr) << format_ip(in.address) << " slot " << in.policy_slot;
    EXPECT_EQ(entry->address, in.address);
    EXPECT_EQ(entry->policy_slot, in.policy_slot);
    EXPECT_EQ(entry->expires_tsc, in.expires_tsc);
    EXPECT_EQ(table->name(*entry), in.name);
  }
}

TEST_F(LearnedAddressesTest, SameAddressInTwoSlotsKeepsBothNames) {
  const auto* one = table->find(1, address("192.0.2.1"), 0);
  const auto* two = table->find(2, address("192.0.2.1"), 0);
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);
  EXPECT_NE(one, two);
  EXPECT_EQ(table->name(*one), "shared.example.net");
  EXPECT_EQ(table->name(*two), "alias.example.net");
  // Each expires on its own.
  EXPECT_EQ(table->find(1, address("192.0.2.1"), 65'000), nullptr);
  EXPECT_NE(table->find(2, address("192.0.2.1"), 65'000), nullptr);
}

TEST_F(LearnedAddressesTest, UnknownIsNotFound) {
  EXPECT_EQ(table->find(1, address("198.51.100.9"), 0), nullptr);
  EXPECT_EQ(table->find(1, address("2001:db8::8"), 0), nullptr);
  // Known address, other policy slot.
  EXPECT_EQ(table->find(2, address("198.51.100.7"), 0), nullptr);
  EXPECT_EQ(table->find(3, address("192.0.2.1"), 0), nullptr);
  EXPECT_EQ(table->find(1, address("203.0.113.5"), 0), nullptr);
  // The same bytes under the other family.
  IpAddress as_v6 = address("198.51.100.7");
  as_v6.family = 6;
  EXPECT_EQ(table->find(1, as_v6, 0), nullptr);
  EXPECT_EQ(table->find(1, IpAddress{}, 0), nullptr);
}

TEST_F(LearnedAddressesTest, ExpiredIsNotFound) {
  const IpAddress a = address("198.51.100.7");  // expires at 10'000
  EXPECT_NE(table->find(1, a, 0), nullptr);
  EXPECT_NE(table->find(1, a, 9'999), nullptr);
  EXPECT_EQ(table->find(1, a, 10'000), nullptr);
  EXPECT_EQ(table->find(1, a, 10'001), nullptr);
  EXPECT_EQ(table->find(1, a, UINT64_MAX), nullptr);
  // Others live on.
  EXPECT_NE(table->find(1, address("198.51.100.8"), 10'000), nullptr);
  EXPECT_NE(table->find(2, address("2001:db8:1::5"), 49'999), nullptr);
  EXPECT_EQ(table->find(2, address("2001:db8:1::5"), 50'000), nullptr);
}

TEST_F(LearnedAddressesTest, ConsumedPerWorker) {
  EXPECT_EQ(table->consumed(0), 5u);
  EXPECT_EQ(table->consumed(1), 12u);
  EXPECT_EQ(table->consumed(2), 0u);
  EXPECT_EQ(table->consumed(15), 99u);
  EXPECT_EQ(table->consumed(16), 0u);
  EXPECT_EQ(table->consumed(UINT16_MAX), 0u);
}

TEST(LearnedAddresses, EmptyTable) {
  auto table = LearnedAddressTable::build({}, kNoneConsumed);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->size(), 0u);
  EXPECT_EQ(table->find(0, address("192.0.2.1"), 0), nullptr);
  EXPECT_EQ(table->find(0, IpAddress{}, 0), nullptr);
  EXPECT_EQ(table->consumed(0), 0u);
}

TEST(LearnedAddresses, InputWithoutExpiryIsSkipped) {
  auto table = LearnedAddressTable::build({input("192.0.2.1", 1, "a.example", 0), input("192.0.2.2", 1, "b.example", 9)},
                                          kNoneConsumed);
  EXPECT_EQ(table->size(), 1u);
  EXPECT_EQ(table->find(1, address("192.0.2.1"), 0), nullptr);
  ASSERT_NE(table->find(1, address("192.0.2.2"), 0), nullptr);
  EXPECT_EQ(table->name(*table->find(1, address("192.0.2.2"), 0)), "b.example");
}

TEST(LearnedAddresses, LongestNameIsKept) {
  std::string name;
  while (name.size() < kMaxHostnameLength) name += "abcdefghi.";
  name.resize(kMaxHostnameLength);
  auto table = LearnedAddressTable::build({input("2001:db8::1", 7, name, 1)}, kNoneConsumed);
  const auto* entry = table->find(7, address("2001:db8::1"), 0);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(table->name(*entry), name);
}

TEST(LearnedAddresses, TenThousandEntriesAreAllFound) {
  std::vector<LearnedAddressTable::Input> inputs;
  for (uint32_t i = 0; i < 10'000; ++i) {
    LearnedAddressTable::Input in;
    in.policy_slot = uint16_t(i % 13);
    if (i % 2 == 0) {
      in.address.family = 4;
      in.address.bytes[0] = 10;
      in.address.bytes[1] = uint8_t(i >> 16);
      in.address.bytes[2] = uint8_t(i >> 8);
      in.address.bytes[3] = uint8_t(i);
    } else {
      in.address.family = 6;
      in.address.bytes[0] = 0x20;
      in.address.bytes[1] = 0x01;
      in.address.bytes[2] = 0x0d;
      in.address.bytes[3] = 0xb8;
      in.address.bytes[12] = uint8_t(i >> 24);
      in.address.bytes[13] = uint8_t(i >> 16);
      in.address.bytes[14] = uint8_t(i >> 8);
      in.address.bytes[15] = uint8_t(i);
    }
    in.name = "host" + std::to_string(i) + ".example.com";
    in.expires_tsc = 1'000'000 + i;
    inputs.push_back(in);
  }
  uint64_t consumed[kMaxLearningWorkers] = {};
  for (int w = 0; w < kMaxLearningWorkers; ++w) consumed[w] = uint64_t(w) * 1000 + 1;
  auto table = LearnedAddressTable::build(inputs, consumed);
  ASSERT_EQ(table->size(), inputs.size());
  for (const auto& in : inputs) {
    const auto* entry = table->find(in.policy_slot, in.address, 999'999);
    ASSERT_NE(entry, nullptr) << format_ip(in.address);
    ASSERT_EQ(table->name(*entry), in.name);
    ASSERT_EQ(entry->expires_tsc, in.expires_tsc);
    // The same address under another policy slot was not learned.
    ASSERT_EQ(table->find(uint16_t(in.policy_slot + 13), in.address, 0), nullptr);
  }
  // Addresses never learned.
  for (uint32_t i = 10'000; i < 11'000; ++i) {
    IpAddress a;
    a.family = 4;
    a.bytes[0] = 10;
    a.bytes[1] = uint8_t(i >> 16);
    a.bytes[2] = uint8_t(i >> 8);
    a.bytes[3] = uint8_t(i);
    ASSERT_EQ(table->find(uint16_t(i % 13), a, 0), nullptr);
  }
  // At a later time, exactly the entries that expire later survive.
  size_t alive = 0;
  for (const auto& in : inputs) alive += table->find(in.policy_slot, in.address, 1'005'000) != nullptr;
  EXPECT_EQ(alive, 10'000u - 5'001u);
  for (int w = 0; w < kMaxLearningWorkers; ++w) EXPECT_EQ(table->consumed(uint16_t(w)), uint64_t(w) * 1000 + 1);
}

}  // namespace
}  // namespace sluice

// PolicyPublisher: generations replace each other, a refused policy changes nothing, and 100
// reloads leave no generation behind (DPDK heap for the LPM tables and hashes, malloc for
// Hyperscan databases and scratch). The ASan build of the test command runs this too.
#include <gtest/gtest.h>

#include <malloc.h>

#include <filesystem>
#include <fstream>

#include <rte_malloc.h>

#include "controlplane/daemon/policy_publisher.h"
#include "tests/unit/policy_fixture.h"

namespace sluice {
namespace {

class PolicyPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("publisher-" + std::to_string(getpid()) + ".textproto");
    write(test::kTestPolicy);
    publisher_ = std::make_unique<PolicyPublisher>(path_.string(), shared_, 1, slots_, counters_);
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void write(const std::string& text) { std::ofstream(path_) << text; }

  // Reloads and lets the previous generation go, as the control loop does after draining.
  bool reload(std::string& message) {
    bool applied = publisher_->load_and_publish(message);
    publisher_->release_previous();
    return applied;
  }

  static size_t dpdk_heap_bytes() {
    rte_malloc_socket_stats stats{};
    size_t total = 0;
    for (int socket = 0; socket < RTE_MAX_NUMA_NODES; ++socket)
      if (rte_malloc_get_socket_stats(socket, &stats) == 0) total += stats.heap_allocsz_bytes;
    return total;
  }
  static size_t malloc_bytes() { return mallinfo2().uordblks; }

  std::filesystem::path path_;
  WorkerShared shared_;  // no worker runs: qsbr stays null, publication needs no grace period
  PolicySlots slots_;
  ControlCounters counters_;
  std::unique_ptr<PolicyPublisher> publisher_;
};

TEST_F(PolicyPublisherTest, EachReloadPublishesTheNextGeneration) {
  std::string message;
  ASSERT_TRUE(reload(message)) << message;
  EXPECT_EQ(shared_.policy.load()->generation, 1u);
  ASSERT_TRUE(reload(message)) << message;
  EXPECT_EQ(shared_.policy.load()->generation, 2u);
  EXPECT_EQ(counters_.policy_generation.load(), 2u);
  EXPECT_EQ(counters_.policy_reloads.load(), 1u);  // the first load is not a reload
  EXPECT_NE(message.find("generation 2"), std::string::npos);
}

TEST_F(PolicyPublisherTest, ARefusedPolicyChangesNothing) {
  std::string message;
  ASSERT_TRUE(reload(message)) << message;
  const CompiledPolicy* running = shared_.policy.load();
  write("policies { name: \"x\" access_mode: RESTRICTED enforcement: ENFORCE }\ndefault_policy: \"missing\"\n");
  EXPECT_FALSE(reload(message));
  EXPECT_NE(message.find("default_policy"), std::string::npos) << message;
  EXPECT_EQ(shared_.policy.load(), running);
  EXPECT_EQ(counters_.policy_generation.load(), 1u);
  EXPECT_EQ(counters_.policy_reload_failures.load(), 1u);
}

TEST_F(PolicyPublisherTest, AHundredReloadsLeaveNoGenerationBehind) {
  std::string message;
  ASSERT_TRUE(reload(message)) << message;
  ASSERT_TRUE(reload(message)) << message;  // warm: lazily allocated library state settles
  size_t dpdk_before = dpdk_heap_bytes();
  size_t malloc_before = malloc_bytes();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(reload(message)) << message;
  EXPECT_EQ(shared_.policy.load()->generation, 102u);
  EXPECT_EQ(dpdk_heap_bytes(), dpdk_before);  // LPM tables: one generation's worth, as before
  // Each generation holds hundreds of KiB of malloc'd state (Hyperscan databases, scratch,
  // vectors); a leak of even one would exceed this margin.
  EXPECT_LT(malloc_bytes(), malloc_before + 64 * 1024) << "before " << malloc_before;
}

}  // namespace
}  // namespace sluice

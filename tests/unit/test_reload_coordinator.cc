// ReloadCoordinator: a reload compiles off the calling (control) thread, which only publishes;
// a newer request supersedes an unfinished compile, whose result is discarded; a refused policy
// changes nothing. The policy has 5,000 domains so that its compile surely outlasts the few
// microseconds between two requests.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "controlplane/daemon/reload_coordinator.h"
#include "tests/unit/policy_fixture.h"

namespace sluice {
namespace {

// 5,000 names differing in every label (names sharing a long ending compile far slower).
std::string big_policy(const std::string& salt) {
  std::string text = test::kTestPolicy;
  std::string extra;
  std::mt19937 random(static_cast<uint32_t>(std::hash<std::string>{}(salt)));
  auto label = [&](int length) {
    std::string text;
    for (int i = 0; i < length; ++i) text += static_cast<char>('a' + random() % 26);
    return text;
  };
  for (int n = 0; n < 5000; ++n)
    extra += "  allowed_domains: \"" + label(8) + std::to_string(n) + "." + label(6) + "." + label(3) + "\"\n";
  auto at = text.find("  allowed_domains: \"pypi.org\"\n");
  text.insert(at, extra);
  return text;
}

class ReloadCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() / ("reloads-" + std::to_string(getpid()) + ".textproto");
    write(test::kTestPolicy);
    publisher_ = std::make_unique<PolicyPublisher>(path_.string(), shared_, 1, slots_, counters_);
    std::string message;
    ASSERT_TRUE(publisher_->load_and_publish(message)) << message;
    reloads_ = std::make_unique<ReloadCoordinator>(*publisher_, [this] { ++drains_; }, log_);
  }
  void TearDown() override {
    settle();
    reloads_.reset();
    std::filesystem::remove(path_);
  }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  // Polls as the control loop does until no compile runs.
  void settle() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while ((reloads_->compiling() || reloads_->abandoned()) && std::chrono::steady_clock::now() < deadline) {
      reloads_->poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_FALSE(reloads_->compiling());
  }
  ReloadCoordinator::Reply keep(std::string& into) {
    return [&into](const std::string& answer) { into = answer; };
  }

  std::filesystem::path path_;
  WorkerShared shared_;
  PolicySlots slots_;
  ControlCounters counters_;
  std::ostringstream log_;
  int drains_ = 0;
  std::unique_ptr<PolicyPublisher> publisher_;
  std::unique_ptr<ReloadCoordinator> reloads_;
};

TEST_F(ReloadCoordinatorTest, ARequestReturnsAtOnceAndPollPublishesTheCompiledPolicy) {
  write(big_policy("a"));
  std::string answer;
  reloads_->request("test", keep(answer));
  EXPECT_TRUE(reloads_->compiling());
  EXPECT_EQ(shared_.policy.load()->generation, 1u);  // nothing published behind the loop's back
  EXPECT_EQ(answer, "");
  settle();
  EXPECT_EQ(shared_.policy.load()->generation, 2u);
  EXPECT_EQ(answer.rfind("ok\ngeneration 2 (", 0), 0u) << answer;
  EXPECT_EQ(drains_, 1);  // the old generation's events were drained before it was released
  EXPECT_EQ(publisher_->generations().previous, nullptr);
  EXPECT_EQ(counters_.policy_reloads.load(), 1u);
}

TEST_F(ReloadCoordinatorTest, ANewerRequestSupersedesAnUnfinishedCompile) {
  write(big_policy("a"));
  std::string first, second;
  reloads_->request("first", keep(first));
  write(big_policy("b"));
  reloads_->request("second", keep(second));
  // Told at once, before its compile ends: its result will never be published.
  EXPECT_EQ(first.rfind("error\nsuperseded: a newer reload request (second)", 0), 0u) << first;
  EXPECT_EQ(reloads_->superseded(), 1u);
  settle();
  EXPECT_EQ(second.rfind("ok\ngeneration 2 (", 0), 0u) << second;
  // One publish: the superseded compile was discarded, and generations count up by one.
  EXPECT_EQ(shared_.policy.load()->generation, 2u);
  EXPECT_EQ(counters_.policy_reloads.load(), 1u);
  EXPECT_EQ(counters_.policy_reload_failures.load(), 0u);
  EXPECT_NE(log_.str().find("superseded compile finished; result discarded"), std::string::npos) << log_.str();
}

TEST_F(ReloadCoordinatorTest, RequestsPastTheAbandonedBoundWaitAndMerge) {
  write(big_policy("a"));
  std::string answers[4];
  for (int i = 0; i < 4; ++i) reloads_->request("r" + std::to_string(i), keep(answers[i]));
  // r0 abandoned and still compiling, r1 running; r2 and r3 wait as one request.
  EXPECT_LE(reloads_->abandoned(), ReloadCoordinator::kMaxAbandoned + 1);
  settle();
  EXPECT_EQ(answers[0].rfind("error\nsuperseded", 0), 0u) << answers[0];
  EXPECT_EQ(answers[1].rfind("error\nsuperseded", 0), 0u) << answers[1];
  EXPECT_EQ(answers[2], answers[3]);
  EXPECT_EQ(answers[3].rfind("ok\ngeneration 2 (", 0), 0u) << answers[3];
  EXPECT_EQ(shared_.policy.load()->generation, 2u);
}

TEST_F(ReloadCoordinatorTest, ARefusedPolicyChangesNothing) {
  const CompiledPolicy* running = shared_.policy.load();
  write("policies { name: \"x\" access_mode: RESTRICTED enforcement: ENFORCE }\ndefault_policy: \"missing\"\n");
  std::string answer;
  reloads_->request("test", keep(answer));
  settle();
  EXPECT_EQ(answer.rfind("error\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("default_policy"), std::string::npos) << answer;
  EXPECT_EQ(shared_.policy.load(), running);
  EXPECT_EQ(counters_.policy_reload_failures.load(), 1u);
  EXPECT_EQ(drains_, 0);
}

}  // namespace
}  // namespace sluice

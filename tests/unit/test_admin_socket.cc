// AdminSocket: one poll() never blocks, so a slow, silent or absent client delays no other;
// answers may come later than their request; clients past their deadline or past the bound are
// answered with an error and closed.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "controlplane/daemon/admin_socket.h"

namespace sluice {
namespace {

using Clock = std::chrono::steady_clock;

int connect_to(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << strerror(errno);
  return fd;
}

std::string read_all(int fd) {
  std::string text;
  char buffer[512];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(got));
  return text;
}

class AdminSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() / ("admin-" + std::to_string(getpid()) + ".sock")).string();
    std::string error;
    ASSERT_TRUE(admin_.start(path_, [this](const std::string& command, AdminSocket::Reply reply) {
      if (command == "later") later_ = std::move(reply);  // answered by the test, from the loop
      else reply("ok\n" + command);
    }, error)) << error;
    // The control loop: poll() every millisecond, as sluiced's loop does.
    loop_ = std::thread([this] {
      while (!stop_) {
        admin_.poll();
        if (answer_later_ && later_) {
          later_("ok\nlate");
          later_ = nullptr;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  void TearDown() override {
    stop_ = true;
    loop_.join();
  }
  // Seconds of one whole request/answer, and the answer.
  std::pair<double, std::string> ask(const std::string& command) {
    auto started = Clock::now();
    int fd = connect_to(path_);
    std::string line = command + "\n";
    EXPECT_EQ(write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    std::string answer = read_all(fd);
    close(fd);
    return {std::chrono::duration<double>(Clock::now() - started).count(), answer};
  }

  std::string path_;
  AdminSocket admin_;
  AdminSocket::Reply later_;
  std::atomic<bool> answer_later_{false};
  std::atomic<bool> stop_{false};
  std::thread loop_;
};

TEST_F(AdminSocketTest, AClientSendingAByteEveryNineHundredMillisecondsDelaysNoOther) {
  int slow = connect_to(path_);
  std::thread trickle([slow] {
    for (char c : std::string("stats\n")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(900));
      if (send(slow, &c, 1, MSG_NOSIGNAL) < 0) return;  // dropped at its deadline
    }
  });
  for (int i = 0; i < 20; ++i) {
    auto [seconds, answer] = ask("stats");
    EXPECT_EQ(answer, "ok\nstats\n");
    EXPECT_LT(seconds, 0.1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  trickle.join();
  EXPECT_EQ(read_all(slow), "error\nno request line within 1000 ms\n");
  close(slow);
}

TEST_F(AdminSocketTest, EightSilentClientsDelayNoOtherAndAreDroppedAtTheirDeadline) {
  std::vector<int> silent;
  for (int i = 0; i < 8; ++i) silent.push_back(connect_to(path_));
  auto [seconds, answer] = ask("stats");
  EXPECT_EQ(answer, "ok\nstats\n");
  EXPECT_LT(seconds, 0.1);
  auto started = Clock::now();
  for (int fd : silent) {
    EXPECT_EQ(read_all(fd), "error\nno request line within 1000 ms\n");
    close(fd);
  }
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - started).count(), 2.0);
}

TEST_F(AdminSocketTest, AnAnswerMayComeLaterWhileOthersAreServed) {
  int waiting = connect_to(path_);
  ASSERT_EQ(write(waiting, "later\n", 6), 6);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ask("stats").second, "ok\nstats\n");  // served while the other waits for its answer
  answer_later_ = true;
  EXPECT_EQ(read_all(waiting), "ok\nlate\n");
  close(waiting);
}

TEST_F(AdminSocketTest, ClientsPastTheBoundAreToldBusy) {
  std::vector<int> silent;
  for (size_t i = 0; i < AdminSocket::kMaxClients; ++i) silent.push_back(connect_to(path_));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto [seconds, answer] = ask("stats");
  EXPECT_EQ(answer.rfind("error\nbusy: ", 0), 0u) << answer;
  EXPECT_LT(seconds, 0.1);
  for (int fd : silent) close(fd);
}

}  // namespace
}  // namespace sluice

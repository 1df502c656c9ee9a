// The local admin socket (Unix domain, stream, mode 0600: root only) that `sluicectl reload`
// and `sluicectl stats` talk to. One request line, one answer, then the connection closes.
//
// Control thread only, and it never blocks: each client is a small state machine (reading its
// request line → waiting for its answer → writing it) advanced by poll() with non-blocking
// calls, so a slow or silent client delays nobody. A client has kRequestDeadline to send its
// line and kAnswerDeadline to take its answer, then it is dropped. At most kMaxClients are served
// at once; more are told "busy" (after their request line, up to kMaxTracked connections) or
// wait in the listen backlog. An answer may come later than the request: a reload
// answers when its compile has finished.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace sluice {

class AdminSocket {
 public:
  static constexpr std::chrono::milliseconds kRequestDeadline{1000};  // accept → request line
  static constexpr std::chrono::milliseconds kAnswerDeadline{5000};   // answer ready → all sent
  static constexpr size_t kMaxClients = 16;  // served; the rest, up to kMaxTracked, told "busy"
  static constexpr size_t kMaxTracked = 64;
  static constexpr size_t kMaxRequest = 256;

  // The answer's first line is "ok" or "error"; the rest is free text (or JSON for stats). Call
  // it once, now or later, on the control thread; after the client has gone it does nothing.
  using Reply = std::function<void(const std::string& answer)>;
  using Handler = std::function<void(const std::string& command, Reply reply)>;

  AdminSocket();
  ~AdminSocket();
  bool start(const std::string& path, Handler handler, std::string& error);
  // Accepts, reads, hands complete requests to the handler, writes answers, drops clients past
  // their deadline. Never blocks.
  void poll();
  size_t clients() const;

 private:
  enum class Stage { reading, waiting, writing };
  struct Client {
    int fd = -1;
    Stage stage = Stage::reading;
    std::string request;
    std::string answer;
    size_t sent = 0;
    bool busy = false;  // accepted past kMaxClients: answered "busy" once its line is in
    std::chrono::steady_clock::time_point deadline;  // none while waiting for the answer
  };
  using Clients = std::unordered_map<uint64_t, Client>;

  void accept_new(std::chrono::steady_clock::time_point now);
  void set_answer(uint64_t id, std::string answer);
  // False once the client is finished with (closed).
  bool advance(uint64_t id, Client& client, std::chrono::steady_clock::time_point now);

  int fd_ = -1;
  std::string path_;
  Handler handler_;
  // Shared with the Reply callbacks, which hold it weakly: a late answer after the socket is gone
  // is dropped.
  std::shared_ptr<Clients> clients_;
  uint64_t next_id_ = 1;
};

}  // namespace sluice

// The local admin socket (Unix domain, stream, mode 0600: root only) that `sluicectl reload`
// and `sluicectl stats` talk to. One request line, one answer, then the connection closes.
// Control thread only; accept and reads never block the control loop for long.
#pragma once

#include <functional>
#include <string>

namespace sluice {

class AdminSocket {
 public:
  // The answer's first line is "ok" or "error"; the rest is free text (or JSON for stats).
  using Handler = std::function<std::string(const std::string& command)>;

  ~AdminSocket();
  bool start(const std::string& path, Handler handler, std::string& error);
  // Serves the connections waiting now.
  void poll();

 private:
  int fd_ = -1;
  std::string path_;
  Handler handler_;
};

// Client side, for sluicectl: sends `command` and returns the answer; false with `error` when
// the daemon cannot be reached.
bool admin_request(const std::string& path, const std::string& command, std::string& answer, std::string& error);

}  // namespace sluice

#include "controlplane/daemon/admin_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sluice {

namespace {

constexpr int kRequestTimeoutMs = 1000;
constexpr size_t kMaxRequest = 256;

bool fill_address(const std::string& path, sockaddr_un& address, std::string& error) {
  address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    error = "admin socket path too long: " + path;
    return false;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return true;
}

}  // namespace

AdminSocket::~AdminSocket() {
  if (fd_ >= 0) {
    close(fd_);
    unlink(path_.c_str());
  }
}

bool AdminSocket::start(const std::string& path, Handler handler, std::string& error) {
  path_ = path;
  handler_ = std::move(handler);
  sockaddr_un address;
  if (!fill_address(path, address, error)) return false;
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
  unlink(path.c_str());  // a socket left by a killed daemon
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // Created 0600 from the start (umask), so there is no moment when others could connect.
  mode_t old_mask = umask(0177);
  int rc = fd_ < 0 ? -1 : bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
  umask(old_mask);
  if (rc < 0 || listen(fd_, 8) < 0) {
    error = "admin socket " + path + ": " + strerror(errno);
    return false;
  }
  return true;
}

void AdminSocket::poll() {
  if (fd_ < 0) return;
  while (true) {
    int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    std::string request;
    char buffer[kMaxRequest];
    pollfd waiting{client, POLLIN, 0};
    while (request.find('\n') == std::string::npos && request.size() < kMaxRequest &&
           ::poll(&waiting, 1, kRequestTimeoutMs) > 0) {
      ssize_t got = read(client, buffer, sizeof buffer);
      if (got <= 0) break;
      request.append(buffer, static_cast<size_t>(got));
    }
    std::string command = request.substr(0, request.find('\n'));
    std::string answer = handler_(command);
    if (answer.empty() || answer.back() != '\n') answer += '\n';
    for (size_t sent = 0; sent < answer.size();) {
      ssize_t wrote = send(client, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
      if (wrote <= 0) break;
      sent += static_cast<size_t>(wrote);
    }
    close(client);
  }
}

bool admin_request(const std::string& path, const std::string& command, std::string& answer, std::string& error) {
  sockaddr_un address;
  if (!fill_address(path, address, error)) return false;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    error = "cannot reach sluiced at " + path + ": " + strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  std::string line = command + "\n";
  if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) < 0) {
    error = "cannot send to " + path + ": " + strerror(errno);
    close(fd);
    return false;
  }
  char buffer[4096];
  ssize_t got;
  // A reload compiles before it answers: wait as long as that takes.
  while ((got = read(fd, buffer, sizeof buffer)) > 0) answer.append(buffer, static_cast<size_t>(got));
  close(fd);
  return true;
}

}  // namespace sluice

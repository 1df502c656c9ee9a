#include "controlplane/daemon/admin_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "controlplane/config/admin_socket_address.h"

namespace sluice {

AdminSocket::AdminSocket() : clients_(std::make_shared<Clients>()) {}

AdminSocket::~AdminSocket() {
  for (auto& [id, client] : *clients_) close(client.fd);
  clients_->clear();
  if (fd_ >= 0) {
    close(fd_);
    unlink(path_.c_str());
  }
}

bool AdminSocket::start(const std::string& path, Handler handler, std::string& error) {
  path_ = path;
  handler_ = std::move(handler);
  sockaddr_un address;
  if (!admin_socket_address(path, address, error)) return false;
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
  unlink(path.c_str());  // a socket left by a killed daemon
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // Created 0600 from the start (umask), so there is no moment when others could connect.
  mode_t old_mask = umask(0177);
  int rc = fd_ < 0 ? -1 : bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
  umask(old_mask);
  if (rc < 0 || listen(fd_, 64) < 0) {
    error = "admin socket " + path + ": " + strerror(errno);
    return false;
  }
  return true;
}

size_t AdminSocket::clients() const { return clients_->size(); }

void AdminSocket::accept_new(std::chrono::steady_clock::time_point now) {
  size_t served = 0;
  for (const auto& [id, client] : *clients_) served += !client.busy;
  // Past kMaxTracked, connections wait in the listen backlog until deadlines free places.
  while (clients_->size() < kMaxTracked) {
    int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    Client client;
    client.fd = fd;
    client.deadline = now + kRequestDeadline;
    // Its request is still read (closing a Unix socket with unread bytes would reset it, and the
    // client would never read the answer), then answered "busy".
    client.busy = served >= kMaxClients;
    served += !client.busy;
    clients_->emplace(next_id_++, std::move(client));
  }
}

void AdminSocket::set_answer(uint64_t id, std::string answer) {
  auto it = clients_->find(id);
  if (it == clients_->end() || it->second.stage != Stage::waiting) return;
  if (answer.empty() || answer.back() != '\n') answer += '\n';
  it->second.answer = std::move(answer);
  it->second.stage = Stage::writing;
  it->second.deadline = std::chrono::steady_clock::now() + kAnswerDeadline;
}

bool AdminSocket::advance(uint64_t id, Client& client, std::chrono::steady_clock::time_point now) {
  if (client.stage == Stage::reading) {
    char buffer[kMaxRequest];
    bool ended = false;
    while (client.request.find('\n') == std::string::npos && client.request.size() < kMaxRequest) {
      ssize_t got = read(client.fd, buffer, sizeof buffer);
      if (got > 0) {
        client.request.append(buffer, static_cast<size_t>(got));
        continue;
      }
      if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) ended = true;
      break;
    }
    bool complete = client.request.find('\n') != std::string::npos || client.request.size() >= kMaxRequest;
    if (!complete && !ended) {
      if (now < client.deadline) return true;
      client.stage = Stage::waiting;
      set_answer(id, "error\nno request line within " + std::to_string(kRequestDeadline.count()) + " ms");
      return advance(id, client, now);
    }
    std::string command = client.request.substr(0, client.request.find('\n'));
    client.stage = Stage::waiting;
    if (client.busy) {
      set_answer(id, "error\nbusy: " + std::to_string(kMaxClients) + " admin clients are being served; try again");
      return advance(id, client, now);
    }
    std::weak_ptr<Clients> clients = clients_;
    handler_(command, [this, clients, id](const std::string& answer) {
      if (clients.lock()) set_answer(id, answer);
    });
    // The handler may have answered at once; `client` is still valid (nothing was erased).
  }
  if (client.stage == Stage::waiting) return true;
  while (client.sent < client.answer.size()) {
    ssize_t wrote = send(client.fd, client.answer.data() + client.sent, client.answer.size() - client.sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
    if (wrote > 0) {
      client.sent += static_cast<size_t>(wrote);
      continue;
    }
    if (wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && now < client.deadline)
      return true;
    break;  // gone, or too slow to take its answer
  }
  close(client.fd);
  return false;
}

void AdminSocket::poll() {
  if (fd_ < 0) return;
  auto now = std::chrono::steady_clock::now();
  accept_new(now);
  for (auto it = clients_->begin(); it != clients_->end();) {
    if (advance(it->first, it->second, now)) ++it;
    else it = clients_->erase(it);
  }
}

}  // namespace sluice

#include "controlplane/daemon/health_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace sluice {

namespace {

constexpr int kPollMs = 200;  // how soon stop() is noticed
constexpr auto kRequestDeadline = std::chrono::milliseconds(1000);
constexpr size_t kMaxClients = 64;  // more wait in the listen backlog
constexpr size_t kMaxRequest = 1024;

bool parse_address(const std::string& text, sockaddr_storage& storage, socklen_t& length) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = text.substr(0, colon);
  int port = std::atoi(text.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return false;
  storage = {};
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    length = sizeof *v6;
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &v6->sin6_addr) == 1;
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  v4->sin_family = AF_INET;
  v4->sin_port = htons(static_cast<uint16_t>(port));
  length = sizeof *v4;
  return inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1;
}

std::string response(int status, const char* reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

}  // namespace

HealthServer::~HealthServer() { stop(); }

bool HealthServer::start(const std::string& address, const std::atomic<bool>& ready, const std::atomic<bool>& draining,
                         std::string& error) {
  sockaddr_storage storage;
  socklen_t length = 0;
  if (!parse_address(address, storage, length)) {
    error = "health address \"" + address + "\" is not HOST:PORT";
    return false;
  }
  fd_ = socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd_ >= 0) setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&storage), length) < 0 || listen(fd_, 64) < 0) {
    error = "health address " + address + ": " + strerror(errno);
    return false;
  }
  ready_ = &ready;
  draining_ = &draining;
  thread_ = std::thread([this] { serve(); });
  return true;
}

void HealthServer::stop() {
  stopping_ = true;
  if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);  // wakes the serving thread's poll() now
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

// One poll() over the listening socket and every client: a client is served as soon as its
// request line is in, whatever the others do; each has kRequestDeadline to send it.
void HealthServer::serve() {
  struct Client {
    int fd;
    std::string request;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<Client> clients;
  std::vector<pollfd> waiting;
  while (!stopping_) {
    waiting.assign(1, pollfd{fd_, POLLIN, 0});
    for (const auto& client : clients) waiting.push_back(pollfd{client.fd, POLLIN, 0});
    if (poll(waiting.data(), waiting.size(), kPollMs) < 0 && errno != EINTR) continue;
    auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < clients.size();) {
      auto& client = clients[i];
      bool finished = false;
      if (waiting[i + 1].revents) {
        char buffer[512];
        ssize_t got = read(client.fd, buffer, sizeof buffer);
        if (got > 0) client.request.append(buffer, static_cast<size_t>(got));
        finished = got <= 0 || client.request.find('\n') != std::string::npos || client.request.size() >= kMaxRequest;
      }
      if (finished || now >= client.deadline) {
        std::string line = client.request.substr(0, client.request.find_first_of("\r\n"));
        std::string answer;
        if (line.rfind("GET /healthz ", 0) == 0) answer = response(200, "OK", "alive\n");
        else if (line.rfind("GET /readyz ", 0) == 0)
          answer = draining_->load()  ? response(503, "Service Unavailable", "draining\n")
                   : ready_->load()   ? response(200, "OK", "ready\n")
                                      : response(503, "Service Unavailable", "not ready\n");
        else answer = response(404, "Not Found", "try /healthz or /readyz\n");
        // A fresh connection's socket buffer takes the whole short answer; never wait for it.
        send(client.fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        close(client.fd);
        client = clients.back();
        clients.pop_back();
        waiting[i + 1] = waiting[clients.size() + 1];
        continue;
      }
      ++i;
    }
    if (waiting[0].revents & POLLIN) {
      while (clients.size() < kMaxClients) {
        int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        clients.push_back(Client{fd, {}, now + kRequestDeadline});
      }
    }
  }
  for (const auto& client : clients) close(client.fd);
}

}  // namespace sluice

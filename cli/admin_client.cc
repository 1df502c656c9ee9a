#include "cli/admin_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "controlplane/config/admin_socket_address.h"

namespace sluice {

bool admin_request(const std::string& path, const std::string& command, std::string& answer, std::string& error) {
  sockaddr_un address;
  if (!admin_socket_address(path, address, error)) return false;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    error = "cannot reach sluiced at " + path + ": " + strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  std::string line = command + "\n";
  // A daemon serving too many clients answers "busy" and closes before reading: the send may
  // fail while the answer is there to read.
  int send_errno = send(fd, line.data(), line.size(), MSG_NOSIGNAL) < 0 ? errno : 0;
  char buffer[4096];
  ssize_t got;
  // A reload compiles before it answers: wait as long as that takes.
  while ((got = read(fd, buffer, sizeof buffer)) > 0) answer.append(buffer, static_cast<size_t>(got));
  close(fd);
  if (send_errno && answer.empty()) {
    error = "cannot send to " + path + ": " + strerror(send_errno);
    return false;
  }
  return true;
}

}  // namespace sluice

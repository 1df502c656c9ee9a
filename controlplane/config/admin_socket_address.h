// The admin socket's address, shared by its server (sluiced) and its client (sluicectl), which
// live in libraries that must not depend on each other. The wire format is one request line,
// then an answer whose first line is "ok" or "error"; the server closes after answering.
#pragma once

#include <sys/un.h>

#include <cstring>
#include <string>

namespace sluice {

inline bool admin_socket_address(const std::string& path, sockaddr_un& address, std::string& error) {
  address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    error = "admin socket path too long: " + path;
    return false;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return true;
}

}  // namespace sluice

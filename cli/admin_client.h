// sluicectl's side of the admin socket (controlplane/daemon/admin_socket.h serves it).
#pragma once

#include <string>

namespace sluice {

// Sends `command` and returns the answer; false with `error` when the daemon cannot be reached.
bool admin_request(const std::string& path, const std::string& command, std::string& answer, std::string& error);

}  // namespace sluice

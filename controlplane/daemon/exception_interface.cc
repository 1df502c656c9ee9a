#include "controlplane/daemon/exception_interface.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace sluice {

namespace {

bool is_ipv6(const std::string& address) { return address.find(':') != std::string::npos; }

std::string joined(const CommandLine& command) {
  std::string text;
  for (const auto& word : command) text += (text.empty() ? "" : " ") + word;
  return text;
}

}  // namespace

std::vector<CommandLine> exception_interface_setup(const std::string& interface, const std::vector<std::string>& addresses) {
  const std::string table = std::to_string(kExceptionRouteTable);
  const std::string priority = std::to_string(kExceptionRulePriority);
  std::vector<CommandLine> commands = {
      {"ip", "link", "set", "dev", interface, "arp", "off", "addrgenmode", "none"},
      {"ip", "link", "set", "dev", interface, "up"},
      // net_tap brought it up before this ran: the link-local address the kernel made then goes.
      {"ip", "-6", "addr", "flush", "dev", interface, "scope", "link"},
  };
  bool v4 = false, v6 = false;
  for (const auto& address : addresses) {
    if (is_ipv6(address)) {
      commands.push_back({"ip", "-6", "addr", "replace", address + "/128", "dev", interface, "nodad"});
      v6 = true;
    } else {
      commands.push_back({"ip", "addr", "replace", address + "/32", "dev", interface});
      v4 = true;
    }
  }
  if (v4) commands.push_back({"ip", "route", "replace", "default", "dev", interface, "table", table});
  if (v6) commands.push_back({"ip", "-6", "route", "replace", "default", "dev", interface, "table", table});
  for (const auto& address : addresses)
    commands.push_back({"ip", is_ipv6(address) ? "-6" : "-4", "rule", "add", "from", address, "table", table,
                        "priority", priority});
  return commands;
}

std::vector<CommandLine> exception_rule_cleanup(const std::vector<std::string>& addresses) {
  std::vector<CommandLine> commands;
  for (const auto& address : addresses)
    commands.push_back({"ip", is_ipv6(address) ? "-6" : "-4", "rule", "del", "from", address, "table",
                        std::to_string(kExceptionRouteTable), "priority", std::to_string(kExceptionRulePriority)});
  return commands;
}

std::vector<std::string> own_addresses(const sluice::config::ApplianceConfig& config) {
  std::vector<std::string> addresses;
  for (const auto& port : config.ports())
    for (const auto& address : port.addresses()) addresses.push_back(address.substr(0, address.find('/')));
  return addresses;
}

ExceptionInterface::~ExceptionInterface() {
  std::string ignored;
  for (const auto& command : exception_rule_cleanup(addresses_)) run_command(command, ignored);
}

bool ExceptionInterface::set_up(const std::string& interface, const std::vector<std::string>& addresses,
                                std::string& error) {
  addresses_ = addresses;
  std::string ignored;  // absent rules: the usual case
  for (const auto& command : exception_rule_cleanup(addresses)) run_command(command, ignored);
  for (const auto& command : exception_interface_setup(interface, addresses))
    if (!run_command(command, error)) return false;
  return true;
}

bool run_command(const CommandLine& command, std::string& error) {
  std::vector<char*> argv;
  for (const auto& word : command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (int rc = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ); rc != 0) {
    error = joined(command) + ": " + std::strerror(rc);
    return false;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      error = joined(command) + ": waitpid: " + std::strerror(errno);
      return false;
    }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  error = joined(command) + ": " +
          (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status)) : std::string("killed by a signal"));
  return false;
}

}  // namespace sluice

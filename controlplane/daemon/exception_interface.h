// The host kernel's side of the exception port (routing.exception_port, a net_tap): what
// sluiced sets up at start so that the kernel services see the clients' packets and the
// kernel's answers leave through the tap (docs/OPERATIONS.md, "Routed mode: the exception port").
//
// - The interface is NOARP with no link-local address (generated or left from net_tap's start):
//   the kernel never asks for a
//   neighbour on it (it sends every frame to the interface's own MAC, which the worker ignores:
//   it reads every frame of the tap and routes it), and sends no router or neighbour
//   solicitation of its own.
// - The appliance's own addresses are put on it as /32 and /128 (no connected prefix: the
//   connected networks belong to the data ports, which the kernel does not have).
// - A routing table of its own (kExceptionRouteTable) holds one default route out of the tap, and
//   one rule per own address (priority kExceptionRulePriority) sends whatever leaves from that
//   address there; everything else the host sends (its management traffic) keeps the main table.
#pragma once

#include <string>
#include <vector>

#include "config.pb.h"

namespace sluice {

inline constexpr int kExceptionRouteTable = 7913;
inline constexpr int kExceptionRulePriority = 7913;

using CommandLine = std::vector<std::string>;

// The ip(8) commands, in order, that set up `interface` for `addresses` (the own addresses
// without prefix length, "198.18.1.254", "2001:db8:1::1"). Each is safe to run again (replace,
// or a rule deleted first by exception_rule_cleanup).
std::vector<CommandLine> exception_interface_setup(const std::string& interface, const std::vector<std::string>& addresses);

// The rules for `addresses`, deleted: run before the setup (a crashed run may have left them)
// and at the stop (the interface, its addresses and routes vanish with the tap; rules do not).
// Each fails harmlessly when the rule is absent.
std::vector<CommandLine> exception_rule_cleanup(const std::vector<std::string>& addresses);

// The appliance's own addresses without their prefix length ("198.18.1.254"), from every
// port's `addresses`, in config order.
std::vector<std::string> own_addresses(const sluice::config::ApplianceConfig& config);

// The kernel side of one run's tap: set up once the tap port has started, its rules deleted
// when this goes out of scope (the interface itself vanishes with the DPDK port).
class ExceptionInterface {
 public:
  ExceptionInterface() = default;
  ExceptionInterface(const ExceptionInterface&) = delete;
  ExceptionInterface& operator=(const ExceptionInterface&) = delete;
  ~ExceptionInterface();

  // Deletes rules a killed run may have left, then runs exception_interface_setup. False with
  // `error` at the first command that fails.
  bool set_up(const std::string& interface, const std::vector<std::string>& addresses, std::string& error);

 private:
  std::vector<std::string> addresses_;  // whose rules to delete; empty before a set_up
};

// Runs `command` (argv[0] looked up in PATH) and waits; false with `error` (the command and its
// exit status or spawn error) when it did not exit 0.
bool run_command(const CommandLine& command, std::string& error);

}  // namespace sluice

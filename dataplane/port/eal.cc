#include "dataplane/port/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>

namespace sluice {

std::vector<std::string> device_eal_args(const std::string& device) {
  if (device.rfind("net_", 0) == 0 || device.rfind("eth_", 0) == 0) return {"--vdev=" + device};
  return {"-a", device};
}

std::string device_port_name(const std::string& device) { return device.substr(0, device.find(',')); }

bool init_eal(const std::vector<std::string>& args, std::string& error) {
  std::vector<std::string> copies = args;  // rte_eal_init may permute argv
  std::vector<char*> argv;
  for (auto& arg : copies) argv.push_back(arg.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(copies.size()), argv.data()) < 0) {
    error = std::string("rte_eal_init failed: ") + rte_strerror(rte_errno);
    return false;
  }
  return true;
}

std::vector<std::string> portable_eal_args(const std::string& program, const std::string& lcores,
                                           unsigned memory_mb) {
  return {program, "-l", lcores, "--no-huge", "-m", std::to_string(memory_mb), "--no-pci", "--no-shconf", "--no-telemetry",
          "--log-level=lib.eal:error", "--log-level=pmd.net.pcap:error"};
}

}  // namespace sluice

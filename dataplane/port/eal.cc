#include "dataplane/port/eal.h"

#include <sched.h>

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

std::string lcores_on_cpus(const std::vector<unsigned>& lcores, const std::vector<unsigned>& cpus) {
  std::string map;
  for (unsigned lcore : lcores) {
    if (!map.empty()) map += ',';
    map += std::to_string(lcore) + '@' + std::to_string(cpus[lcore % cpus.size()]);
  }
  return map;
}

std::vector<unsigned> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<unsigned> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

std::vector<std::string> portable_eal_args(const std::string& program, const std::string& lcores,
                                           unsigned memory_mb) {
  return {program, "-l", lcores, "--no-huge", "-m", std::to_string(memory_mb), "--no-pci", "--no-shconf", "--no-telemetry",
          "--log-level=lib.eal:error", "--log-level=pmd.net.pcap:error"};
}

}  // namespace sluice

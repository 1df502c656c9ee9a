// EAL start-up: turns the appliance's settings into EAL arguments, once per process.
#pragma once

#include <string>
#include <vector>

namespace sluice {

// The EAL arguments that attach `device`: "--vdev=net_pcap0,rx_pcap=…" for virtual devices,
// "-a 0000:00:08.0" for PCI addresses.
std::vector<std::string> device_eal_args(const std::string& device);

// "net_pcap0" for "net_pcap0,rx_pcap=…"; the PCI address for a PCI device.
std::string device_port_name(const std::string& device);

// Calls rte_eal_init with `args` (program name first). Returns false with `error` on failure.
bool init_eal(const std::vector<std::string>& args, std::string& error);

// The value of EAL's --lcores for `lcores` (the control thread's first): each lcore on one of
// `cpus`, lcore L on cpus[L % cpus.size()], so that lcore numbers above the machine's CPU count
// still run (two workers, lcores 1 and 2, on a 2-CPU machine: "0@0,1@1,2@0"). `cpus` not empty.
std::string lcores_on_cpus(const std::vector<unsigned>& lcores, const std::vector<unsigned>& cpus);

// The CPUs this process may run on (its affinity), in increasing order; {0} if it cannot tell.
std::vector<unsigned> allowed_cpus();

// Arguments that let EAL run anywhere: no hugepages, no PCI scan, no shared files.
std::vector<std::string> portable_eal_args(const std::string& program, const std::string& lcores,
                                           unsigned memory_mb);

}  // namespace sluice

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

// Arguments that let EAL run anywhere: no hugepages, no PCI scan, no shared files.
std::vector<std::string> portable_eal_args(const std::string& program, const std::string& lcores,
                                           unsigned memory_mb);

}  // namespace sluice

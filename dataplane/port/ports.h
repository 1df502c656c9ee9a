// Opening and closing the appliance's ports: one rx and one tx queue each (one worker).
#pragma once

#include <cstdint>
#include <string>

struct rte_mempool;

namespace sluice {

// Finds the port EAL probed for `name` (see device_port_name), configures one rx and one tx
// queue on `pool`, enables promiscuous mode (a bridge sees frames for other MACs) and starts it.
bool open_port(const std::string& name, rte_mempool* pool, uint16_t& port_id, std::string& error);

// Stops and closes the port; a pcap port flushes its output file here.
void close_port(uint16_t port_id);

}  // namespace sluice

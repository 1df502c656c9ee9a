// Opening and closing the appliance's ports: one rx and one tx queue per worker where the PMD
// has them (docs/ARCHITECTURE.md, "Several workers").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct rte_mempool;

namespace sluice {

// What open_port configured for the workers.
struct PortQueues {
  uint16_t rx = 1;  // worker w polls receive queue w when w < rx
  uint16_t tx = 1;  // worker w sends on transmit queue w when w < tx (else through a tx ring)
  // The NIC spreads the rx queues by RSS over the IP addresses only, with the symmetric key
  // (0x6d5a repeated): both directions and every fragment of a flow reach the same queue.
  bool rss = false;
  uint16_t reta_size = 0;  // the redirection table RSS uses (queue = reta[hash % size])
};

// Finds the port EAL probed for `name` (see device_port_name), configures up to one rx and one
// tx queue per worker (one per entry of `pools`; rx queue w receives into pools[w]), as many as
// the PMD allows, enables promiscuous mode (a bridge sees frames for other MACs) and starts it.
bool open_port(const std::string& name, const std::vector<rte_mempool*>& pools, uint16_t& port_id,
               PortQueues& queues, std::string& error);

// One worker: one rx and one tx queue on `pool`.
bool open_port(const std::string& name, rte_mempool* pool, uint16_t& port_id, std::string& error);

// Stops and closes the port; a pcap port flushes its output file here.
void close_port(uint16_t port_id);

}  // namespace sluice

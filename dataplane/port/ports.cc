#include "dataplane/port/ports.h"

#include <rte_ethdev.h>

namespace sluice {

namespace {
constexpr uint16_t kRxDescriptors = 1024;
constexpr uint16_t kTxDescriptors = 1024;
}  // namespace

bool open_port(const std::string& name, rte_mempool* pool, uint16_t& port_id, std::string& error) {
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
    error = "no port named " + name + " (is the device string right?)";
    return false;
  }
  rte_eth_conf conf{};
  int rc = rte_eth_dev_configure(port_id, 1, 1, &conf);
  if (rc < 0) {
    error = name + ": configure failed: " + rte_strerror(-rc);
    return false;
  }
  uint16_t rx_descriptors = kRxDescriptors, tx_descriptors = kTxDescriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_descriptors, &tx_descriptors);
  int socket = rte_eth_dev_socket_id(port_id);
  if (socket < 0) socket = SOCKET_ID_ANY;
  rc = rte_eth_rx_queue_setup(port_id, 0, rx_descriptors, static_cast<unsigned>(socket), nullptr, pool);
  if (rc < 0) {
    error = name + ": rx queue setup failed: " + rte_strerror(-rc);
    return false;
  }
  rc = rte_eth_tx_queue_setup(port_id, 0, tx_descriptors, static_cast<unsigned>(socket), nullptr);
  if (rc < 0) {
    error = name + ": tx queue setup failed: " + rte_strerror(-rc);
    return false;
  }
  rc = rte_eth_dev_start(port_id);
  if (rc < 0) {
    error = name + ": start failed: " + rte_strerror(-rc);
    return false;
  }
  rte_eth_promiscuous_enable(port_id);  // not every PMD supports it; a bridge works without on pcap
  return true;
}

void close_port(uint16_t port_id) {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);
}

}  // namespace sluice

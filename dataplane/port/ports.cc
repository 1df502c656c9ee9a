#include "dataplane/port/ports.h"

#include <algorithm>

#include <rte_ethdev.h>

namespace sluice {

namespace {
constexpr uint16_t kRxDescriptors = 1024;
constexpr uint16_t kTxDescriptors = 1024;

// The symmetric Toeplitz key (Woo and Park, "Scalable TCP Session Monitoring with Symmetric
// Receive-side Scaling"): 0x6d5a repeated makes hash(a→b) = hash(b→a).
uint8_t symmetric_rss_key[40] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

// Every port spreads flows the same way: reta[i] = i % queues, so that ports with the same
// table size send both directions of a flow to the same worker.
bool spread_reta(uint16_t port_id, uint16_t reta_size, uint16_t queues) {
  std::vector<rte_eth_rss_reta_entry64> reta((reta_size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
  for (uint16_t i = 0; i < reta_size; ++i) {
    auto& group = reta[i / RTE_ETH_RETA_GROUP_SIZE];
    group.mask |= 1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
    group.reta[i % RTE_ETH_RETA_GROUP_SIZE] = uint16_t(i % queues);
  }
  return rte_eth_dev_rss_reta_update(port_id, reta.data(), reta_size) == 0;
}
}  // namespace

bool open_port(const std::string& name, const std::vector<rte_mempool*>& pools, uint16_t& port_id,
               PortQueues& queues, std::string& error) {
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
    error = "no port named " + name + " (is the device string right?)";
    return false;
  }
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port_id, &info) != 0) {
    error = name + ": cannot read the device's capabilities";
    return false;
  }
  const uint16_t workers = uint16_t(std::max<size_t>(pools.size(), 1));
  queues = PortQueues{};
  queues.rx = std::max<uint16_t>(1, std::min<uint16_t>(workers, info.max_rx_queues));
  queues.tx = std::max<uint16_t>(1, std::min<uint16_t>(workers, info.max_tx_queues));
  rte_eth_conf conf{};
  const uint64_t hash_fields = info.flow_type_rss_offloads & RTE_ETH_RSS_IP;
  if (queues.rx > 1 && hash_fields) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = symmetric_rss_key;
    conf.rx_adv_conf.rss_conf.rss_key_len = sizeof symmetric_rss_key;
    conf.rx_adv_conf.rss_conf.rss_hf = hash_fields;  // addresses only: fragments follow their flow
    queues.rss = true;
  }
  int rc = rte_eth_dev_configure(port_id, queues.rx, queues.tx, &conf);
  if (rc < 0) {
    error = name + ": configure failed: " + rte_strerror(-rc);
    return false;
  }
  uint16_t rx_descriptors = kRxDescriptors, tx_descriptors = kTxDescriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_descriptors, &tx_descriptors);
  int socket = rte_eth_dev_socket_id(port_id);
  if (socket < 0) socket = SOCKET_ID_ANY;
  for (uint16_t queue = 0; queue < queues.rx; ++queue) {
    rc = rte_eth_rx_queue_setup(port_id, queue, rx_descriptors, static_cast<unsigned>(socket), nullptr, pools[queue]);
    if (rc < 0) {
      error = name + ": rx queue " + std::to_string(queue) + " setup failed: " + rte_strerror(-rc);
      return false;
    }
  }
  for (uint16_t queue = 0; queue < queues.tx; ++queue) {
    rc = rte_eth_tx_queue_setup(port_id, queue, tx_descriptors, static_cast<unsigned>(socket), nullptr);
    if (rc < 0) {
      error = name + ": tx queue " + std::to_string(queue) + " setup failed: " + rte_strerror(-rc);
      return false;
    }
  }
  rc = rte_eth_dev_start(port_id);
  if (rc < 0) {
    error = name + ": start failed: " + rte_strerror(-rc);
    return false;
  }
  if (queues.rss) {
    queues.reta_size = info.reta_size;
    // Without its own table the port keeps the PMD's default, which may spread otherwise:
    // then the workers steer in software (worker_lanes.h).
    if (!info.reta_size || !spread_reta(port_id, info.reta_size, queues.rx)) queues.rss = false;
  }
  rte_eth_promiscuous_enable(port_id);  // not every PMD supports it; a bridge works without on pcap
  return true;
}

bool open_port(const std::string& name, rte_mempool* pool, uint16_t& port_id, std::string& error) {
  PortQueues queues;
  return open_port(name, std::vector<rte_mempool*>{pool}, port_id, queues, error);
}

void close_port(uint16_t port_id) {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);
}

}  // namespace sluice

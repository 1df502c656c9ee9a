// Prometheus metrics (docs/METRICS.md) served by prometheus-cpp on the management address.
// A Collectable reads the workers' counters at scrape time, so a scrape is exact, not a copy
// from some earlier moment. Also serves /healthz (sluice_up 1 while the process runs).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "controlplane/records/latency_histogram.h"
#include "controlplane/policy/learned_address_store.h"
#include "controlplane/policy/policy_slots.h"
#include "controlplane/policy/service_tag_catalog.h"
#include "dataplane/worker/worker_counters.h"
#include "dataplane/worker/worker_lanes.h"

namespace prometheus {
class Exposer;
}

namespace sluice {

struct NeighbourStats;  // controlplane/daemon/neighbour_manager.h

// The service tag files of the running policy generation. Control thread: set() at publish;
// scrapes (their own threads) and stats: get(). A copy under a lock, a few rows, never per packet.
class ServiceTagVersions {
 public:
  void set(std::vector<ServiceTagFileSummary> files) {
    std::lock_guard lock(mutex_);
    files_ = std::move(files);
  }
  std::vector<ServiceTagFileSummary> get() const {
    std::lock_guard lock(mutex_);
    return files_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<ServiceTagFileSummary> files_;
};

// Counters owned by the control thread. Control: write; scrapes: read.
struct ControlCounters {
  std::atomic<uint64_t> policy_generation{0};
  std::atomic<uint64_t> denial_records_written{0};
  std::atomic<uint64_t> denial_record_write_errors{0};
  std::atomic<uint64_t> denial_records_lost{0};        // given up after retries (full disk, I/O error)
  std::atomic<uint64_t> denial_records_aggregated{0};  // repeats counted into another record
  std::atomic<uint64_t> denial_log_rotations{0};
  LatencyHistogram record_latency;                     // verdict → record on disk
  // Sampled by the control thread about every 100 ms.
  struct PortStats {
    std::atomic<uint64_t> rx_packets{0}, tx_packets{0}, missed{0}, rx_errors{0}, tx_errors{0}, rx_no_mbuf{0};
  };
  PortStats ports[kSideCount];                         // from rte_eth_stats_get, by Side
  std::atomic<uint64_t> flows_active[kMaxWorkers] = {};  // flow-table entries in use, by worker
  std::atomic<uint64_t> hyperscan_cache_hits{0};       // databases loaded instead of compiled
  std::atomic<uint64_t> hyperscan_cache_misses{0};
  std::atomic<uint32_t> worker_busy_permille[kMaxWorkers] = {};  // busy cycles / cycles over the last second, by worker
  std::atomic<uint64_t> policy_reload_failures{0};
  std::atomic<uint64_t> policy_reloads{0};
  std::atomic<uint64_t> policy_reloads_superseded{0};  // discarded compiles a newer request overtook
  std::atomic<bool> policy_compiling{false};            // a reload's compile thread runs
  std::atomic<uint64_t> last_reload_unix_ms{0};   // successful reloads only; 0 = never
  std::atomic<uint64_t> last_compile_us{0};
  std::atomic<bool> ready{false};                 // policy loaded and every worker polling
  // Set and cleared by the control thread on the admin socket's "drain" / "undrain"; read by the
  // health server (/readyz answers 503 while set, so load balancers take the appliance out) and
  // the metrics. A restart clears it.
  std::atomic<bool> draining{false};
  ServiceTagVersions service_tags;  // the files the running generation's tags came from
};

// What a scrape reads. Set up before the exporter starts and not changed while it runs.
struct MetricsView {
  std::vector<const WorkerCounters*> workers;
  std::vector<uint32_t> flow_capacity;    // each worker's flow-table capacity, in `workers` order
  const PolicySlots* policies = nullptr;  // policy names by counter slot
  const ControlCounters* control = nullptr;
  const LearnedAddressStore* learned = nullptr;  // DNS learning; null when off
  // Source NAT: routing.snat.addresses in config order (empty in bridge mode), and the ports of
  // the whole range (every worker's slice together).
  std::vector<std::string> snat_addresses;
  uint32_t snat_range_ports = 0;
  const NeighbourStats* neighbours = nullptr;    // routed mode's neighbour manager; null in bridge mode
};

class MetricsCollector;

class MetricsExporter {
 public:
  // Connections served at once, and how long one may take to send its request: an idle
  // connection holds one server thread at most this long.
  static constexpr int kServerThreads = 8;
  static constexpr int kRequestTimeoutMs = 2000;

  MetricsExporter();
  ~MetricsExporter();
  // "127.0.0.1:9617" or "[::1]:9617". Returns false with `error` when the address cannot be bound.
  bool start(const std::string& address, const MetricsView& view, std::string& error);

 private:
  std::shared_ptr<MetricsCollector> collector_;
  std::shared_ptr<MetricsCollector> health_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// The metrics text a scrape would return; for sluicectl and tests without HTTP.
std::string render_metrics(const MetricsView& view);

}  // namespace sluice

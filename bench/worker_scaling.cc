#include "bench/worker_scaling.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "bench/cpu_times.h"
#include "bench/domains.h"
#include "bench/traffic.h"
#include "controlplane/daemon/worker_set.h"
#include "dataplane/flow/flow_owner.h"
#include "dataplane/port/ports.h"
#include "dataplane/worker/worker_loop.h"

namespace sluice::bench {

namespace {

constexpr uint64_t kSeed = 20261207;
constexpr uint16_t kMaxBenchWorkers = 2;  // the machine's two vCPUs: lcores 0 and 1
constexpr unsigned kWatchMicroseconds = 200;
constexpr double kStallSeconds = 10;

// An ACK of `flow` in direction `side` (0: client → server), written over `frame` (a copy of
// the template): the established profile's endpoints (traffic.h), so the traffic is the same kind.
void stamp(uint8_t* frame, uint32_t flow, int side) {
  const Endpoint client = established_client(flow), server = established_server(flow);
  restamp_ipv4(frame, side == 0 ? client : server, side == 0 ? server : client);
}


// Frames a worker has finished with: forwarded + dropped, less the frames it made itself.
int64_t finished(const WorkerCounters& counters) {
  int64_t total = int64_t(read(counters.tx_packets[0]) + read(counters.tx_packets[1]));
  for (const auto& dropped : counters.dropped_packets) total += int64_t(read(dropped));
  return total - int64_t(read(counters.resets_sent) + read(counters.onward_resets_sent) +
                         read(counters.icmp_unreachable_sent));
}

std::atomic<unsigned> g_rig_number{0};

// Two net_ring ports with one rx and one tx ring a worker, each big enough for a whole run, and
// a WorkerSet wired on them as sluiced wires its own.
class PreloadedRig {
 public:
  ~PreloadedRig() {
    // Ports first: they hold the worker set's buffers (worker_set.h).
    if (ports_open_)
      for (auto port : ports_) close_port(port);
    set_.reset();
    for (auto* ring : rings_) {
      rte_mbuf* frame = nullptr;
      while (rte_ring_dequeue(ring, reinterpret_cast<void**>(&frame)) == 0) rte_pktmbuf_free(frame);
      rte_ring_free(ring);
    }
    if (pool_) rte_mempool_free(pool_);
  }

  bool init(uint16_t workers, Placement placement, uint32_t flow_capacity, unsigned ring_size, unsigned frames,
            std::string& error) {
    workers_ = workers;
    const std::string prefix = "bw" + std::to_string(g_rig_number++) + "_";
    constexpr unsigned kFlags = RING_F_SP_ENQ | RING_F_SC_DEQ;
    for (int side = 0; side < kSideCount; ++side)
      for (uint16_t q = 0; q < workers; ++q) {
        std::string name = prefix + std::to_string(side) + "_" + std::to_string(q);
        rx_[side][q] = rte_ring_create((name + "r").c_str(), ring_size, SOCKET_ID_ANY, kFlags);
        tx_[side][q] = rte_ring_create((name + "t").c_str(), ring_size, SOCKET_ID_ANY, kFlags);
        if (!rx_[side][q] || !tx_[side][q]) {
          error = "cannot create the rings of " + name + " (raise -m)";
          return false;
        }
        rings_.push_back(rx_[side][q]);
        rings_.push_back(tx_[side][q]);
      }
    // Small buffers: a 64-byte frame each, a whole run's worth at once.
    pool_ = rte_pktmbuf_pool_create((prefix + "pool").c_str(), frames, 256, 0, 128 + RTE_PKTMBUF_HEADROOM,
                                    SOCKET_ID_ANY);
    if (!pool_) {
      error = "cannot allocate " + std::to_string(frames) + " frame buffers (raise -m)";
      return false;
    }
    WorkerRigOptions options;
    options.name = prefix + "w";
    options.mbuf_count = 4095;  // replies only (none in this traffic)
    options.mbuf_data_room = 256 + RTE_PKTMBUF_HEADROOM;
    options.event_ring_size = 4096;
    options.flow_capacity = flow_capacity;
    PacketProcessorSetup settings;
    settings.emit_allowed_flows = false;  // a million warm-up flows would only fill the event rings
    set_ = std::make_unique<WorkerSet>();
    if (!set_->init(workers, options, settings, error)) return false;
    PortQueues queues[kSideCount];
    for (int side = 0; side < kSideCount; ++side) {
      std::string name = prefix + (side == 0 ? "in" : "out");
      if (rte_eth_from_rings(name.c_str(), rx_[side], workers, tx_[side], workers, SOCKET_ID_ANY) < 0) {
        error = "rte_eth_from_rings(" + name + ") failed";
        return false;
      }
      if (!set_->open_port("net_ring_" + name, ports_[side], queues[side], error)) return false;
      if (queues[side].rx != workers || queues[side].tx != workers) {
        error = "a ring port without a queue a worker";
        return false;
      }
      // The ring PMD has no RSS; `rss` stands for a NIC that has it (the frames are placed by
      // owner below), so the lanes are those sluiced wires for such a NIC.
      queues[side].rss = placement == Placement::rss;
      queues[side].reta_size = placement == Placement::rss ? 128 : 0;
    }
    ports_open_ = true;
    if (!set_->connect(ports_, queues, /*routed=*/false, error)) return false;
    if (workers > 1 && set_->steers() != (placement == Placement::steer)) {
      error = "the worker set did not wire the placement asked for";
      return false;
    }
    shared_.qsbr = set_->rig(0).qsbr();
    for (uint16_t w = 0; w < workers; ++w) set_->loop(w).shared = &shared_;
    return true;
  }

  // Creates `flows` in their owners' tables by handing each client's SYN to the owner's
  // processor on this lcore, before any clock.
  bool warm_up(const CompiledPolicy& policy, uint32_t flows, std::string& error) {
    Bytes syn_template = tcp_frame({{}, {}, kTcpSyn, 1, 0, {}, 0});
    rte_mbuf* burst[kMaxBenchWorkers][kBurstSize];
    uint16_t count[kMaxBenchWorkers] = {};
    uint64_t created = 0;
    BurstOutput out;
    auto flush = [&](uint16_t w) {
      if (count[w] == 0) return;
      set_->rig(w).processor().process_burst(policy, Side::inside, burst[w], count[w], out);
      if (out.forward_count != count[w]) error = "warm-up: a SYN to the allowed network was not forwarded";
      rte_pktmbuf_free_bulk(out.forward, out.forward_count);
      rte_pktmbuf_free_bulk(out.replies, out.reply_count);
      count[w] = 0;
    };
    for (uint32_t flow = 0; flow < flows && error.empty(); ++flow) {
      rte_mbuf* mbuf = rte_pktmbuf_alloc(pool_);
      if (!mbuf) {
        error = "warm-up: out of frame buffers";
        return false;
      }
      uint8_t* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(mbuf, uint16_t(syn_template.size())));
      std::memcpy(frame, syn_template.data(), syn_template.size());
      stamp(frame, flow, 0);
      uint16_t owner = flow_owner(frame, uint32_t(syn_template.size()), workers_);
      burst[owner][count[owner]++] = mbuf;
      if (count[owner] == kBurstSize) flush(owner);
    }
    for (uint16_t w = 0; w < workers_; ++w) flush(w);
    for (uint16_t w = 0; w < workers_; ++w) created += read(set_->rig(w).counters().flows_created);
    if (error.empty() && created != flows)
      error = "warm-up created " + std::to_string(created) + " flows, not " + std::to_string(flows);
    return error.empty();
  }

  // Puts every frame of `order` (flow << 1 | side) on its queue's rx ring.
  bool preload(const std::vector<uint32_t>& order, Placement placement, std::string& error) {
    Bytes ack = tcp_frame({{}, {}, kTcpAck, 100, 200, {}, 0});
    uint64_t index[kSideCount] = {};
    std::vector<rte_mbuf*> batch(order.size());
    if (rte_pktmbuf_alloc_bulk(pool_, batch.data(), unsigned(batch.size())) != 0) {
      error = "out of frame buffers for a run";
      return false;
    }
    for (size_t i = 0; i < order.size(); ++i) {
      const uint32_t flow = order[i] >> 1;
      const int side = int(order[i] & 1);
      rte_mbuf* mbuf = batch[i];
      uint8_t* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(mbuf, uint16_t(ack.size())));
      std::memcpy(frame, ack.data(), ack.size());
      stamp(frame, flow, side);
      // The port the frame came in on: what take_handoffs sorts handed frames by.
      mbuf->port = ports_[side];
      const uint16_t queue = placement == Placement::rss ? flow_owner(frame, uint32_t(ack.size()), workers_)
                                                         : uint16_t(index[side]++ % workers_);
      if (rte_ring_sp_enqueue(rx_[side][queue], mbuf) != 0) {
        error = "an rx ring is full";
        return false;
      }
    }
    return true;
  }

  WorkerScalingRun run(const CompiledPolicy& policy, uint64_t offered) {
    WorkerScalingRun result;
    result.workers = workers_;
    result.offered = offered;
    // The counters before the run: a run's figures are their deltas (the flows and counters
    // stay from one repetition to the next, as a running appliance's do).
    int64_t finished_before = 0;
    int64_t judged_before[kMaxBenchWorkers] = {};
    uint64_t busy_before[kMaxBenchWorkers] = {}, handed_before = 0, taken_before = 0;
    uint64_t dropped_before[kReasonCount] = {};
    for (uint16_t w = 0; w < workers_; ++w) {
      const WorkerCounters& counters = set_->rig(w).counters();
      judged_before[w] = finished(counters);
      finished_before += judged_before[w];
      busy_before[w] = read(counters.busy_cycles);
      handed_before += read(counters.handoff_sent);
      taken_before += read(counters.handoff_received);
      for (int reason = 0; reason < kReasonCount; ++reason) dropped_before[reason] += read(counters.dropped_packets[reason]);
    }

    shared_.policy.store(&policy, std::memory_order_release);
    shared_.stop.store(false, std::memory_order_relaxed);
    std::atomic<uint64_t> end{0};
    std::atomic<bool> stalled{false};
    // The watcher: sleeps between looks at the workers' counters, so that a worker sharing its
    // CPU (worker 0, on the main lcore) loses little to it.
    auto watch = [&] {
      const uint64_t hz = rte_get_tsc_hz();
      int64_t last = 0;
      uint64_t last_progress = rte_rdtsc();
      while (!shared_.stop.load(std::memory_order_relaxed)) {  // set here when a launch failed
        timespec pause{0, long(kWatchMicroseconds) * 1000};
        nanosleep(&pause, nullptr);
        int64_t done = -finished_before;
        for (uint16_t w = 0; w < workers_; ++w) done += finished(set_->rig(w).counters());
        const uint64_t now = rte_rdtsc();
        if (done >= int64_t(offered)) {
          end.store(now);
          break;
        }
        if (done != last) {
          last = done;
          last_progress = now;
        } else if (double(now - last_progress) > kStallSeconds * double(hz)) {
          stalled.store(true);
          break;
        }
      }
      shared_.stop.store(true, std::memory_order_relaxed);
    };

    const CpuTimes cpu_before = cpu_times();
    const uint64_t start = rte_rdtsc();
    std::thread watcher(watch);
    // Worker 0 on the main lcore when there are two (lcore 1 runs worker 1), else on lcore 1.
    const unsigned remote_lcore = 1;
    const uint16_t remote_worker = workers_ > 1 ? 1 : 0;
    if (rte_eal_remote_launch(run_worker_loop, &set_->loop(remote_worker), remote_lcore) != 0) {
      shared_.stop.store(true);
      watcher.join();
      result.error = "cannot launch a worker on lcore 1";
      return result;
    }
    if (workers_ > 1) run_worker_loop(&set_->loop(0));
    watcher.join();
    rte_eal_wait_lcore(remote_lcore);
    const CpuTimes cpu_after = cpu_times();

    // What the workers sent, off the tx rings (the clock has stopped).
    for (int side = 0; side < kSideCount; ++side)
      for (uint16_t q = 0; q < workers_; ++q) {
        rte_mbuf* frames[64];
        unsigned count;
        while ((count = rte_ring_sc_dequeue_burst(tx_[side][q], reinterpret_cast<void**>(frames), 64, nullptr)) > 0) {
          result.returned += count;
          rte_pktmbuf_free_bulk(frames, count);
        }
      }
    for (uint16_t w = 0; w < workers_; ++w) {
      const WorkerCounters& counters = set_->rig(w).counters();
      result.judged[w] = uint64_t(finished(counters) - judged_before[w]);
      result.busy_cycles[w] = read(counters.busy_cycles) - busy_before[w];
      result.handed_over += read(counters.handoff_sent);
      result.taken_over += read(counters.handoff_received);
    }
    for (int reason = 0; reason < kReasonCount; ++reason) {
      uint64_t count = 0;
      for (uint16_t w = 0; w < workers_; ++w) count += read(set_->rig(w).counters().dropped_packets[reason]);
      count -= dropped_before[reason];
      if (count == 0) continue;
      result.dropped += count;
      result.drops += (result.drops.empty() ? "" : ", ") + std::string(to_string(Reason(reason))) + " " +
                      std::to_string(count);
    }
    result.handed_over -= handed_before;
    result.taken_over -= taken_before;
    for (uint16_t w = 0; w < workers_; ++w) result.forwarded += result.judged[w];
    result.forwarded -= result.dropped;
    if (stalled.load()) {
      result.error = "stalled: the workers finished " + std::to_string(result.forwarded + result.dropped) + " of " +
                     std::to_string(offered);
      return result;
    }
    result.elapsed_tsc = end.load() - start;
    result.seconds = double(result.elapsed_tsc) / double(rte_get_tsc_hz());
    const double foreign = double(cpu_after.machine - cpu_before.machine) - double(cpu_after.self - cpu_before.self);
    const double available = result.seconds * double(sysconf(_SC_CLK_TCK)) * double(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    result.foreign_cpu_share = result.seconds >= 0.25 ? std::clamp(foreign / available, 0.0, 1.0) : -1.0;
    result.ok = true;
    return result;
  }

 private:
  uint16_t workers_ = 1;
  rte_ring* rx_[kSideCount][kMaxBenchWorkers] = {};
  rte_ring* tx_[kSideCount][kMaxBenchWorkers] = {};
  std::vector<rte_ring*> rings_;
  rte_mempool* pool_ = nullptr;
  uint16_t ports_[kSideCount] = {};
  bool ports_open_ = false;
  std::unique_ptr<WorkerSet> set_;
  WorkerShared shared_;
};

uint32_t next_power_of_two(uint64_t value) {
  uint64_t power = 1;
  while (power < value) power <<= 1;
  return uint32_t(power);
}

Json runs_summary(const std::vector<WorkerScalingRun>& runs) {
  std::vector<double> mpps, wall_cycles, busy[kMaxBenchWorkers], handed, foreign;
  for (const auto& run : runs) {
    mpps.push_back(run.mpps());
    wall_cycles.push_back(run.offered ? double(run.elapsed_tsc) / double(run.offered) : 0);
    for (uint16_t w = 0; w < run.workers; ++w) busy[w].push_back(run.busy_cycles_per_packet(w));
    handed.push_back(run.offered ? double(run.handed_over) / double(run.offered) : 0);
    if (run.foreign_cpu_share >= 0) foreign.push_back(run.foreign_cpu_share);
  }
  Json json = Json::object();
  json.set("mpps", to_json(spread_of(mpps))).set("wall_cycles_per_packet", to_json(spread_of(wall_cycles)));
  Json per_worker = Json::array();
  for (uint16_t w = 0; w < (runs.empty() ? 0 : runs[0].workers); ++w)
    per_worker.push(to_json(spread_of(busy[w])));
  json.set("busy_cycles_per_packet_by_worker", per_worker).set("handed_over_share", to_json(spread_of(handed)));
  if (!foreign.empty()) json.set("foreign_cpu_share", to_json(spread_of(foreign)));
  Json each = Json::array();
  for (const auto& run : runs) {
    Json one = Json::object();
    one.set("ok", run.ok).set("offered", run.offered).set("forwarded", run.forwarded).set("dropped", run.dropped)
        .set("drops", run.drops).set("returned", run.returned).set("handed_over", run.handed_over).set("taken_over", run.taken_over)
        .set("seconds", run.seconds).set("mpps", run.mpps()).set("foreign_cpu_share", run.foreign_cpu_share);
    Json judged = Json::array(), cycles = Json::array();
    for (uint16_t w = 0; w < run.workers; ++w) {
      judged.push(run.judged[w]);
      cycles.push(run.busy_cycles_per_packet(w));
    }
    one.set("judged_by_worker", judged).set("busy_cycles_per_packet_by_worker", cycles);
    if (!run.error.empty()) one.set("error", run.error);
    each.push(one);
  }
  json.set("runs", each);
  return json;
}

// The median over `runs` of the busiest worker's busy cycles a packet.
double busiest_median(const std::vector<WorkerScalingRun>& runs) {
  std::vector<double> values;
  for (const auto& run : runs) {
    double busiest = 0;
    for (uint16_t w = 0; w < run.workers; ++w) busiest = std::max(busiest, run.busy_cycles_per_packet(w));
    values.push_back(busiest);
  }
  return spread_of(values).median;
}

}  // namespace

const char* to_string(Placement placement) { return placement == Placement::rss ? "rss" : "steer"; }

Json run_worker_scaling(const CompiledPolicy& policy, const WorkerScalingOptions& options,
                        std::vector<WorkerScalingRun>* all_runs) {
  Json json = Json::object();
  const uint32_t flows = options.flows;
  const uint64_t frames = 2ull * flows;
  json.set("id", "workers_established_" + std::to_string(flows) + "_flows").set("group", "workers")
      .set("title", "established flows, 64-byte packets, " + std::to_string(flows) +
                    " flows, preloaded rx rings, 1 and 2 workers");
  json.set("params", Json::object().set("flows", flows).set("packets_per_run", frames).set("frame_bytes", 64)
                         .set("watcher_period_us", kWatchMicroseconds)
                         .set("lcores", "worker 0 on lcore 0 (main) and worker 1 on lcore 1 when two; "
                                        "the one worker on lcore 1"));
  // Every flow one packet each way, in one shuffled order (the same for every configuration).
  std::vector<uint32_t> order(frames);
  for (uint64_t i = 0; i < frames; ++i) order[i] = uint32_t(i);
  std::mt19937_64 random(kSeed);
  std::shuffle(order.begin(), order.end(), random);

  std::string error;
  Json configurations = Json::array();
  struct Config {
    uint16_t workers;
    Placement placement;
  };
  double mpps_one = 0, mpps_rss = 0, busy_one = 0, busy_rss = 0, busy_steer = 0, handed_steer = 0;
  bool all_ok = true;
  for (Config config : {Config{1, Placement::rss}, Config{2, Placement::rss}, Config{2, Placement::steer}}) {
    // Each worker's table as full as the one worker's: its share of the flows, to a power of two.
    Bytes probe = tcp_frame({{}, {}, kTcpSyn, 1, 0, {}, 0});
    uint64_t owned[kMaxBenchWorkers] = {};
    for (uint32_t flow = 0; flow < flows; ++flow) {
      stamp(probe.data(), flow, 0);
      ++owned[flow_owner(probe.data(), uint32_t(probe.size()), config.workers)];
    }
    const uint32_t capacity = std::max<uint32_t>(65536, next_power_of_two(*std::max_element(owned, owned + config.workers)));
    Json entry = Json::object();
    entry.set("workers", config.workers).set("placement", config.workers > 1 ? to_string(config.placement) : "one queue")
        .set("flow_capacity_per_worker", capacity);
    std::vector<WorkerScalingRun> runs;
    {
      PreloadedRig rig;
      // The rx rings hold a whole run; the pool its frames, and the warm-up's SYNs between runs.
      if (!rig.init(config.workers, config.placement, capacity, next_power_of_two(frames + 1),
                    unsigned(frames + 8192), error) ||
          !rig.warm_up(policy, flows, error)) {
        entry.set("ok", false).set("error", error);
        configurations.push(entry);
        all_ok = false;
        break;
      }
      for (int rep = 0; rep < options.repetitions; ++rep) {
        WorkerScalingRun run;
        if (!rig.preload(order, config.placement, error)) {
          run.error = error;
        } else {
          run = rig.run(policy, frames);
          if (run.ok && (run.forwarded + run.dropped != run.offered || run.returned != run.forwarded)) {
            run.ok = false;
            run.error = "forwarded " + std::to_string(run.forwarded) + " + dropped " + std::to_string(run.dropped) +
                        " (returned " + std::to_string(run.returned) + ") != offered " + std::to_string(run.offered);
          }
        }
        runs.push_back(run);
        if (all_runs) all_runs->push_back(run);
        if (!run.ok) {
          all_ok = false;
          entry.set("error", run.error);
          break;
        }
      }
    }
    Json summary = runs_summary(runs);
    entry.set("ok", all_ok);
    std::vector<double> mpps_values, handed_values;
    for (const auto& run : runs) {
      mpps_values.push_back(run.mpps());
      handed_values.push_back(run.offered ? double(run.handed_over) / double(run.offered) : 0);
    }
    const double mpps = spread_of(mpps_values).median;
    const double busiest = busiest_median(runs);
    if (config.workers == 1) {
      mpps_one = mpps;
      busy_one = busiest;
    } else if (config.placement == Placement::rss) {
      mpps_rss = mpps;
      busy_rss = busiest;
    } else {
      busy_steer = busiest;
      handed_steer = spread_of(handed_values).median;
    }
    if (config.workers > 1 && mpps_one > 0) entry.set("scaling_ratio", mpps / mpps_one);
    entry.set("summary", summary);
    configurations.push(entry);
    if (!all_ok) break;
  }
  json.set("ok", all_ok).set("configurations", configurations);
  if (!all_ok) return json;

  // The estimate for more workers than this machine has: each worker at the busy cycles a frame
  // one of two workers spent (its share of caches and memory as with two), plus, when steered,
  // the handoff cost for the (N-1)/N of its frames another worker owns. Not modelled: a shared
  // last-level cache and memory bandwidth spread over more workers, NIC and PCIe limits, and
  // imbalance (one address pair is one worker's).
  const double hz = options.tsc_hz > 0 ? options.tsc_hz : double(rte_get_tsc_hz());
  const double handoff_cycles = handed_steer > 0 ? std::max(0.0, busy_steer - busy_rss) / handed_steer : 0;
  Json estimate = Json::object();
  estimate.set("basis", "N/2 times the measured 2-worker rate (rss placement); steered: each worker's busy "
                        "cycles a packet plus the measured handoff cost for (N-1)/N of its packets")
      .set("cycles_per_packet_one_worker", busy_one).set("cycles_per_packet_per_worker_two", busy_rss)
      .set("handoff_cycles_per_handed_packet", handoff_cycles).set("tsc_hz", hz);
  // Anchored on the measured two-worker rate: N/2 times it with RSS; steered, each worker's
  // cost grows by the handoff of (N-1)/N of its frames instead of the measured 1/2.
  Json rows = Json::array();
  for (int n : {4, 8, 16}) {
    const double rss_mpps = mpps_rss * double(n) / 2;
    const double steer_cycles = busy_rss + handoff_cycles * double(n - 1) / double(n);
    const double steer_mpps = steer_cycles > 0 ? rss_mpps * busy_rss / steer_cycles : 0;
    rows.push(Json::object().set("workers", n).set("rss_mpps", rss_mpps).set("steer_mpps", steer_mpps)
                  .set("rss_scaling_ratio", mpps_one > 0 ? rss_mpps / mpps_one : 0.0));
  }
  estimate.set("rows", rows);
  json.set("estimate", estimate);
  if (mpps_one > 0) json.set("scaling_ratio_rss", mpps_rss / mpps_one);
  return json;
}

}  // namespace sluice::bench

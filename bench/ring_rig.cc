#include "bench/ring_rig.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memcpy.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "bench/cpu_times.h"
#include "bench/passthrough_loop.h"
#include "bench/stateful_baseline_loop.h"
#include "dataplane/port/ports.h"
#include "dataplane/worker/worker_loop.h"

namespace sluice::bench {

namespace {

constexpr unsigned kFeedBurst = 64;
constexpr const char* kPortNames[kSideCount] = {"bench_inside", "bench_outside"};

struct CounterSnapshot {
  uint64_t rx = 0, tx = 0, resets = 0, flows = 0, events_dropped = 0;
  std::array<uint64_t, kReasonCount> dropped{};
  std::array<uint64_t, kReasonCount> verdicts{};
};

// Every frame the worker made itself: resets back, resets on to the server, ICMP errors.
uint64_t frames_made(const WorkerCounters& counters) {
  return read(counters.resets_sent) + read(counters.onward_resets_sent) + read(counters.icmp_unreachable_sent);
}

CounterSnapshot snapshot(const WorkerCounters& counters) {
  CounterSnapshot snap;
  for (int side = 0; side < kSideCount; ++side) {
    snap.rx += read(counters.rx_packets[side]);
    snap.tx += read(counters.tx_packets[side]);
  }
  snap.resets = frames_made(counters);
  snap.flows = read(counters.flows_created);
  snap.events_dropped = read(counters.events_dropped_ring_full);
  for (int reason = 0; reason < kReasonCount; ++reason) {
    snap.dropped[reason] = read(counters.dropped_packets[reason]);
    snap.verdicts[reason] = read(counters.flow_verdicts[reason]);
  }
  return snap;
}


}  // namespace

int64_t finished_packets(const WorkerCounters& counters) {
  // Signed: read while the worker runs, the counters are not one snapshot. A reset counted as
  // made before its transmission is counted may make the sum dip below an earlier reading.
  int64_t total = static_cast<int64_t>(read(counters.tx_packets[0]) + read(counters.tx_packets[1]));
  for (const auto& dropped : counters.dropped_packets) total += static_cast<int64_t>(read(dropped));
  return total - static_cast<int64_t>(frames_made(counters));
}

RingRig::~RingRig() {
  if (ports_open_)
    for (auto port : ports_) close_port(port);
  for (int side = 0; side < kSideCount; ++side) {
    if (rx_[side]) rte_ring_free(rx_[side]);
    if (tx_[side]) rte_ring_free(tx_[side]);
  }
  if (feed_pool_) rte_mempool_free(feed_pool_);
}

bool RingRig::init(std::string& error) {
  // Every ring has one producer and one consumer (feeder or worker), as a NIC queue has.
  constexpr unsigned kFlags = RING_F_SP_ENQ | RING_F_SC_DEQ;
  for (int side = 0; side < kSideCount; ++side) {
    std::string name = kPortNames[side];
    rx_[side] = rte_ring_create((name + "_rx").c_str(), config_.rx_ring_size, SOCKET_ID_ANY, kFlags);
    tx_[side] = rte_ring_create((name + "_tx").c_str(), config_.tx_ring_size, SOCKET_ID_ANY, kFlags);
    if (!rx_[side] || !tx_[side]) {
      error = "cannot create the rings of " + name;
      return false;
    }
  }
  // The product's worker rig without a worker (each profile makes its own on it). Resets are
  // tiny: a small data room keeps a quarter million of them cheap. The QSBR variable has a slot
  // for every lcore, as the worker reports under its lcore id.
  WorkerRigOptions rig_options;
  rig_options.name = "bench";
  rig_options.mbuf_count = config_.reply_pool_size;
  rig_options.mbuf_data_room = 256 + RTE_PKTMBUF_HEADROOM;
  rig_options.event_ring_size = config_.event_ring_size;
  rig_options.qsbr_threads = RTE_MAX_LCORE;
  if (!worker_rig_.init(rig_options, PacketProcessorSetup{}, error)) return false;
  // Per-lcore caches: the feeder takes and returns on lcore 0, the worker frees its drops on 1.
  feed_pool_ = rte_pktmbuf_pool_create("bench_feed", config_.feed_pool_size, 512, 0, 2048 + RTE_PKTMBUF_HEADROOM,
                                       SOCKET_ID_ANY);
  if (!feed_pool_) {
    error = "cannot allocate the feed pool";
    return false;
  }
  for (int side = 0; side < kSideCount; ++side) {
    if (rte_eth_from_rings(kPortNames[side], &rx_[side], 1, &tx_[side], 1, SOCKET_ID_ANY) < 0) {
      error = std::string("rte_eth_from_rings(") + kPortNames[side] + ") failed";
      return false;
    }
    // The product's own port set-up (the ring PMD ignores the pool); the PMD prefixes the name.
    if (!open_port(std::string("net_ring_") + kPortNames[side], reply_pool(), ports_[side], error)) return false;
  }
  ports_open_ = true;
  return true;
}

RunResult RingRig::run(const Schedule& schedule, const WorkerSpec& worker, const RunOptions& options) {
  RunResult result;
  const bool cyclic = schedule.cyclic;
  uint64_t total[kSideCount];
  for (int side = 0; side < kSideCount; ++side) total[side] = schedule.offered(side);
  if (cyclic)
    for (int side = 0; side < kSideCount; ++side)
      if (total[side] && schedule.streams[side].packets.empty()) {
        result.error = "cyclic schedule without packets";
        return result;
      }

  // Every run starts on empty rings: frames left by an earlier run would be counted in this one.
  for (int side = 0; side < kSideCount; ++side)
    if (rte_ring_count(rx_[side]) || rte_ring_count(tx_[side])) {
      result.error = std::string("frames left on the rings of ") + kPortNames[side] + " by an earlier run";
      return result;
    }

  // The worker: launched before the clock starts, spinning on empty rings.
  if (worker.kind == WorkerKind::stateful_baseline && !worker.table) {
    result.error = "a stateful baseline without its table";
    return result;
  }
  // The baselines count into counters of their own, made afresh for each run.
  auto baseline_counters = std::make_unique<WorkerCounters>();
  WorkerCounters& counters = worker.kind == WorkerKind::sluice ? *worker.counters : *baseline_counters;
  CounterSnapshot before = snapshot(counters);
  const int64_t finished_before = finished_packets(counters);
  std::atomic<bool> baseline_stop{false};
  PassthroughSetup passthrough;
  StatefulBaselineSetup stateful;
  WorkerShared shared;
  WorkerLoopSetup loop;
  int launched;
  if (worker.kind == WorkerKind::sluice) {
    shared.qsbr = worker_rig_.qsbr();
    shared.policy.store(worker.policy, std::memory_order_release);
    loop.processor = worker.processor;
    loop.counters = worker.counters;
    loop.shared = &shared;
    loop.ports[0] = ports_[0];
    loop.ports[1] = ports_[1];
    loop.qsbr_thread_id = config_.worker_lcore;
    // Routed mode: the same two ring ports, as routed ports 0 (inside) and 1 (outside).
    loop.router = worker.router;
    loop.routed_ports[0] = ports_[0];
    loop.routed_ports[1] = ports_[1];
    loop.routed_port_count = kSideCount;
    launched = rte_eal_remote_launch(run_worker_loop, &loop, config_.worker_lcore);
  } else if (worker.kind == WorkerKind::stateful_baseline) {
    stateful.ports[0] = ports_[0];
    stateful.ports[1] = ports_[1];
    stateful.counters = baseline_counters.get();
    stateful.table = worker.table;
    stateful.stop = &baseline_stop;
    launched = rte_eal_remote_launch(run_stateful_baseline_loop, &stateful, config_.worker_lcore);
  } else {
    passthrough.ports[0] = ports_[0];
    passthrough.ports[1] = ports_[1];
    passthrough.counters = baseline_counters.get();
    passthrough.stop = &baseline_stop;
    launched = rte_eal_remote_launch(run_passthrough_loop, &passthrough, config_.worker_lcore);
  }
  if (launched != 0) {
    result.error = "cannot launch a worker on lcore " + std::to_string(config_.worker_lcore);
    return result;
  }

  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t tick_period = static_cast<uint64_t>(options.tick_period_us * 1e-6 * double(hz));
  const uint64_t stall_limit = static_cast<uint64_t>(options.stall_seconds * double(hz));
  uint64_t enqueued[kSideCount] = {0, 0};
  uint64_t returned[kSideCount] = {0, 0};
  uint64_t backlog_sum = 0, samples = 0, starved = 0;
  rte_mbuf* taken[kFeedBurst];
  rte_mbuf* fresh[kFeedBurst];
  FlowEvent events[64];
  const uint64_t offered_total = total[0] + total[1];

  const CpuTimes cpu_before = cpu_times();
  const uint64_t start = rte_rdtsc();
  uint64_t now = start, next_tick = start + tick_period, last_progress = start, end = 0;
  uint64_t progress_mark = 0;
  for (uint64_t iteration = 0;; ++iteration) {
    now = rte_rdtsc();
    // Outputs first: they free the mbufs a cyclic stream feeds again.
    for (int port = 0; port < kSideCount; ++port) {
      unsigned count = rte_ring_sc_dequeue_burst(tx_[port], reinterpret_cast<void**>(taken), kFeedBurst, nullptr);
      returned[port] += count;
      if (!cyclic && count) rte_pktmbuf_free_bulk(taken, count);  // back to the feed pool (resets: theirs)
    }
    // What the worker has left on its rx rings, sampled before they are topped up again.
    if ((iteration & 63) == 0 && (enqueued[0] < total[0] || enqueued[1] < total[1])) {
      unsigned backlog = rte_ring_count(rx_[0]) + rte_ring_count(rx_[1]);
      backlog_sum += backlog;
      ++samples;
      if (backlog == 0) ++starved;
    }
    uint64_t allowance = options.pace_pps > 0 ? static_cast<uint64_t>(double(now - start) / double(hz) * options.pace_pps) + 1
                                              : UINT64_MAX;
    for (int side = 0; side < kSideCount; ++side) {
      const Stream& stream = schedule.streams[side];
      uint64_t limit = total[side];
      if (cyclic) limit = std::min(limit, stream.packets.size() + returned[1 - side]);
      if (options.pace_pps > 0) {
        uint64_t done = enqueued[0] + enqueued[1];
        limit = std::min(limit, enqueued[side] + (allowance > done ? allowance - done : 0));
      }
      if (enqueued[side] >= limit) continue;
      uint64_t want = std::min<uint64_t>(limit - enqueued[side], kFeedBurst);
      if (!stream.gates.empty()) {
        uint64_t other_taken = enqueued[1 - side] - rte_ring_count(rx_[1 - side]);
        uint64_t allowed = 0;
        while (allowed < want && stream.gates[enqueued[side] + allowed] <= other_taken) ++allowed;
        want = allowed;
      }
      want = std::min<uint64_t>(want, rte_ring_free_count(rx_[side]));
      if (cyclic) {
        size_t at = enqueued[side] % stream.packets.size();
        want = std::min<uint64_t>(want, stream.packets.size() - at);  // a cyclic stream wraps here
        if (want == 0) continue;
        if (schedule.restamp && options.write_packets)
          schedule.restamp(schedule.restamp_context, side, enqueued[side], &stream.packets[at], static_cast<unsigned>(want));
        enqueued[side] += rte_ring_sp_enqueue_burst(rx_[side], reinterpret_cast<void* const*>(&stream.packets[at]),
                                                    static_cast<unsigned>(want), nullptr);
        continue;
      }
      // A finite stream: frames are copied into recycled mbufs, as a NIC fills its rx ring.
      if (want == 0 || rte_pktmbuf_alloc_bulk(feed_pool_, fresh, static_cast<unsigned>(want)) != 0) continue;
      for (uint64_t k = 0; k < want; ++k) {
        uint32_t frame = stream.frames[enqueued[side] + k];
        uint16_t length = schedule.arena->length(frame);
        if (options.write_packets)
          rte_memcpy(rte_pktmbuf_mtod(fresh[k], uint8_t*), schedule.arena->data(frame), schedule.arena->copy_length(frame));
        fresh[k]->data_len = length;
        fresh[k]->pkt_len = length;
      }
      enqueued[side] += rte_ring_sp_enqueue_burst(rx_[side], reinterpret_cast<void* const*>(fresh),
                                                  static_cast<unsigned>(want), nullptr);
    }
    const bool all_offered = enqueued[0] == total[0] && enqueued[1] == total[1];
    if (options.on_tick) {
      if (now >= next_tick) {
        options.on_tick(now);
        next_tick += tick_period;
      }
    } else if ((iteration & 255) == 0) {
      unsigned count;
      while ((count = rte_ring_sc_dequeue_burst_elem(worker_rig_.events(), events, sizeof(FlowEvent), 64, nullptr)) > 0) {
        result.events_seen += count;
        if (options.keep_events) options.keep_events->insert(options.keep_events->end(), events, events + count);
      }
    }
    // The worker's counters are read only once everything is offered: reading lines it writes
    // on every burst would slow it down.
    // Done when the worker has taken every frame off its rx rings and counted each one: a reading
    // of racing counters alone once ended a run with 480 frames still queued (the next run then
    // saw them). After the stop, the worker finishes the burst in hand before it returns.
    if (all_offered && (iteration & 15) == 0 && rte_ring_count(rx_[0]) + rte_ring_count(rx_[1]) == 0 &&
        finished_packets(counters) - finished_before >= static_cast<int64_t>(offered_total)) {
      end = rte_rdtsc();
      break;
    }
    uint64_t progress = enqueued[0] + enqueued[1] + returned[0] + returned[1];
    if (progress != progress_mark) {
      progress_mark = progress;
      last_progress = now;
    } else if (now - last_progress > stall_limit) {
      result.error = "stalled: offered " + std::to_string(enqueued[0] + enqueued[1]) + " of " +
                     std::to_string(offered_total) + ", worker finished " +
                     std::to_string(finished_packets(counters) - finished_before) +
                     (cyclic ? " (a cyclic schedule lost packets: something was dropped)" : "");
      break;
    }
  }

  const CpuTimes cpu_after = cpu_times();
  if (worker.kind == WorkerKind::sluice) shared.stop.store(true, std::memory_order_relaxed);
  else baseline_stop.store(true, std::memory_order_relaxed);
  rte_eal_wait_lcore(config_.worker_lcore);
  result.lookup_misses = stateful.lookup_misses;  // written by the worker before it returned

  // After the clock: what is left on the tx rings, and the resets back to their pool.
  for (int port = 0; port < kSideCount; ++port) {
    unsigned count;
    while ((count = rte_ring_sc_dequeue_burst(tx_[port], reinterpret_cast<void**>(taken), kFeedBurst, nullptr)) > 0) {
      returned[port] += count;
      if (!cyclic) rte_pktmbuf_free_bulk(taken, count);
    }
  }
  if (!options.on_tick) {
    unsigned count;
    while ((count = rte_ring_sc_dequeue_burst_elem(worker_rig_.events(), events, sizeof(FlowEvent), 64, nullptr)) > 0) {
      result.events_seen += count;
      if (options.keep_events) options.keep_events->insert(options.keep_events->end(), events, events + count);
    }
  }

  CounterSnapshot after = snapshot(counters);
  for (int side = 0; side < kSideCount; ++side) {
    result.offered[side] = enqueued[side];
    result.returned[side] = returned[side];
  }
  result.worker_rx = after.rx - before.rx;
  result.worker_tx = after.tx - before.tx;
  result.resets = after.resets - before.resets;
  result.worker_forwarded = result.worker_tx - result.resets;
  result.flows_created = after.flows - before.flows;
  result.events_dropped = after.events_dropped - before.events_dropped;
  for (int reason = 0; reason < kReasonCount; ++reason) {
    result.dropped_by_reason[reason] = after.dropped[reason] - before.dropped[reason];
    result.verdicts_by_reason[reason] = after.verdicts[reason] - before.verdicts[reason];
    result.worker_dropped += result.dropped_by_reason[reason];
  }
  result.mean_rx_backlog = samples ? double(backlog_sum) / double(samples) : 0;
  result.rx_starved_fraction = samples ? double(starved) / double(samples) : 0;
  if (result.error.empty() && end) {
    result.elapsed_tsc = end - start;
    result.seconds = double(result.elapsed_tsc) / double(hz);
    result.ok = true;
    double foreign = double(cpu_after.machine - cpu_before.machine) - double(cpu_after.self - cpu_before.self);
    double available = result.seconds * double(sysconf(_SC_CLK_TCK)) * double(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    // /proc/stat counts in ticks (10 ms): too coarse to say anything of a shorter run.
    result.foreign_cpu_share = result.seconds >= 0.25 ? std::clamp(foreign / available, 0.0, 1.0) : -1.0;
    if (cyclic && result.resets) {
      result.ok = false;
      result.error = "a cyclic (established) schedule produced resets";
    }
  }
  return result;
}

}  // namespace sluice::bench

#include "dataplane/worker/worker_loop.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/worker/stage/route.h"

namespace sluice {

namespace {

constexpr uint32_t kAgingBudgetBusy = 16;
constexpr uint32_t kAgingBudgetIdle = 512;

uint64_t total_bytes(rte_mbuf* const* packets, uint16_t count) {
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < count; ++i) bytes += rte_pktmbuf_pkt_len(packets[i]);
  return bytes;
}

// Sends `packets` out of `port`, frees what the queue would not take, and counts both.
void transmit(uint16_t port, rte_mbuf** packets, uint16_t count, Side side, WorkerCounters& counters) {
  if (count == 0) return;
  uint64_t bytes = total_bytes(packets, count);  // before tx: the driver owns them afterwards
  uint16_t sent = rte_eth_tx_burst(port, 0, packets, count);
  uint64_t unsent_bytes = sent < count ? total_bytes(packets + sent, count - sent) : 0;
  for (uint16_t i = sent; i < count; ++i) rte_pktmbuf_free(packets[i]);
  bump(counters.tx_packets[static_cast<int>(side)], sent);
  bump(counters.tx_bytes[static_cast<int>(side)], bytes - unsent_bytes);
  if (sent < count) bump(counters.dropped_packets[static_cast<int>(Reason::tx_failed)], count - sent);
}

// One routed-mode loop iteration: every routed port's burst through the router and the
// processor, the control thread's frames, then each port's list out. True when it moved packets.
bool route_iteration(WorkerLoopSetup& setup, const CompiledPolicy* policy, rte_mbuf** received, BurstOutput& out) {
  Router& router = *setup.router;
  auto& counters = *setup.counters;
  if (!router.begin(rte_rdtsc())) return false;  // no routing tables yet: leave frames in the queues
  bool moved_packets = false;
  for (uint8_t port = 0; port < setup.routed_port_count; ++port) {
    uint16_t count = rte_eth_rx_burst(setup.routed_ports[port], 0, received, kBurstSize);
    if (count == 0) continue;
    moved_packets = true;
    counters.last_rx_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
    uint16_t transit = router.before(port, received, count);
    if (transit == 0) continue;
    // The processor's sides are the routed port indexes 0 and 1; a further port (the exception
    // port) is the inside's: what the kernel sends is judged like a workload's traffic.
    const Side side = port == uint8_t(Side::outside) ? Side::outside : Side::inside;
    setup.processor->process_burst(*policy, side, received, transit, out);
    router.after(port, out);
  }
  router.take_control_frames(setup.control_frames);
  RoutedOutput& output = router.output();
  for (uint8_t port = 0; port < setup.routed_port_count; ++port) {
    if (output.count[port] == 0) continue;
    moved_packets = true;
    transmit(setup.routed_ports[port], output.frames[port], output.count[port],
             port < kSideCount ? static_cast<Side>(port) : Side::inside, counters);
    output.count[port] = 0;
  }
  return moved_packets;
}

}  // namespace

bool send_control_frame(rte_ring* control_frames, rte_mbuf* frame, uint8_t port) {
  frame->port = port;
  return control_frames && rte_ring_enqueue(control_frames, frame) == 0;
}

int run_worker_loop(void* arg) {
  auto& setup = *static_cast<WorkerLoopSetup*>(arg);
  auto& shared = *setup.shared;
  auto& counters = *setup.counters;
  rte_rcu_qsbr_thread_register(shared.qsbr, setup.qsbr_thread_id);
  rte_rcu_qsbr_thread_online(shared.qsbr, setup.qsbr_thread_id);

  rte_mbuf* received[kBurstSize];
  BurstOutput out;
  uint64_t iteration_start = rte_rdtsc();
  while (!shared.stop.load(std::memory_order_relaxed)) {
    const CompiledPolicy* policy = shared.policy.load(std::memory_order_acquire);
    bool moved_packets = false;
    if (setup.router) moved_packets = route_iteration(setup, policy, received, out);
    for (int side_index = 0; !setup.router && side_index < kSideCount; ++side_index) {
      auto side = static_cast<Side>(side_index);
      uint16_t count = rte_eth_rx_burst(setup.ports[side_index], 0, received, kBurstSize);
      if (count == 0) continue;
      moved_packets = true;
      counters.last_rx_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
      setup.processor->process_burst(*policy, side, received, count, out);
      auto other = side == Side::inside ? Side::outside : Side::inside;
      transmit(setup.ports[static_cast<int>(other)], out.forward, out.forward_count, other, counters);
      transmit(setup.ports[side_index], out.replies, out.reply_count, side, counters);
    }
    // Idle aging walks a slice of the flow table each iteration: more when there was nothing to
    // do, a little when busy so that a saturated worker still ages its flows.
    setup.processor->expire_idle(moved_packets ? kAgingBudgetBusy : kAgingBudgetIdle, policy);
    // Past this point the worker holds no pointer into any policy generation.
    rte_rcu_qsbr_quiescent(shared.qsbr, setup.qsbr_thread_id);
    bump(counters.loops);
    // Busy ratio: cycles of iterations that moved packets over all cycles (one TSC read a loop).
    uint64_t now = rte_rdtsc();
    bump(counters.cycles, now - iteration_start);
    if (moved_packets) bump(counters.busy_cycles, now - iteration_start);
    iteration_start = now;
  }
  rte_rcu_qsbr_thread_offline(shared.qsbr, setup.qsbr_thread_id);
  rte_rcu_qsbr_thread_unregister(shared.qsbr, setup.qsbr_thread_id);
  return 0;
}

}  // namespace sluice

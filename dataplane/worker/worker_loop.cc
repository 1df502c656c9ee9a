#include "dataplane/worker/worker_loop.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/flow/flow_owner.h"
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

// Sends `packets` out of `port` on `queue`, frees what the queue would not take, and counts both.
void transmit(uint16_t port, uint16_t queue, rte_mbuf** packets, uint16_t count, Side side, WorkerCounters& counters) {
  if (count == 0) return;
  uint64_t bytes = total_bytes(packets, count);  // before tx: the driver owns them afterwards
  uint16_t sent = rte_eth_tx_burst(port, queue, packets, count);
  uint64_t unsent_bytes = sent < count ? total_bytes(packets + sent, count - sent) : 0;
  for (uint16_t i = sent; i < count; ++i) rte_pktmbuf_free(packets[i]);
  bump(counters.tx_packets[static_cast<int>(side)], sent);
  bump(counters.tx_bytes[static_cast<int>(side)], bytes - unsent_bytes);
  if (sent < count) bump(counters.dropped_packets[static_cast<int>(Reason::tx_failed)], count - sent);
}

void transmit(uint16_t port, rte_mbuf** packets, uint16_t count, Side side, WorkerCounters& counters) {
  transmit(port, 0, packets, count, side, counters);
}

// Several workers: `packets` onto a port's tx ring for the worker that holds its queue 0; what
// the ring cannot take is freed, counted tx_ring_full.
void onto_tx_ring(rte_ring* ring, rte_mbuf** packets, uint16_t count, WorkerCounters& counters) {
  const unsigned queued = rte_ring_mp_enqueue_burst(ring, reinterpret_cast<void**>(packets), count, nullptr);
  bump(counters.tx_ring_sent, queued);
  for (uint16_t i = uint16_t(queued); i < count; ++i) rte_pktmbuf_free(packets[i]);
  if (queued < count) bump(counters.dropped_packets[static_cast<int>(Reason::tx_ring_full)], count - queued);
}

// Several workers: out of this worker's own queue of the port, or onto the port's tx ring for
// the worker that holds queue 0.
void send_out(const WorkerLoopSetup& setup, Side side, rte_mbuf** packets, uint16_t count, WorkerCounters& counters) {
  if (count == 0) return;
  const int index = static_cast<int>(side);
  const uint16_t queue = setup.lanes.tx_queue[index];
  if (queue != kNoQueue) return transmit(setup.ports[index], queue, packets, count, side, counters);
  onto_tx_ring(setup.lanes.tx_ring[index], packets, count, counters);
}

// Judges `count` packets that entered on `side` and sends what they leave.
void process_and_send(WorkerLoopSetup& setup, const CompiledPolicy& policy, Side side, rte_mbuf** packets,
                      uint16_t count, BurstOutput& out) {
  if (count == 0) return;
  setup.processor->process_burst(policy, side, packets, count, out);
  auto other = side == Side::inside ? Side::outside : Side::inside;
  send_out(setup, other, out.forward, out.forward_count, *setup.counters);
  send_out(setup, side, out.replies, out.reply_count, *setup.counters);
}

// Software steering: keeps the frames this worker owns at the front of `packets` (in order) and
// hands each of the others to its owner. Returns how many it kept.
uint16_t steer(WorkerLoopSetup& setup, rte_mbuf** packets, uint16_t count) {
  const WorkerLanes& lanes = setup.lanes;
  auto& counters = *setup.counters;
  rte_mbuf* others[kMaxWorkers][kBurstSize];
  uint16_t other_count[kMaxWorkers] = {};
  uint16_t kept = 0;
  for (uint16_t i = 0; i < count; ++i) {
    rte_mbuf* packet = packets[i];
    const uint8_t* bytes = rte_pktmbuf_mtod(packet, const uint8_t*);
    const uint16_t owner = setup.routed_owner ? routed_owner(bytes, rte_pktmbuf_data_len(packet), *setup.routed_owner)
                                              : flow_owner(bytes, rte_pktmbuf_data_len(packet), lanes.worker_count);
    if (owner == lanes.worker_index) packets[kept++] = packet;
    else others[owner][other_count[owner]++] = packet;
  }
  for (uint16_t owner = 0; owner < lanes.worker_count; ++owner) {
    const uint16_t handed = other_count[owner];
    if (handed == 0) continue;
    const unsigned queued = rte_ring_sp_enqueue_burst(lanes.handoff_out[owner], reinterpret_cast<void**>(others[owner]),
                                                      handed, nullptr);
    bump(counters.handoff_sent, queued);
    for (uint16_t i = uint16_t(queued); i < handed; ++i) rte_pktmbuf_free(others[owner][i]);
    if (queued < handed) bump(counters.dropped_packets[static_cast<int>(Reason::handoff_ring_full)], handed - queued);
  }
  return kept;
}

// Software steering's backpressure: while the ring to some owner has no room for a whole burst,
// this worker leaves its queues alone (the port's queue fills and the NIC counts what it cannot
// hold, sluice_ethdev_missed_packets_total) rather than read frames only to drop them; it keeps
// taking what others hand it, so two workers never wait on each other.
bool an_owner_is_behind(const WorkerLanes& lanes) {
  for (uint16_t owner = 0; owner < lanes.worker_count; ++owner)
    if (owner != lanes.worker_index && rte_ring_free_count(lanes.handoff_out[owner]) < kBurstSize) return true;
  return false;
}

// Several workers: the frames other workers handed over, one ring's worth at a time, split by
// the port they came in on (rte_mbuf::port; `first_port` is side 0's DPDK port) and given to
// `judge(side, frames, count)` (count > 0), then `after_ring()`. True when there were any.
template <typename Judge, typename AfterRing>
bool take_handed_frames(WorkerLoopSetup& setup, uint16_t first_port, Judge&& judge, AfterRing&& after_ring) {
  const WorkerLanes& lanes = setup.lanes;
  bool took = false;
  for (uint16_t from = 0; from < lanes.worker_count; ++from) {
    if (from == lanes.worker_index) continue;
    rte_mbuf* handed[kBurstSize];
    const unsigned count = rte_ring_sc_dequeue_burst(lanes.handoff_in[from], reinterpret_cast<void**>(handed),
                                                     kBurstSize, nullptr);
    if (count == 0) continue;
    took = true;
    bump(setup.counters->handoff_received, count);
    setup.counters->last_rx_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
    rte_mbuf* by_side[kSideCount][kBurstSize];
    uint16_t side_count[kSideCount] = {};
    for (unsigned i = 0; i < count; ++i) {
      const int side = handed[i]->port == first_port ? 0 : 1;
      by_side[side][side_count[side]++] = handed[i];
    }
    for (int side = 0; side < kSideCount; ++side)
      if (side_count[side]) judge(side, by_side[side], side_count[side]);
    after_ring();
  }
  return took;
}

// Bridge mode: the frames handed over, judged as if received here.
bool take_handoffs(WorkerLoopSetup& setup, const CompiledPolicy& policy, BurstOutput& out) {
  return take_handed_frames(
      setup, setup.ports[0],
      [&](int side, rte_mbuf** frames, uint16_t count) {
        process_and_send(setup, policy, static_cast<Side>(side), frames, count, out);
      },
      [] {});
}

// The worker holding transmit queue 0 of a port sends what the others put on its tx ring (and
// in routed mode worker 0 what they put on the exception port's).
bool drain_tx_rings(WorkerLoopSetup& setup) {
  bool sent = false;
  auto drain = [&](rte_ring* ring, uint16_t port, uint16_t queue, Side side) {
    rte_mbuf* frames[kBurstSize];
    const unsigned count = rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(frames), kBurstSize, nullptr);
    if (count == 0) return;
    sent = true;
    transmit(port, queue, frames, uint16_t(count), side, *setup.counters);
  };
  for (int side = 0; side < kSideCount; ++side)
    if (setup.lanes.drains_tx_ring[side])
      drain(setup.lanes.tx_ring[side], setup.ports[side], setup.lanes.tx_queue[side], static_cast<Side>(side));
  if (setup.lanes.exception_tx_ring && setup.lanes.worker_index == 0)
    drain(setup.lanes.exception_tx_ring, setup.routed_ports[kExceptionRoutedPort], 0, Side::inside);
  return sent;
}

// Routed mode: one routed port's list out. With one worker, queue 0 of every port; with
// several, this worker's queue of a routed port or its tx ring, and the exception port (one
// queue) from worker 0 or through its ring.
void send_routed(WorkerLoopSetup& setup, uint8_t port, rte_mbuf** frames, uint16_t count) {
  const Side side = port < kSideCount ? static_cast<Side>(port) : Side::inside;
  if (setup.lanes.worker_count == 1) return transmit(setup.routed_ports[port], frames, count, side, *setup.counters);
  if (port < kSideCount) return send_out(setup, side, frames, count, *setup.counters);
  if (setup.lanes.worker_index == 0 || !setup.lanes.exception_tx_ring)
    return transmit(setup.routed_ports[port], frames, count, side, *setup.counters);
  onto_tx_ring(setup.lanes.exception_tx_ring, frames, count, *setup.counters);
}

// Every routed port's collected list out; true when there was any.
bool flush_routed(WorkerLoopSetup& setup) {
  RoutedOutput& output = setup.router->output();
  bool sent = false;
  for (uint8_t port = 0; port < setup.routed_port_count; ++port) {
    if (output.count[port] == 0) continue;
    sent = true;
    send_routed(setup, port, output.frames[port], output.count[port]);
    output.count[port] = 0;
  }
  return sent;
}

// `count` frames from routed port `port` through the router and the processor.
void route_burst(WorkerLoopSetup& setup, const CompiledPolicy* policy, uint8_t port, rte_mbuf** frames, uint16_t count,
                 BurstOutput& out) {
  Router& router = *setup.router;
  const uint16_t transit = router.before(port, frames, count);
  if (transit == 0) return;
  // The processor's sides are the routed port indexes 0 and 1; a further port (the exception
  // port) is the inside's (the router routes the kernel's frames itself; none reach here).
  const Side side = port == uint8_t(Side::outside) ? Side::outside : Side::inside;
  setup.processor->process_burst(*policy, side, frames, transit, out);
  router.after(port, out);
}

// Routed mode, several workers: the frames handed over, by the routed port they came in on,
// each ring's worth sent before the next (the router's lists hold one iteration's bursts).
bool take_routed_handoffs(WorkerLoopSetup& setup, const CompiledPolicy* policy, BurstOutput& out) {
  return take_handed_frames(
      setup, setup.routed_ports[0],
      [&](int port, rte_mbuf** frames, uint16_t count) { route_burst(setup, policy, uint8_t(port), frames, count, out); },
      [&] { flush_routed(setup); });
}

// One routed-mode loop iteration: every routed port's burst through the router and the
// processor, the control thread's frames, then each port's list out. With several workers the
// routed ports' frames go to their owner first (the tap's are the kernel's own, routed by worker
// 0 which reads them), and the frames handed over follow. True when it moved packets.
bool route_iteration(WorkerLoopSetup& setup, const CompiledPolicy* policy, rte_mbuf** received, BurstOutput& out) {
  Router& router = *setup.router;
  auto& counters = *setup.counters;
  if (!router.begin(rte_rdtsc())) return false;  // no routing tables yet: leave frames in the queues
  router.use_policy(policy);
  const WorkerLanes& lanes = setup.lanes;
  bool moved_packets = false;
  // As in bridge mode, the routed port read first alternates when steering: checked before each
  // port, a ring an owner keeps nearly full would otherwise let the inside port's burst take the
  // room every iteration and leave the outside port (the answers) unread. The exception port
  // (worker 0's, not steered) comes last.
  const uint8_t first = lanes.steer ? uint8_t(counters.loops.load(std::memory_order_relaxed) & 1) : 0;
  for (uint8_t turn = 0; turn < setup.routed_port_count; ++turn) {
    const uint8_t port = turn < kSideCount ? uint8_t((first + turn) % kSideCount) : turn;
    const uint16_t queue = port < kSideCount ? lanes.rx_queue[port] : (lanes.worker_index == 0 ? 0 : kNoQueue);
    const bool steered = lanes.steer && port < kSideCount;
    // As in bridge mode: the handoff rings' room before each steered port's burst.
    if (queue == kNoQueue || (steered && an_owner_is_behind(lanes))) continue;
    uint16_t count = rte_eth_rx_burst(setup.routed_ports[port], queue, received, kBurstSize);
    if (count == 0) continue;
    moved_packets = true;
    counters.last_rx_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
    if (steered && (count = steer(setup, received, count)) == 0) continue;
    route_burst(setup, policy, port, received, count, out);
  }
  router.take_control_frames(setup.control_frames);
  if (flush_routed(setup)) moved_packets = true;
  if (lanes.steer && take_routed_handoffs(setup, policy, out)) moved_packets = true;
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
    // Steering: the rings' room is checked before each port's burst (one burst may hand all its
    // frames to one owner, so one check for both ports could overfill a ring: handoff_ring_full),
    // and the port read first alternates, so that a worker kept behind does not always leave the
    // same port unread. With one worker the order stays inside, then outside.
    const int first_side = setup.lanes.steer ? int(counters.loops.load(std::memory_order_relaxed) & 1) : 0;
    for (int turn = 0; !setup.router && turn < kSideCount; ++turn) {
      const int side_index = (first_side + turn) % kSideCount;
      if (setup.lanes.steer && an_owner_is_behind(setup.lanes)) break;
      auto side = static_cast<Side>(side_index);
      const uint16_t queue = setup.lanes.rx_queue[side_index];
      if (queue == kNoQueue) continue;
      uint16_t count = rte_eth_rx_burst(setup.ports[side_index], queue, received, kBurstSize);
      if (count == 0) continue;
      moved_packets = true;
      counters.last_rx_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
      if (setup.lanes.steer) count = steer(setup, received, count);
      process_and_send(setup, *policy, side, received, count, out);
    }
    if (!setup.router && setup.lanes.steer && take_handoffs(setup, *policy, out)) moved_packets = true;
    if (setup.lanes.worker_count > 1 && drain_tx_rings(setup)) moved_packets = true;
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

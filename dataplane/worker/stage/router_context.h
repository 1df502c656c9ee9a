// What the router stage (route.h) and its hooks (local_delivery.h, neighbour_protocol.h,
// address_translation.h) share for routed mode: the setup, this burst's tables, the per-port
// transmit lists and the neighbour ring. One per worker; no allocation, lock or syscall.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/route/neighbour_event.h"
#include "dataplane/route/neighbour_table.h"
#include "dataplane/route/routing_tables.h"
#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/worker_counters.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace sluice {

struct RouterSetup {
  // Published by the control thread (release), read by the worker (acquire) once a burst; the
  // old tables are freed after an RCU grace period (the worker loop reports quiescent states).
  const std::atomic<const RoutingTables*>* tables = nullptr;
  const std::atomic<const NeighbourTable*>* neighbours = nullptr;
  rte_ring* neighbour_events = nullptr;  // NeighbourEvent elements; single producer: this worker
  rte_mempool* reply_pool = nullptr;     // mbufs for the router's ICMP errors (and its hooks' replies)
  WorkerCounters* counters = nullptr;
  // ICMP time exceeded and too big errors a second, together (a token bucket): a flood of
  // expiring or oversized packets cannot turn the appliance into a reflector.
  uint32_t icmp_errors_per_second = 1000;
};

// Frames to send, per routed port (RoutingTables index), collected over one loop iteration.
struct RoutedOutput {
  // A burst forwards at most kBurstForwardCapacity packets and kBurstSize replies; the control
  // thread's frames and the hooks' replies add at most kBurstSize each.
  static constexpr uint16_t kCapacity = kBurstForwardCapacity + 3 * kBurstSize;
  rte_mbuf* frames[kMaxRoutedPorts][kCapacity];
  uint16_t count[kMaxRoutedPorts] = {};

  // False (the caller still owns `frame`) when the port's list is full or `port` is unknown.
  bool add(uint8_t port, rte_mbuf* frame) {
    if (port >= kMaxRoutedPorts || count[port] >= kCapacity) return false;
    frames[port][count[port]++] = frame;
    return true;
  }
};

struct RouterContext {
  explicit RouterContext(const RouterSetup& router_setup) : setup(router_setup) {}
  const RouterSetup& setup;
  const RoutingTables* tables = nullptr;        // this burst's; never null while a burst runs
  const NeighbourTable* neighbours = nullptr;   // this burst's; null before the first is published
  uint64_t now_tsc = 0;                         // the burst's clock
  RoutedOutput output;

  // Sends `frame` out of routed port `port` at the end of the loop iteration; frees it (counted
  // tx_failed) when it cannot.
  void send(uint8_t port, rte_mbuf* frame);
  // Onto the neighbour ring; false (counted neighbour_events_dropped_ring_full) when full.
  bool report(const NeighbourEvent& event);
  // Frees `frame`, counted under `reason`.
  void drop(rte_mbuf* frame, Reason reason);
};

}  // namespace sluice

// WorkerSet: sluiced's workers on rigs of their own, the QSBR variable sized for all of them, and
// the rings between them chosen from the ports' queues (worker_lanes.h); the EAL lcore map.
#include "controlplane/daemon/worker_set.h"

#include <gtest/gtest.h>

#include <rte_rcu_qsbr.h>

#include "dataplane/port/eal.h"

namespace sluice {
namespace {

WorkerRigOptions small_rig() {
  WorkerRigOptions options;
  options.name = "ws";
  options.mbuf_count = 63;
  options.mbuf_cache = 0;
  options.event_ring_size = 16;
  options.learned_ring_size = 16;
  options.flow_capacity = 64;
  return options;
}

struct Made {
  WorkerSet set;
  std::atomic<const LearnedAddressTable*> table{nullptr};
};

void make(Made& made, uint16_t workers) {
  PacketProcessorSetup settings;
  settings.learned_table = &made.table;
  std::string error;
  ASSERT_TRUE(made.set.init(workers, small_rig(), settings, error)) << error;
}

TEST(WorkerSet, EachWorkerItsOwnRigIndexAndQsbrThread) {
  Made made;
  make(made, 3);
  ASSERT_EQ(made.set.size(), 3);
  EXPECT_EQ(made.set.event_rings().size(), 3u);
  EXPECT_EQ(made.set.learned_rings().size(), 3u);
  for (uint16_t worker = 0; worker < 3; ++worker) {
    EXPECT_EQ(made.set.rig(worker).processor().worker_index(), worker);
    EXPECT_EQ(made.set.loop(worker).qsbr_thread_id, worker);
    EXPECT_EQ(made.set.loop(worker).lanes.worker_index, worker);
    for (uint16_t other = 0; other < worker; ++other) {
      EXPECT_NE(made.set.rig(worker).mbufs(), made.set.rig(other).mbufs());
      EXPECT_NE(made.set.rig(worker).events(), made.set.rig(other).events());
      EXPECT_NE(&made.set.rig(worker).flows(), &made.set.rig(other).flows());
    }
  }
  // One QSBR variable, on rig 0, for every worker's thread id.
  ASSERT_NE(made.set.rig(0).qsbr(), nullptr);
  EXPECT_EQ(made.set.rig(1).qsbr(), nullptr);
  for (unsigned thread = 0; thread < 3; ++thread)
    EXPECT_EQ(rte_rcu_qsbr_thread_register(made.set.rig(0).qsbr(), thread), 0) << thread;
  for (unsigned thread = 0; thread < 3; ++thread) rte_rcu_qsbr_thread_unregister(made.set.rig(0).qsbr(), thread);
  std::string error;
  WorkerSet too_many;
  EXPECT_FALSE(too_many.init(17, small_rig(), PacketProcessorSetup{}, error));
}

TEST(WorkerSet, SingleQueuePortsAreSteeredThroughRings) {
  Made made;
  make(made, 2);
  const uint16_t ports[kSideCount] = {4, 5};
  const PortQueues queues[kSideCount] = {{1, 1, false, 0}, {1, 1, false, 0}};
  std::string error;
  ASSERT_TRUE(made.set.connect(ports, queues, false, error)) << error;
  EXPECT_TRUE(made.set.steers());
  const WorkerLanes& first = made.set.loop(0).lanes;
  const WorkerLanes& second = made.set.loop(1).lanes;
  EXPECT_TRUE(first.steer && second.steer);
  EXPECT_EQ(first.rx_queue[0], 0);
  EXPECT_EQ(second.rx_queue[0], kNoQueue);  // the port has one queue: worker 0 polls it
  EXPECT_EQ(second.tx_queue[1], kNoQueue);  // worker 1 sends through the port's tx ring …
  ASSERT_NE(second.tx_ring[1], nullptr);
  EXPECT_EQ(first.tx_ring[1], second.tx_ring[1]);
  EXPECT_TRUE(first.drains_tx_ring[1]);     // … which worker 0 drains
  EXPECT_FALSE(second.drains_tx_ring[1]);
  ASSERT_NE(first.handoff_out[1], nullptr);
  EXPECT_EQ(first.handoff_out[1], second.handoff_in[0]);
  EXPECT_EQ(second.handoff_out[0], first.handoff_in[1]);
  EXPECT_NE(first.handoff_out[1], second.handoff_out[0]);
  EXPECT_EQ(first.handoff_out[0], nullptr);
  EXPECT_EQ(made.set.loop(1).ports[1], 5);
}

TEST(WorkerSet, SymmetricRssOnEveryPortNeedsNoRings) {
  Made made;
  make(made, 2);
  const uint16_t ports[kSideCount] = {4, 5};
  const PortQueues queues[kSideCount] = {{2, 2, true, 128}, {2, 2, true, 128}};
  std::string error;
  ASSERT_TRUE(made.set.connect(ports, queues, false, error)) << error;
  EXPECT_FALSE(made.set.steers());
  for (uint16_t worker = 0; worker < 2; ++worker) {
    const WorkerLanes& lanes = made.set.loop(worker).lanes;
    EXPECT_FALSE(lanes.steer);
    EXPECT_EQ(lanes.rx_queue[0], worker);
    EXPECT_EQ(lanes.tx_queue[1], worker);
    EXPECT_EQ(lanes.tx_ring[0], nullptr);
    EXPECT_EQ(lanes.handoff_out[1 - worker], nullptr);
  }
  // Tables of different sizes may send a flow's two directions to different queues: steered.
  Made uneven;
  make(uneven, 2);
  const PortQueues mixed[kSideCount] = {{2, 2, true, 128}, {2, 2, true, 512}};
  ASSERT_TRUE(uneven.set.connect(ports, mixed, false, error)) << error;
  EXPECT_TRUE(uneven.set.steers());
}

TEST(WorkerSet, RoutedModeAlwaysSteersAndSendsToTheTapThroughWorkerZero) {
  // Symmetric RSS cannot tie a SNAT answer to its client's queue: steered all the same.
  Made made;
  WorkerRigOptions options = small_rig();
  options.neighbour_ring_size = 16;
  options.control_frame_ring_size = 16;
  PacketProcessorSetup settings;
  settings.learned_table = &made.table;
  std::string error;
  ASSERT_TRUE(made.set.init(2, options, settings, error)) << error;
  // Each worker reports neighbour events on a ring of its own; control frames go to worker 0.
  ASSERT_NE(made.set.rig(0).neighbour_events(), nullptr);
  ASSERT_NE(made.set.rig(1).neighbour_events(), nullptr);
  EXPECT_NE(made.set.rig(0).neighbour_events(), made.set.rig(1).neighbour_events());
  EXPECT_NE(made.set.rig(0).control_frames(), nullptr);
  EXPECT_EQ(made.set.rig(1).control_frames(), nullptr);
  const uint16_t ports[kSideCount] = {4, 5};
  const PortQueues queues[kSideCount] = {{2, 2, true, 128}, {2, 2, true, 128}};
  ASSERT_TRUE(made.set.connect(ports, queues, true, error)) << error;
  EXPECT_TRUE(made.set.steers());
  ASSERT_TRUE(made.set.connect_exception_port(error)) << error;
  for (uint16_t worker = 0; worker < 2; ++worker) {
    const WorkerLanes& lanes = made.set.loop(worker).lanes;
    EXPECT_TRUE(lanes.steer);
    EXPECT_EQ(lanes.rx_queue[1], worker);
    ASSERT_NE(lanes.handoff_out[1 - worker], nullptr);
    ASSERT_NE(lanes.exception_tx_ring, nullptr);
    EXPECT_EQ(lanes.exception_tx_ring, made.set.loop(0).lanes.exception_tx_ring);
  }
  // One worker: no ring to the tap, nothing steered.
  Made one;
  WorkerSet& single = one.set;
  ASSERT_TRUE(single.init(1, options, settings, error)) << error;
  ASSERT_TRUE(single.connect(ports, queues, true, error)) << error;
  ASSERT_TRUE(single.connect_exception_port(error)) << error;
  EXPECT_FALSE(single.steers());
  EXPECT_EQ(single.loop(0).lanes.exception_tx_ring, nullptr);
}

TEST(WorkerSet, OneWorkerUsesQueueZeroAndNoRing) {
  Made made;
  make(made, 1);
  const uint16_t ports[kSideCount] = {4, 5};
  const PortQueues queues[kSideCount] = {{1, 1, false, 0}, {1, 1, false, 0}};
  std::string error;
  ASSERT_TRUE(made.set.connect(ports, queues, false, error)) << error;
  const WorkerLanes& lanes = made.set.loop(0).lanes;
  EXPECT_FALSE(lanes.steer);
  EXPECT_EQ(lanes.rx_queue[0], 0);
  EXPECT_EQ(lanes.tx_queue[0], 0);
  EXPECT_EQ(lanes.tx_ring[0], nullptr);
  EXPECT_FALSE(lanes.drains_tx_ring[0]);
}

TEST(EalLcores, LcoresBeyondTheCpusShareThem) {
  EXPECT_EQ(lcores_on_cpus({0, 1}, {0, 1}), "0@0,1@1");
  EXPECT_EQ(lcores_on_cpus({0, 1, 2}, {0, 1}), "0@0,1@1,2@0");
  EXPECT_EQ(lcores_on_cpus({0, 3, 4}, {2, 5}), "0@2,3@5,4@2");
  EXPECT_FALSE(allowed_cpus().empty());
}

}  // namespace
}  // namespace sluice

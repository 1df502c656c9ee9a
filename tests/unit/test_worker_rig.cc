// WorkerRig: a worker's DPDK objects made in one place, named apart, released in order.
#include "dataplane/worker/worker_rig.h"

#include <gtest/gtest.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

namespace sluice {
namespace {

WorkerRigOptions small_rig() {
  WorkerRigOptions options;
  options.name = "t";
  options.mbuf_count = 63;
  options.mbuf_cache = 0;
  options.event_ring_size = 16;
  options.flow_capacity = 64;
  return options;
}

TEST(WorkerRig, MakesTheWorkerOnItsOwnRingsAndBuffers) {
  WorkerRig rig;
  std::string error;
  ASSERT_TRUE(rig.init(small_rig(), PacketProcessorSetup{}, error)) << error;
  EXPECT_NE(rig.mbufs(), nullptr);
  EXPECT_NE(rig.events(), nullptr);
  EXPECT_EQ(rig.learned(), nullptr);  // not asked for
  EXPECT_EQ(rig.qsbr(), nullptr);
  EXPECT_EQ(rig.flows().size(), 0u);
  EXPECT_EQ(read(rig.counters().loops), 0u);
  EXPECT_EQ(rig.processor().worker_index(), 0);
  // The buffers (the processor's replies come from them) are there to take.
  rte_mbuf* buffer = rte_pktmbuf_alloc(rig.mbufs());
  ASSERT_NE(buffer, nullptr);
  rte_pktmbuf_free(buffer);
}

// DPDK names are process-wide: a process (a test, the benchmark, explain run twice) makes
// many rigs of one name side by side.
TEST(WorkerRig, RigsOfOneNameLiveSideBySide) {
  WorkerRig first, second;
  std::string error;
  ASSERT_TRUE(first.init(small_rig(), PacketProcessorSetup{}, error)) << error;
  ASSERT_TRUE(second.init(small_rig(), PacketProcessorSetup{}, error)) << error;
  EXPECT_NE(first.events(), second.events());
  RigWorker extra;
  ASSERT_TRUE(first.make_worker(extra, 64, PacketProcessorSetup{}, error)) << error;
  EXPECT_NE(&extra.flows, &first.flows());
}

TEST(WorkerRig, LearnedRingAndQsbrWhenAskedFor) {
  WorkerRigOptions options = small_rig();
  options.learned_ring_size = 16;
  options.qsbr_threads = 1;
  std::atomic<const LearnedAddressTable*> table{nullptr};
  PacketProcessorSetup settings;
  settings.learned_table = &table;
  WorkerRig rig;
  std::string error;
  ASSERT_TRUE(rig.init(options, settings, error)) << error;
  EXPECT_NE(rig.learned(), nullptr);
  EXPECT_NE(rig.qsbr(), nullptr);
}

// A learned ring nobody publishes a table for would fill up unread: refused.
TEST(WorkerRig, LearnedRingWithoutATableIsRefused) {
  WorkerRigOptions options = small_rig();
  options.learned_ring_size = 16;
  WorkerRig rig;
  std::string error;
  EXPECT_FALSE(rig.init(options, PacketProcessorSetup{}, error));
  EXPECT_NE(error.find("learned-address ring"), std::string::npos) << error;
}

// Released objects are gone from DPDK: their names can be taken again, and release twice is safe.
TEST(WorkerRig, ReleaseFreesEverything) {
  WorkerRig rig;
  std::string error;
  ASSERT_TRUE(rig.init(small_rig(), PacketProcessorSetup{}, error)) << error;
  std::string ring_name = rig.events()->name;
  rig.release();
  EXPECT_EQ(rig.events(), nullptr);
  EXPECT_EQ(rte_ring_lookup(ring_name.c_str()), nullptr);
  rig.release();
}

TEST(WorkerRig, TooManyBuffersSaysSo) {
  WorkerRigOptions options = small_rig();
  options.mbuf_count = 1u << 30;
  WorkerRig rig;
  std::string error;
  EXPECT_FALSE(rig.init(options, PacketProcessorSetup{}, error));
  EXPECT_NE(error.find("packet buffers"), std::string::npos) << error;
}

}  // namespace
}  // namespace sluice

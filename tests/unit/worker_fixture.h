// One worker's packet path on real DPDK objects (mbufs, rte_hash, rte_ring, Hyperscan) for the
// packet-path suites: a PacketProcessor over the test policy, bursts in, frames and events out.
// Suites change the set-up through `adjust`, the table size through `capacity_`.
#pragma once

#include <gtest/gtest.h>

#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "controlplane/policy/cidr.h"
#include "dataplane/policy/learned_addresses.h"
#include "dataplane/worker/packet_processor.h"
#include "tests/unit/bytes.h"
#include "tests/unit/policy_fixture.h"

namespace sluice::test {

class WorkerFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (pool_) return;  // shared by every suite of the binary: mempool names are process-wide
    // Room for a jumbo-free Ethernet frame of any kind the suites send (QUIC datagrams included).
    pool_ = rte_pktmbuf_pool_create("unit_mbufs", 1023, 0, 0, 4096, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }

  void SetUp() override {
    policy_ = compile_text(kTestPolicy);
    ASSERT_NE(policy_, nullptr);
    std::string name = "unit_" + std::to_string(++instance_);
    ring_ = rte_ring_create_elem(("ring_" + name).c_str(), sizeof(FlowEvent), 64, SOCKET_ID_ANY,
                                 RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_NE(ring_, nullptr);
    std::string error;
    ASSERT_TRUE(flows_.init("flows_" + name, capacity_, SOCKET_ID_ANY, error)) << error;
    counters_ = std::make_unique<WorkerCounters>();
    PacketProcessorSetup setup;
    setup.flows = &flows_;
    setup.events = ring_;
    setup.reply_pool = pool_;
    setup.counters = counters_.get();
    setup.emit_allowed_flows = emit_allowed_;
    // The suites' clients resolved their servers first: the default server addresses are bound
    // to an allowed name for every policy (name-address binding), unless a suite says otherwise.
    if (bind_default_servers_) {
      std::vector<LearnedAddressTable::Input> inputs;
      for (const auto& ruleset : policy_->policies)
        for (const char* server : {"198.19.0.80", "2001:db8:ff::443"})
          inputs.push_back({*parse_ip(server), ruleset.counter_slot, "pypi.org", ~0ull});
      const uint64_t consumed[kMaxLearningWorkers] = {};
      bound_table_ = LearnedAddressTable::build(inputs, consumed);
      bound_.store(bound_table_.get());
      setup.learned_table = &bound_;
    }
    adjust(setup);
    processor_ = std::make_unique<PacketProcessor>(setup);
  }

  void TearDown() override {
    release();
    if (processor_) processor_->discard_held();  // the pool is shared by every suite
    rte_ring_free(ring_);
  }

  // Suites change the set-up here (clock, timeouts, learning, QUIC slots).
  virtual void adjust(PacketProcessorSetup&) {}

  // Sends `frames` as one burst received on `side`.
  void burst(Side side, const std::vector<Bytes>& frames) {
    release();
    rte_mbuf* packets[kBurstSize];
    for (size_t i = 0; i < frames.size(); ++i) {
      packets[i] = rte_pktmbuf_alloc(pool_);
      ASSERT_NE(packets[i], nullptr);
      std::memcpy(rte_pktmbuf_append(packets[i], static_cast<uint16_t>(frames[i].size())), frames[i].data(),
                  frames[i].size());
    }
    processor_->process_burst(*policy_, side, packets, static_cast<uint16_t>(frames.size()), out_);
  }

  std::vector<FlowEvent> events() {
    std::vector<FlowEvent> taken(64);
    unsigned count = rte_ring_sc_dequeue_burst_elem(ring_, taken.data(), sizeof(FlowEvent), 64, nullptr);
    taken.resize(count);
    return taken;
  }

  uint64_t dropped(Reason reason) const { return read(counters_->dropped_packets[static_cast<int>(reason)]); }

  Bytes forwarded_bytes(int index) const {
    auto* mbuf = out_.forward[index];
    auto* data = rte_pktmbuf_mtod(mbuf, const uint8_t*);
    return Bytes(data, data + rte_pktmbuf_data_len(mbuf));
  }

  void release() {
    for (uint16_t i = 0; i < out_.forward_count; ++i) rte_pktmbuf_free(out_.forward[i]);
    for (uint16_t i = 0; i < out_.reply_count; ++i) rte_pktmbuf_free(out_.replies[i]);
    out_.forward_count = out_.reply_count = 0;
  }

  static inline rte_mempool* pool_ = nullptr;
  static inline int instance_ = 0;
  uint32_t capacity_ = 1024;
  bool emit_allowed_ = false;
  bool bind_default_servers_ = true;
  std::atomic<const LearnedAddressTable*> bound_{nullptr};
  std::unique_ptr<LearnedAddressTable> bound_table_;
  std::unique_ptr<CompiledPolicy> policy_;
  rte_ring* ring_ = nullptr;
  FlowTable flows_;
  std::unique_ptr<WorkerCounters> counters_;
  std::unique_ptr<PacketProcessor> processor_;
  BurstOutput out_;
};

}  // namespace sluice::test

// The per-packet work of one worker, shared by sluiced's worker loop and `sluicectl replay`:
// parse → flow lookup (bulk, per burst) → judge new flows → act. No allocation, lock, syscall
// or exception here; replies (TCP resets) come from a pre-allocated mempool.
#pragma once

#include <cstdint>

#include "dataplane/flow/flow_table.h"
#include "dataplane/policy/compiled_policy.h"
#include "dataplane/worker/flow_event.h"
#include "dataplane/worker/worker_counters.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace sluice {

inline constexpr uint16_t kBurstSize = 32;

struct BurstOutput {
  rte_mbuf* forward[kBurstSize];  // out of the other side's port
  uint16_t forward_count = 0;
  rte_mbuf* replies[kBurstSize];  // back out of the ingress port (TCP resets)
  uint16_t reply_count = 0;
};

struct PacketProcessorSetup {
  uint16_t worker_index = 0;
  FlowTable* flows = nullptr;
  rte_ring* events = nullptr;         // FlowEvent elements; single producer: this worker
  rte_mempool* reply_pool = nullptr;  // mbufs for resets
  WorkerCounters* counters = nullptr;
  bool emit_allowed_flows = false;    // also send ALLOW verdicts as events (flow log)
};

class PacketProcessor {
 public:
  explicit PacketProcessor(const PacketProcessorSetup& setup) : setup_(setup) {}

  // Judges and sorts `count` (≤ kBurstSize) packets received on `ingress`. Dropped packets are
  // freed here; forwarded ones and replies are handed back in `out` for the caller to send.
  void process_burst(const CompiledPolicy& policy, Side ingress, rte_mbuf** packets, uint16_t count,
                     BurstOutput& out);

  uint16_t worker_index() const { return setup_.worker_index; }

 private:
  struct PacketContext;
  struct FlowFacts;
  struct Decision;
  void handle_packet(const CompiledPolicy& policy, Side ingress, PacketContext& packet, int32_t position,
                     BurstOutput& out);
  Decision judge_destination(const CompiledPolicy& policy, const FlowFacts& facts, FlowEntry& flow) const;
  Decision judge_payload(const CompiledPolicy& policy, const PacketContext& packet, FlowEntry& flow,
                         FlowName& name) const;
  Decision judge_name(const CompiledPolicy& policy, const FlowEntry& flow, const FlowName& name,
                      DestinationType type) const;
  Decision rejudge(const CompiledPolicy& policy, const FlowFacts& facts, FlowEntry& flow, const FlowName& name) const;
  // Applies a decision; returns true when the flow's verdict changed (and an event was sent).
  bool apply(const CompiledPolicy& policy, const Decision& decision, const FlowFacts& facts, FlowEntry& flow,
             const FlowName* name, bool is_first_verdict);
  void emit_event(const FlowEntry& flow, const FlowFacts& facts, const FlowName* name);
  void send_reset(const PacketContext& packet, BurstOutput& out);
  void drop(rte_mbuf* packet, Reason reason);

  PacketProcessorSetup setup_;
  uint64_t next_flow_number_ = 1;
  uint64_t burst_tsc_ = 0;  // rte_rdtsc() at the start of the burst being processed
};

}  // namespace sluice

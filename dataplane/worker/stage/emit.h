// Emit stage: settles a decision on its flow, counts it, and tells the control thread through
// the event ring: every denial, and every verdict when the flow log is on. A full ring is
// counted, never waited on.
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/flow/flow_key.h"
#include "dataplane/flow/flow_table.h"
#include "dataplane/policy/compiled_policy.h"
#include "dataplane/worker/stage/packet_context.h"

namespace sluice {

struct PacketProcessorSetup;

class Emitter {
 public:
  explicit Emitter(const PacketProcessorSetup& setup) : setup_(setup) {}

  // Applies `decision` to `flow` under `policy`; returns true when the flow's verdict changed
  // (and its event was sent). `hello` is the ClientHello the packet at hand completed.
  bool apply(const CompiledPolicy& policy, const Decision& decision, const FlowFacts& facts, FlowEntry& flow,
             const FlowName& name, const HelloFacts& hello, bool is_first_verdict, uint64_t now_tsc);

  // One denied DNS query on an allowed resolver flow (the flow's own verdict stands): recorded
  // as a DNS denial with its query name and the rcode it got (-1: none).
  void emit_dns_denial(const FlowEntry& flow, const FlowFacts& facts, std::string_view query_name, Reason reason,
                       FlowVerdict verdict, int8_t rcode, uint64_t now_tsc, uint16_t rule = kNoRule);

  // A flow aged out while still waiting for its first payload (flow log only).
  void emit_pending(const FlowKey& key, const FlowEntry& flow);
  // A pending flow the aging sweep denied at its deadline (its verdict and reason already set).
  void emit_denied(const FlowKey& key, const FlowEntry& flow);

 private:
  void emit_event(const FlowEntry& flow, const FlowFacts& facts, const FlowName& name, const HelloFacts& hello,
                  std::string_view path, uint64_t now_tsc, uint16_t rule);
  void enqueue(FlowEvent& event);

  const PacketProcessorSetup& setup_;
};

}  // namespace sluice

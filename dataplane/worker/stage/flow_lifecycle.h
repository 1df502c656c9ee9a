// Flow lifecycle stage: finds the packet's flow entry or starts one, reuses the entry of a
// closed TCP connection for a new connection on its 5-tuple, follows TCP state, and ages idle
// flows out. Whether a packet may touch a flow at all (the side it came from) is checked before
// any of this changes state.
#pragma once

#include <cstdint>

#include "dataplane/flow/flow_key.h"
#include "dataplane/flow/flow_table.h"
#include "dataplane/flow/flow_timeouts.h"
#include "dataplane/worker/stage/packet_context.h"
#include "dataplane/worker/stage/refused_flows.h"
#include "dataplane/worker/worker_counters.h"

namespace sluice {

struct PacketProcessorSetup;
class Inspector;
class Emitter;

class FlowLifecycle {
 public:
  FlowLifecycle(const PacketProcessorSetup& setup, uint64_t tsc_hz, Inspector& inspector);

  // The packet's flow, at `position` from the burst's lookup (-1: absent then): returns its
  // position (`is_new` when this packet starts it), or -1 with `refused` set to the reason to
  // drop the packet. Sets the packet's from_initiator.
  int32_t admit(Side ingress, PacketContext& packet, int32_t position, uint64_t now_tsc, bool& is_new,
                Reason& refused);

  // Looks at up to `budget` positions (round robin) and removes the flows idle past their
  // state's timeout; a flow still waiting for its verdict is reported through `emitter`. A
  // pending flow past its deadline (pending_deadline_passed) that sent part of its message or is
  // still active is denied instead (pending_deadline, a record; `policy` tells DROP from
  // DRY_RUN_DENIAL, null: swept as before) and stays until it idles out. Each
  // complete pass over the table also publishes the oldest pending flow's age
  // (WorkerCounters::oldest_pending_age_ms), read off entries the sweep loads anyway.
  uint32_t expire_idle(uint32_t budget, uint64_t now_tsc, Emitter& emitter, const CompiledPolicy* policy);

  // In use and not idle past its state's timeout (the aging sweep may not have reached it yet).
  bool live(const FlowEntry& flow, uint64_t now_tsc) const { return flow.in_use && !idle_past_timeout(flow, now_tsc); }

  // A TLS/HTTP flow still waiting for its verdict longer than its deadline allows.
  bool pending_deadline_passed(const FlowEntry& flow, uint64_t now_tsc) const {
    return timeouts_.pending_deadline_passed(flow, now_tsc);
  }

 private:
  bool idle_past_timeout(const FlowEntry& flow, uint64_t now_tsc) const {
    return now_tsc > flow.last_seen_tsc && now_tsc - flow.last_seen_tsc > timeouts_.idle_limit(flow, flow.protocol);
  }
  void count_expiry(FlowEntry& flow);  // counts an idle flow's end and frees its reassembly slot
  void finish_pass();                  // publishes the pass's oldest pending age and starts anew
  void deny_at_deadline(const CompiledPolicy& policy, const FlowKey& key, FlowEntry& flow, Emitter& emitter);

  const PacketProcessorSetup& setup_;
  FlowTable& flows_;
  WorkerCounters& counters_;
  Inspector& inspector_;
  FlowTimeouts timeouts_;
  uint64_t next_flow_number_ = 1;
  uint32_t aging_cursor_ = 0;
  uint64_t tsc_hz_;
  uint32_t pass_oldest_pending_ticks_ = 0;  // the largest pending age (flow ticks) seen this pass
  RefusedFlows refused_;
};

}  // namespace sluice

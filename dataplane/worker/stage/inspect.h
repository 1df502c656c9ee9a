// Inspect stage: a TLS or HTTP flow is judged on the name in its first bytes (ClientHello SNI,
// request Host). The first segment is parsed where it lies; only a message spread over several
// segments (or out of order) is reassembled, in a slot of a fixed pool.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "dataplane/flow/flow_table.h"
#include "dataplane/flow/stream_reassembler.h"
#include "dataplane/policy/compiled_policy.h"
#include "dataplane/worker/stage/packet_context.h"

namespace sluice {

struct PacketProcessorSetup;
class Judge;

class Inspector {
 public:
  // Allocates the reassembly slots and the ClientHello scratch (control side, at start).
  Inspector(const PacketProcessorSetup& setup, const Judge& judge);

  // The payload of a pending flow's initiator; undecided while its message is incomplete. Sets
  // the packet's onward_seq when the message is being reassembled, and its hello facts when a
  // ClientHello was parsed.
  Decision inspect_payload(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow, FlowName& name,
                           const FlowFacts& facts, uint64_t now_tsc);

  // Frees the flow's reassembly slot, if it holds one.
  void release(FlowEntry& flow) {
    if (flow.reassembly_slot < 0) return;
    reassembler_.release(flow.reassembly_slot);
    flow.reassembly_slot = kNoReassemblySlot;
  }

 private:
  Decision judge_stream(const CompiledPolicy& policy, std::span<const uint8_t> stream, bool stream_is_whole,
                        PacketContext& packet, FlowEntry& flow, FlowName& name, const FlowFacts& facts,
                        uint64_t now_tsc);

  const PacketProcessorSetup& setup_;
  const Judge& judge_;
  StreamReassembler reassembler_;
  std::unique_ptr<uint8_t[]> hello_scratch_;  // joins a ClientHello spread over TLS records
};

}  // namespace sluice

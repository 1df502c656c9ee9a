// Judge stage: a flow's destination against the compiled policy. A new flow is judged on its
// address, port and resolver (or handed to the inspect stage for its name); an address learned
// from DNS is judged on the name it was learned for; a flow already judged is judged again when
// a new policy generation arrives, from what its first judgement kept.
#pragma once

#include <cstdint>

#include "dataplane/flow/flow_table.h"
#include "dataplane/policy/compiled_policy.h"
#include "dataplane/worker/stage/packet_context.h"

namespace sluice {

struct PacketProcessorSetup;
class DnsLearner;

class Judge {
 public:
  Judge(const PacketProcessorSetup& setup, const DnsLearner& learner) : setup_(setup), learner_(learner) {}

  // A new flow: sets its attachment and policy and judges what needs no payload.
  Decision judge_destination(const CompiledPolicy& policy, const FlowFacts& facts, FlowEntry& flow, FlowName& name,
                             uint64_t now_tsc) const;
  // A flow judged under an older generation, judged again under `policy`.
  Decision rejudge(const CompiledPolicy& policy, const FlowFacts& facts, FlowEntry& flow, FlowName& name,
                   uint64_t now_tsc) const;
  // The name in `name` against the flow's policy.
  Decision judge_name(const CompiledPolicy& policy, const FlowEntry& flow, const FlowName& name, DestinationType type,
                      uint16_t port) const;
  // A nameless ClientHello the policy lets through on its address.
  // `type` is the record's type when it stays denied (SNI or QUIC_SNI).
  Decision judge_address_instead(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                                 FlowName& name, Reason otherwise, DestinationType type, uint64_t now_tsc) const;

 private:
  Decision judge_learned(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow, FlowName& name,
                         uint64_t now_tsc) const;

  const PacketProcessorSetup& setup_;
  const DnsLearner& learner_;
};

}  // namespace sluice

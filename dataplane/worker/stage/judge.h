// Judge stage: a flow's destination against the compiled policy. A new flow is judged on its
// address, port and resolver (or handed to the inspect stage for its name); an address learned
// from DNS is judged on the name it was learned for; a flow already judged is judged again when
// a new policy generation arrives, from what its first judgement kept.
#pragma once

#include <cstdint>
#include <string_view>

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
  // The name in `name` (SNI, Host or QUIC SNI) against the flow's policy AND the destination
  // address: allowed only when some DNS answer the appliance saw, within TTL + grace, gave
  // `facts.responder` for a name this policy allows on `port` (bound()); else denied
  // name_address_mismatch, or passed as allowed_unbound_name when the policy says so.
  Decision judge_bound_name(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                            const FlowName& name, DestinationType type, uint16_t port, uint64_t now_tsc) const;
  // A nameless ClientHello the policy lets through on its address.
  // `type` is the record's type when it stays denied (SNI or QUIC_SNI).
  Decision judge_address_instead(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                                 FlowName& name, Reason otherwise, DestinationType type, uint64_t now_tsc) const;

 private:
  // Whether the destination is bound: learned from DNS for a name the policy allows on `port`.
  bool bound(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow, uint16_t port,
             uint64_t now_tsc) const;
  // The name `facts.responder` was learned for by the flow's policy (published table, then this
  // worker's answers not yet published); empty when none is live.
  std::string_view learned_name(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                                uint64_t now_tsc) const;
  Decision judge_learned(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow, FlowName& name,
                         uint64_t now_tsc) const;

  const PacketProcessorSetup& setup_;
  const DnsLearner& learner_;
};

}  // namespace sluice

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
  // The name read from the flow (SNI, Host, QUIC SNI) and its address in one priority order:
  // the lowest-numbered rule matching either decides, below them the allow lists, where an
  // allowed network decides before an allowed name (docs/POLICY.md, "Rules with priorities").
  Decision judge_read_name(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                           const FlowName& name, DestinationType type, uint16_t port) const;
  // What the flow's address rules alone decide (numbered rules and allowed_networks), or an
  // undecided Decision when none matches: for a flow without a name.
  Decision address_rule(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow) const;
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

// A name allowed on a storage path-style endpoint's rule (decision.storage_endpoint set) whose
// request's bucket cannot be seen (TLS, QUIC, a CONNECT tunnel): allowed_storage_path_style
// when the policy opts in, else storage_path_style_not_allowed.
void judge_path_style_unseen(Decision& decision);
// The same over plain HTTP, where the bucket is in the request target's `path`: it must be one
// the policy lists for the endpoint's provider, else storage_bucket_not_allowed. Sets
// the decision's path (keep_path) for the record.
void judge_storage_path(const CompiledRuleset& rules, std::string_view path, Decision& decision);

}  // namespace sluice

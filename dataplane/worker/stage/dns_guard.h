// DNS guard stage: every DNS message a client sends to a resolver its policy allows is judged
// on its query name, message by message (a UDP 5-tuple carries many queries, a TCP connection
// many length-prefixed messages). A name the policy allows on some port passes (the same
// CompiledRuleset::judge_name_on_any_port that learning asks, so a name a numbered DENY rule
// takes off every port is denied dns_name_denied_by_rule), and so does a resolvable name (and
// reverse lookups where the policy says so); anything else, and anything that is not one
// well-formed query, is denied by a named reason and recorded as a DNS denial with its name and
// the rcode it got. Passing queries are remembered, so that only their answers teach addresses
// (learn stage). See docs/POLICY.md, DNS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/dns_query_parser.h"
#include "dataplane/policy/compiled_policy.h"
#include "dataplane/worker/stage/packet_context.h"

namespace sluice {

struct PacketProcessorSetup;
class DnsLearner;
class Emitter;

// What the packet at hand gets. Only `drop` needs action (DRY_RUN denials pass, recorded).
struct DnsQueryOutcome {
  bool drop = false;
  Reason reason = Reason::dns_name_not_allowed;
  int8_t rcode = -1;        // UDP: the answer to build (NXDOMAIN or REFUSED); -1: none
  size_t question_end = 0;  // UDP: the end of the question the answer echoes
};

class DnsGuard {
 public:
  DnsGuard(const PacketProcessorSetup& setup, DnsLearner& learner, Emitter& emitter)
      : setup_(setup), learner_(learner), emitter_(emitter) {}

  // A payload packet from the client of a flow allowed to a resolver (allowed_dns_resolver).
  DnsQueryOutcome judge_client_packet(const CompiledPolicy& policy, const PacketContext& packet,
                                      const FlowEntry& flow, uint64_t now_tsc);

 private:
  // One message: true when it passes (allowed, or denied in DRY_RUN).
  bool judge_message(const CompiledPolicy& policy, std::span<const uint8_t> message, const FlowEntry& flow,
                     const FlowFacts& facts, uint64_t now_tsc, DnsQueryOutcome& outcome);
  // Whether the query's name may be resolved; `judgement` says which rule decided when a rule did.
  bool name_allowed(const CompiledPolicy& policy, const CompiledRuleset& rules, const DnsQueryInfo& query,
                    NameJudgement& judgement) const;
  bool deny(const CompiledPolicy& policy, const FlowEntry& flow, const FlowFacts& facts, const DnsQueryInfo* query,
            Reason reason, bool answerable, uint64_t now_tsc, DnsQueryOutcome& outcome, uint16_t rule = kNoRule);

  const PacketProcessorSetup& setup_;
  DnsLearner& learner_;
  Emitter& emitter_;
};

}  // namespace sluice

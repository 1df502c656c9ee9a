#include "dataplane/worker/stage/dns_guard.h"

#include "dataplane/parse/byte_reader.h"
#include "dataplane/verdict/dns_refusal.h"
#include "dataplane/worker/packet_processor.h"

namespace sluice {

namespace {

constexpr size_t kTcpLengthPrefix = 2;

Reason reason_for(DnsQueryStatus status) {
  switch (status) {
    case DnsQueryStatus::not_one_question: return Reason::dns_query_not_one_question;
    case DnsQueryStatus::invalid_name: return Reason::dns_query_invalid_name;
    default: return Reason::dns_query_malformed;
  }
}

FlowFacts facts_of(const ParsedPacket& parsed) {
  FlowFacts facts;  // the client sent this packet
  facts.initiator = parsed.src;
  facts.responder = parsed.dst;
  facts.initiator_port = parsed.src_port;
  facts.responder_port = parsed.dst_port;
  facts.protocol = parsed.l4_protocol;
  return facts;
}

}  // namespace

DnsQueryOutcome DnsGuard::judge_client_packet(const CompiledPolicy& policy, const PacketContext& packet,
                                              const FlowEntry& flow, uint64_t now_tsc) {
  DnsQueryOutcome outcome;
  const auto& parsed = packet.parsed;
  const FlowFacts facts = facts_of(parsed);
  auto payload = packet.frame.subspan(parsed.payload_offset, parsed.payload_length);
  if (parsed.l4_protocol == kIpProtoUdp) {
    // A fragmented query would be judged on its first piece while the rest followed unread.
    if (parsed.is_fragment) {
      deny(policy, flow, facts, nullptr, Reason::dns_query_malformed, false, now_tsc, outcome);
      return outcome;
    }
    judge_message(policy, payload, flow, facts, now_tsc, outcome);
    return outcome;
  }
  // TCP: whole length-prefixed messages, each judged; a message cut by the segment's end would
  // leave bytes unread that the resolver then reads as the start of the next one.
  size_t position = 0;
  while (position < payload.size()) {
    if (payload.size() - position < kTcpLengthPrefix ||
        payload.size() - position - kTcpLengthPrefix < load_be16(payload.data() + position)) {
      deny(policy, flow, facts, nullptr, Reason::dns_tcp_message_split, false, now_tsc, outcome);
      return outcome;
    }
    const size_t length = load_be16(payload.data() + position);
    auto message = payload.subspan(position + kTcpLengthPrefix, length);
    position += kTcpLengthPrefix + length;
    if (!judge_message(policy, message, flow, facts, now_tsc, outcome)) return outcome;
  }
  return outcome;
}

bool DnsGuard::judge_message(const CompiledPolicy& policy, std::span<const uint8_t> message, const FlowEntry& flow,
                             const FlowFacts& facts, uint64_t now_tsc, DnsQueryOutcome& outcome) {
  DnsQueryInfo query;
  const DnsQueryStatus status = parse_dns_query(message, query);
  if (status != DnsQueryStatus::ok) return deny(policy, flow, facts, nullptr, reason_for(status), false, now_tsc, outcome);
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  DnsTransaction transaction;
  transaction.client = facts.initiator;
  transaction.resolver = facts.responder;
  transaction.client_port = facts.initiator_port;
  transaction.resolver_port = facts.responder_port;
  transaction.protocol = facts.protocol;
  transaction.id = query.id;
  transaction.query_type = query.query_type;
  transaction.query_class = query.query_class;
  transaction.name = {query.name, query.name_length};
  NameJudgement judgement;
  if (name_allowed(policy, rules, query, judgement)) {
    bump(setup_.counters->dns_queries_allowed);
    learner_.expect_answer(transaction, now_tsc);
    return true;
  }
  const Reason reason = judgement.matched ? Reason::dns_name_denied_by_rule : Reason::dns_name_not_allowed;
  const bool passes = deny(policy, flow, facts, &query, reason, true, now_tsc, outcome, judgement.rule);
  if (passes) learner_.expect_answer(transaction, now_tsc);  // DRY_RUN: its answer is no stranger
  else outcome.question_end = query.question_end;
  return passes;
}

// The policy's one answer to "may this name be used?" (judge_name_on_any_port, which judging,
// binding and learning ask too), then resolvable_names, which may resolve what no rule allows
// or a DENY rule takes away.
bool DnsGuard::name_allowed(const CompiledPolicy& policy, const CompiledRuleset& rules, const DnsQueryInfo& query,
                            NameJudgement& judgement) const {
  const std::string_view name(query.name, query.name_length);
  hs_scratch_t* scratch = policy.scratch[setup_.worker_index];
  judgement = rules.judge_name_on_any_port(name, scratch);
  if (judgement.allowed) return true;
  if (rules.resolvable_names && rules.resolvable_names->match(name, scratch) != kNoDomainMatch) return true;
  return rules.dns_reverse_lookups && query.query_type == kDnsTypePtr && is_reverse_lookup_name(name);
}

// Records the denial and says whether the message passes anyway (DRY_RUN).
bool DnsGuard::deny(const CompiledPolicy& policy, const FlowEntry& flow, const FlowFacts& facts,
                    const DnsQueryInfo* query, Reason reason, bool answerable, uint64_t now_tsc,
                    DnsQueryOutcome& outcome, uint16_t rule) {
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  const bool enforce = policy.attachments[flow.attachment_index].enforcement == Enforcement::enforce;
  int8_t rcode = -1;
  // Over TCP the answer would have to join the stream the resolver is writing: the connection
  // is reset instead. A message that is no query has no question to answer.
  if (answerable && facts.protocol == kIpProtoUdp) {
    if (rules.dns_denial == DnsDenial::nxdomain) rcode = int8_t(kDnsRcodeNxdomain);
    else if (rules.dns_denial == DnsDenial::refused) rcode = int8_t(kDnsRcodeRefused);
  }
  bump(setup_.counters->dns_queries_denied);
  emitter_.emit_dns_denial(flow, facts, query ? std::string_view(query->name, query->name_length) : std::string_view{},
                           reason, enforce ? FlowVerdict::denied_enforced : FlowVerdict::denied_dry_run, rcode,
                           now_tsc, rule);
  if (!enforce) return true;
  outcome.drop = true;
  outcome.reason = reason;
  outcome.rcode = rcode;
  return false;
}

}  // namespace sluice

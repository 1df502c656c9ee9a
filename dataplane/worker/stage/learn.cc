#include "dataplane/worker/stage/learn.h"

#include <algorithm>
#include <cstring>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/parse/dns_message_parser.h"
#include "dataplane/worker/packet_processor.h"

namespace sluice {

DnsLearner::DnsLearner(const PacketProcessorSetup& setup, uint64_t tsc_hz) : setup_(setup), tsc_hz_(tsc_hz) {
  pending_.init(setup_.dns_pending_queries, uint64_t(setup_.dns_answer_deadline_seconds) * tsc_hz_);
  if (setup_.recent_answers && setup_.worker_index < kMaxLearningWorkers) {
    rows_ = setup_.recent_answers->rows;
    row_count_ = kMaxLearningWorkers;
    my_row_ = setup_.worker_index;
  } else {
    own_row_ = std::make_unique<RecentAnswerRow>();
    rows_ = own_row_.get();
  }
}

void DnsLearner::expect_answer(const DnsTransaction& query, uint64_t now_tsc) {
  if (pending_.remember(query, now_tsc)) bump(setup_.counters->dns_pending_evicted);
}

// An answer from a resolver the policy allows, to one of its hosts: when the queried name is
// an allowed domain, the addresses it (or its CNAME chain) resolves to become usable by this
// policy's hosts on the ports the domain's rules allow.
void DnsLearner::learn_from_answer(const CompiledPolicy& policy, const PacketContext& packet, const FlowEntry& flow,
                                   uint64_t now_tsc) {
  if (!setup_.learned) return;
  auto& counters = *setup_.counters;
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  if (rules.access_mode == AccessMode::full || !rules.domains) return;
  const auto& parsed = packet.parsed;
  auto payload = packet.frame.subspan(parsed.payload_offset, parsed.payload_length);
  DnsAnswerInfo answer;
  DnsParseStatus status = parsed.l4_protocol == kIpProtoUdp ? parse_dns_response(payload, answer)
                                                            : parse_dns_tcp_response(payload, answer);
  if (status != DnsParseStatus::ok) {
    bump(counters.dns_answers_unparsed);
    return;
  }
  bump(counters.dns_answers_parsed);
  // Only the answer to a query this worker forwarded teaches: same client and resolver, ports,
  // protocol, id and question, before the deadline. Anything else was not asked for.
  DnsTransaction transaction;
  transaction.client = parsed.dst;
  transaction.resolver = parsed.src;
  transaction.client_port = parsed.dst_port;
  transaction.resolver_port = parsed.src_port;
  transaction.protocol = parsed.l4_protocol;
  transaction.id = answer.id;
  transaction.query_type = answer.query_type;
  transaction.query_class = answer.query_class;
  transaction.name = {answer.query_name, answer.query_name_length};
  switch (pending_.take(transaction, now_tsc)) {
    case DnsAnswerMatch::answered: break;
    case DnsAnswerMatch::no_query: bump(counters.dns_answers_unsolicited); return;
    case DnsAnswerMatch::question_differs: bump(counters.dns_answers_question_mismatch); return;
    case DnsAnswerMatch::late: bump(counters.dns_answers_late); return;
  }
  // The matcher frames names with \x01/\x02 boundary bytes: a name holding them (or any byte
  // a host name cannot) could match rules it does not name.
  if (answer.name_outside_hostname_syntax) {
    bump(counters.dns_answers_bad_name);
    return;
  }
  if (answer.address_count == 0 || answer.query_name_length == 0) return;
  // The same answer DNS queries get (judge_name_on_any_port): a name a DENY rule takes off
  // every port teaches nothing, even when an allow rule below it matches the name.
  if (!rules.judge_name_on_any_port({answer.query_name, answer.query_name_length}, policy.scratch[setup_.worker_index])
           .allowed) {
    bump(counters.dns_answers_name_not_allowed);
    return;
  }
  const auto& limits = setup_.dns_learning;
  for (uint8_t i = 0; i < answer.address_count; ++i) {
    uint32_t ttl = std::min(answer.addresses[i].ttl, answer.chain_ttl);
    ttl = std::clamp(ttl, limits.min_ttl, std::max(limits.min_ttl, limits.max_ttl));
    LearnedAddressEvent event;
    event.tsc = now_tsc;
    event.address = answer.addresses[i].address;
    event.ttl_seconds = ttl;
    event.expires_tsc = now_tsc + uint64_t(ttl + limits.grace) * tsc_hz_;
    event.policy_slot = rules.counter_slot;
    event.worker_index = setup_.worker_index;
    event.name_length = answer.query_name_length;
    std::memcpy(event.name, answer.query_name, answer.query_name_length);
    event.sequence = learned_sequence_ + 1;
    if (rte_ring_sp_enqueue_elem(setup_.learned, &event, sizeof event) != 0) {
      bump(counters.dns_learned_dropped_ring_full);
      continue;
    }
    ++learned_sequence_;
    bump(counters.dns_addresses_learned);
    // Before the answer is forwarded (after this burst): the client's SYN, on whichever
    // worker, finds it.
    RecentAnswer recent;
    recent.sequence = event.sequence;
    recent.expires_tsc = event.expires_tsc;
    recent.address = event.address;
    recent.policy_slot = event.policy_slot;
    recent.name_length = event.name_length;
    std::memcpy(recent.name, event.name, event.name_length);
    rows_[my_row_].publish(recent);
  }
}

std::string_view DnsLearner::recent_name(const LearnedAddressTable* table, uint16_t policy_slot,
                                         const IpAddress& address, uint64_t now_tsc) const {
  for (uint16_t row = 0; row < row_count_; ++row) {
    const uint16_t worker = own_row_ ? my_row_ : row;  // own_row_: the row of this worker's answers
    const uint64_t consumed = table ? table->consumed(worker) : 0;
    if (rows_[row].find(consumed, policy_slot, address, now_tsc, found_)) return {found_.name, found_.name_length};
  }
  return {};
}

}  // namespace sluice

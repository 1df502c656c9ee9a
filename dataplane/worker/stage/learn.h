// Learn stage: DNS answers from allowed resolvers, for allowed names, become learned addresses.
// Each is sent to the control thread (which publishes the table every worker reads) and kept
// among the recently learned (recent_answers.h: a row every worker can read), so that the
// client's SYN, which follows the answer at once and may land on another worker, is judged on it
// before the control thread's table catches up.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "dataplane/domain/hostname.h"
#include "dataplane/flow/dns_pending_queries.h"
#include "dataplane/policy/compiled_policy.h"
#include "dataplane/policy/recent_answers.h"
#include "dataplane/worker/stage/packet_context.h"

namespace sluice {

struct PacketProcessorSetup;

class DnsLearner {
 public:
  DnsLearner(const PacketProcessorSetup& setup, uint64_t tsc_hz);

  // A query the appliance forwarded (DNS guard stage): its answer may teach.
  void expect_answer(const DnsTransaction& query, uint64_t now_tsc);

  // An answer to one of the flow's hosts, on an allowed flow to a resolver, that arrived from
  // the outside port. It teaches only when it answers a query expect_answer() was told of.
  void learn_from_answer(const CompiledPolicy& policy, const PacketContext& packet, const FlowEntry& flow,
                         uint64_t now_tsc);

  // The name `address` was learned for, by any worker (this one only without a shared board),
  // for the policy with counter slot `policy_slot`, among answers `table` (may be null) does not
  // hold yet; empty when none. Valid until the next call.
  std::string_view recent_name(const LearnedAddressTable* table, uint16_t policy_slot, const IpAddress& address,
                               uint64_t now_tsc) const;

  // Sequence number of the last answer sent to the control thread.
  uint64_t sequence() const { return learned_sequence_; }

 private:
  const PacketProcessorSetup& setup_;
  uint64_t tsc_hz_;
  DnsPendingQueries pending_;
  uint64_t learned_sequence_ = 0;
  // The rows of every worker (setup's recent_answers), or this worker's own row alone.
  std::unique_ptr<RecentAnswerRow> own_row_;
  RecentAnswerRow* rows_ = nullptr;
  uint16_t row_count_ = 1;
  uint16_t my_row_ = 0;
  mutable RecentAnswer found_;  // what recent_name returns a view of
};

}  // namespace sluice

// Learn stage: DNS answers from allowed resolvers, for allowed names, become learned addresses.
// Each is sent to the control thread (which publishes the table every worker reads) and kept
// here among the recently learned, so that the client's SYN, which follows the answer at once,
// is judged on it before the control thread's table catches up.
#pragma once

#include <cstdint>
#include <string_view>

#include "dataplane/domain/hostname.h"
#include "dataplane/flow/dns_pending_queries.h"
#include "dataplane/policy/compiled_policy.h"
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

  // The name `address` was learned for by this worker for the policy with counter slot
  // `policy_slot`, among answers the control thread has not published yet (sequence above
  // `consumed`); empty when none.
  std::string_view recent_name(uint64_t consumed, uint16_t policy_slot, const IpAddress& address,
                               uint64_t now_tsc) const;

  // Sequence number of the last answer sent to the control thread.
  uint64_t sequence() const { return learned_sequence_; }

 private:
  struct RecentlyLearned {
    uint64_t sequence = 0;  // 0: empty
    uint64_t expires_tsc = 0;
    IpAddress address;
    uint16_t policy_slot = 0;
    uint8_t name_length = 0;
    char name[kMaxHostnameLength];
  };
  static constexpr int kRecentlyLearned = 64;

  const PacketProcessorSetup& setup_;
  uint64_t tsc_hz_;
  DnsPendingQueries pending_;
  uint64_t learned_sequence_ = 0;
  RecentlyLearned recently_learned_[kRecentlyLearned];
  int recently_learned_next_ = 0;
};

}  // namespace sluice

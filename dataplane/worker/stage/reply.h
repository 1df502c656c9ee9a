// Reply stage: tells both ends of a denied flow, so that clients fail in milliseconds instead
// of timing out: a TCP reset or an ICMP error back to the sender, and a reset on to the far end
// of a TCP flow whose server has answered. Replies come from a pre-allocated mempool; retries of
// a denied flow are answered within a rate (token bucket on the burst clock).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/worker/stage/packet_context.h"

struct rte_mbuf;

namespace sluice {

struct PacketProcessorSetup;
struct BurstOutput;

class Replier {
 public:
  Replier(const PacketProcessorSetup& setup, uint64_t tsc_hz);

  // The packet at hand belongs to a flow denied in enforce mode (and is about to be dropped).
  void tell_endpoints(const PacketContext& packet, const FlowEntry& flow, uint64_t now_tsc, BurstOutput& out);

  // A UDP DNS query denied on its name (and about to be dropped): the appliance's own answer,
  // `rcode` (NXDOMAIN or REFUSED) to the question that ends at `question_end` of its payload.
  void answer_dns(const PacketContext& packet, size_t question_end, uint8_t rcode, BurstOutput& out);

 private:
  template <typename Build>
  bool send_built(Build build, rte_mbuf** list, uint16_t& count);
  void send_reset(const PacketContext& packet, BurstOutput& out);
  void send_onward_reset(const PacketContext& packet, uint32_t seq, BurstOutput& out);
  void send_icmp_unreachable(const PacketContext& packet, BurstOutput& out);
  bool take_reply_token(uint64_t now_tsc);

  const PacketProcessorSetup& setup_;
  uint64_t tsc_hz_;
  double reply_tokens_ = 0;
  uint64_t reply_tokens_tsc_ = 0;
};

}  // namespace sluice

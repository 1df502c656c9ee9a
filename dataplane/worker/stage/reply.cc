#include "dataplane/worker/stage/reply.h"

#include <algorithm>

#include <rte_mbuf.h>

#include "dataplane/verdict/dns_refusal.h"
#include "dataplane/verdict/icmp_unreachable.h"
#include "dataplane/verdict/tcp_reset.h"
#include "dataplane/worker/packet_processor.h"

namespace sluice {

Replier::Replier(const PacketProcessorSetup& setup, uint64_t tsc_hz) : setup_(setup), tsc_hz_(tsc_hz) {
  reply_tokens_ = setup_.deny_replies_per_second;
}

// A reset (TCP) or an ICMP error (UDP) back to the sender when this packet denied the flow, and
// for a TCP flow whose server has answered the handshake, a reset on to the far end in the
// sender's name. Retries of a denied flow (a SYN again, another datagram) are answered again,
// within a rate.
void Replier::tell_endpoints(const PacketContext& packet, const FlowEntry& flow, uint64_t now_tsc,
                             BurstOutput& out) {
  const auto& parsed = packet.parsed;
  if (parsed.l4_protocol == kIpProtoTcp) {
    if (parsed.tcp_flags & kTcpRst) return;
    if (packet.decided_now) {
      send_reset(packet, out);
      if (flow.tcp_flags_seen & kSeenServerSynAck) send_onward_reset(packet, packet.onward_seq, out);
    } else if (packet.from_initiator && (parsed.tcp_flags & kTcpSyn) && take_reply_token(now_tsc)) {
      send_reset(packet, out);
    }
  } else if (parsed.l4_protocol == kIpProtoUdp && packet.from_initiator) {
    if (packet.decided_now || take_reply_token(now_tsc)) send_icmp_unreachable(packet, out);
  }
}

bool Replier::take_reply_token(uint64_t now_tsc) {
  const double rate = setup_.deny_replies_per_second;
  if (tsc_hz_ && now_tsc > reply_tokens_tsc_) {
    reply_tokens_ = std::min(rate, reply_tokens_ + double(now_tsc - reply_tokens_tsc_) * rate / double(tsc_hz_));
    reply_tokens_tsc_ = now_tsc;
  }
  if (reply_tokens_ < 1) {
    bump(setup_.counters->replies_rate_limited);
    return false;
  }
  reply_tokens_ -= 1;
  return true;
}

// Builds a frame into a fresh mbuf of the reply pool and appends it to `list`; false (and the
// mbuf back in the pool) when there is no mbuf or the builder refuses (returns 0).
template <typename Build>
bool Replier::send_built(Build build, rte_mbuf** list, uint16_t& count) {
  rte_mbuf* frame = setup_.reply_pool ? rte_pktmbuf_alloc(setup_.reply_pool) : nullptr;
  if (!frame) return false;
  size_t length = build(std::span<uint8_t>{rte_pktmbuf_mtod(frame, uint8_t*), rte_pktmbuf_tailroom(frame)});
  if (length == 0) {
    rte_pktmbuf_free(frame);
    return false;
  }
  frame->data_len = static_cast<uint16_t>(length);
  frame->pkt_len = static_cast<uint32_t>(length);
  list[count++] = frame;
  return true;
}

void Replier::send_reset(const PacketContext& packet, BurstOutput& out) {
  auto build = [&](std::span<uint8_t> room) { return build_tcp_reset(packet.frame, packet.parsed, room); };
  bump(send_built(build, out.replies, out.reply_count) ? setup_.counters->resets_sent : setup_.counters->resets_not_sent);
}

void Replier::send_onward_reset(const PacketContext& packet, uint32_t seq, BurstOutput& out) {
  // Refused without an ACK on the packet: the far end then has no connection to tear down.
  auto build = [&](std::span<uint8_t> room) { return build_tcp_reset_onward(packet.frame, packet.parsed, seq, room); };
  if (send_built(build, out.forward, out.forward_count)) bump(setup_.counters->onward_resets_sent);
}

// One answer a query, no larger than the query (header and question only): the client gets no
// more from the appliance than it sent, so it cannot be made an amplifier.
void Replier::answer_dns(const PacketContext& packet, size_t question_end, uint8_t rcode, BurstOutput& out) {
  auto build = [&](std::span<uint8_t> room) {
    return build_dns_refusal(packet.frame, packet.parsed, question_end, rcode, room);
  };
  bump(send_built(build, out.replies, out.reply_count) ? setup_.counters->dns_refusals_sent
                                                       : setup_.counters->resets_not_sent);
}

void Replier::send_icmp_unreachable(const PacketContext& packet, BurstOutput& out) {
  auto build = [&](std::span<uint8_t> room) { return build_icmp_unreachable(packet.frame, packet.parsed, room); };
  bump(send_built(build, out.replies, out.reply_count) ? setup_.counters->icmp_unreachable_sent
                                                       : setup_.counters->resets_not_sent);
}

}  // namespace sluice

// How long a flow may stay idle in each state before the worker's aging sweep removes it.
// Built by the control thread from the config (seconds) and the TSC rate; read-only afterwards.
#pragma once

#include <cstdint>

#include "dataplane/flow/flow_entry.h"

namespace sluice {

struct FlowTimeoutSeconds {
  // syn_sent, and a TLS/HTTP flow still waiting for its verdict; for the latter also its deadline
  // from its first packet, which traffic does not extend (pending_deadline_passed).
  uint32_t tcp_handshake = 30;
  uint32_t tcp_established = 3600;
  uint32_t tcp_closing = 60;       // one FIN seen
  uint32_t tcp_closed = 10;        // both FINs or a RST: late retransmissions still match
  uint32_t udp = 60;
  uint32_t other = 60;             // ICMP and other protocols
};

class FlowTimeouts {
 public:
  FlowTimeouts() = default;
  FlowTimeouts(const FlowTimeoutSeconds& seconds, uint64_t tsc_hz);

  // Packet path and aging sweep.
  uint64_t idle_limit(const FlowEntry& flow, uint8_t protocol) const {
    if (flow.verdict == FlowVerdict::pending) return cycles_[kPending];
    switch (flow.state) {
      case FlowState::syn_sent: return cycles_[kHandshake];
      case FlowState::established: return cycles_[kEstablished];
      case FlowState::closing: return cycles_[kClosing];
      case FlowState::closed: return cycles_[kClosed];
      case FlowState::open: break;
    }
    if (protocol == 6) return cycles_[kEstablished];  // TCP picked up mid-stream
    return protocol == 17 ? cycles_[kUdp] : cycles_[kOther];
  }

  // Packet path and aging sweep: a flow still waiting for its verdict whose first packet is
  // older than the pending limit. Read off the flow's coarse creation tick (flow_entry.h), so it
  // may fire up to a tick (0.25–0.5 s) early or late; its packets never move it.
  bool pending_deadline_passed(const FlowEntry& flow, uint64_t now_tsc) const {
    if (flow.verdict != FlowVerdict::pending) return false;
    const uint64_t age_ticks = (flow_tick(now_tsc) - flow.created_tick) & kFlowTickMask;
    return (age_ticks << kFlowTickShift) > cycles_[kPending];
  }

 private:
  enum { kPending, kHandshake, kEstablished, kClosing, kClosed, kUdp, kOther, kCount };
  uint64_t cycles_[kCount] = {};
};

inline FlowTimeouts::FlowTimeouts(const FlowTimeoutSeconds& seconds, uint64_t tsc_hz) {
  cycles_[kPending] = seconds.tcp_handshake * tsc_hz;
  cycles_[kHandshake] = seconds.tcp_handshake * tsc_hz;
  cycles_[kEstablished] = seconds.tcp_established * tsc_hz;
  cycles_[kClosing] = seconds.tcp_closing * tsc_hz;
  cycles_[kClosed] = seconds.tcp_closed * tsc_hz;
  cycles_[kUdp] = seconds.udp * tsc_hz;
  cycles_[kOther] = seconds.other * tsc_hz;
}

}  // namespace sluice

// ICMP error stage: an ICMP or ICMPv6 error arriving from OUTSIDE (a router beyond the appliance
// saying "fragmentation needed", "packet too big", "time exceeded", "unreachable") comes from the
// router's own address, so its own tuple names no flow. It is about the packet it quotes: one an
// inside host sent. It goes on to the inside only when that packet belongs to a live flow, sent
// from the flow's initiator to its responder, and the flow is not denied in ENFORCE — so path MTU
// discovery and traceroute work through the appliance. The error changes nothing about the flow
// (no state, no idle timer, no verdict): inbound bytes carry nothing out, and a forged error must
// not keep a flow alive or settle it. A flow still pending its name passes its errors too (the
// SYN or datagram they answer was forwarded). docs/POLICY.md, threat model.
#pragma once

#include <cstdint>

#include "dataplane/flow/flow_table.h"
#include "dataplane/reason.h"
#include "dataplane/worker/stage/flow_lifecycle.h"
#include "dataplane/worker/stage/packet_context.h"
#include "dataplane/worker/worker_counters.h"

namespace sluice {

class IcmpErrorAdmission {
 public:
  IcmpErrorAdmission(FlowTable& flows, const FlowLifecycle& lifecycle) : flows_(flows), lifecycle_(lifecycle) {}

  // An ICMP/ICMPv6 error type (dataplane/parse/icmp_error_quote.h) arriving on OUTSIDE.
  static bool applies(Side ingress, const ParsedPacket& parsed);

  // Reason::count when the error is to be forwarded to the inside; else the reason to drop it.
  // Reads the flow table only.
  Reason admit(const PacketContext& packet, uint64_t now_tsc) const;

 private:
  FlowTable& flows_;
  const FlowLifecycle& lifecycle_;
};

}  // namespace sluice

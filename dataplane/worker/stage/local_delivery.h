// Routed mode's LocalDelivery hook: IP frames addressed to one of the appliance's own addresses
// (RoutingTables::owner_of), before the packet processor sees them. The health probe is
// answered here (a SYN-ACK while ready), the kernel services of routing.exception_port go out of
// the exception port (the tap) to the host's kernel, and the rest is left to the router, which
// drops it as local_not_allowed. What may go where is decided by decide_local
// (dataplane/local/local_delivery.h); this hook acts on it.
#pragma once

#include <cstdint>

#include "dataplane/worker/stage/router_context.h"

struct rte_mbuf;

namespace sluice {

class LocalDelivery {
 public:
  explicit LocalDelivery(RouterContext& context) : context_(context) {}

  // `frame` arrived on routed port `ingress` (Ethernet, no VLAN tag, IPv4 or IPv6, for an own
  // address). True: the hook took it (sent it with context_.send, or freed it with
  // context_.drop). False: the router drops it, local_not_allowed.
  bool deliver(uint8_t ingress, rte_mbuf* frame);

  // `frame` arrived from the exception port (the host kernel). True when it may be routed out:
  // an IPv4/IPv6 packet from one of the appliance's own addresses (the kernel's answers). Else
  // the router drops it, exception_source_not_own.
  bool from_kernel_acceptable(rte_mbuf* frame) const;

 private:
  // Sends the `length`-byte answer written over `frame` back out of `ingress`; a 0 length
  // (nothing could be written) drops the frame under `reason`.
  void answer(uint8_t ingress, rte_mbuf* frame, size_t length, Reason reason);

  RouterContext& context_;
};

}  // namespace sluice

// Routed mode's LocalDelivery hook: IP frames addressed to one of the appliance's own addresses
// (RoutingTables::owner_of), before the packet processor sees them. Owner: the exception-port
// piece (kernel services through the tap, the health probe's SYN-ACK). Until it is filled in,
// nothing is taken and the router drops every such frame as local_not_allowed.
#pragma once

#include <cstdint>

#include "dataplane/worker/stage/router_context.h"

struct rte_mbuf;

namespace sluice {

class LocalDelivery {
 public:
  explicit LocalDelivery(RouterContext& context) : context_(context) {}

  // `frame` arrived on routed port `ingress` (Ethernet, no VLAN tag, IPv4 or IPv6, for an own
  // address). True: the hook took it (sent it with context_.send, kept it, or freed it with
  // context_.drop). False: the router drops it, local_not_allowed.
  bool deliver(uint8_t ingress, rte_mbuf* frame);

 private:
  RouterContext& context_;
};

}  // namespace sluice

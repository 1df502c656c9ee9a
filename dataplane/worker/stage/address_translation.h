// Routed mode's address-translation hook (SNAT and the DNS forwarder). Owner: the snat piece.
// Until it is filled in, nothing is translated.
//  - translate_inbound: before the packet processor, a frame addressed to one of the
//    appliance's own addresses; an answer of a translated flow gets its original destination
//    back (so the processor sees the flow's original tuple) and is then routed as transit.
//  - translate_outbound: after the processor and the route lookup, a packet about to leave by
//    `route` (its next hop resolved, its size within the MTU); a route with snat gets its
//    source translated. The router decrements the TTL and rewrites L2 afterwards.
#pragma once

#include <cstdint>

#include "dataplane/reason.h"
#include "dataplane/worker/stage/router_context.h"

struct rte_mbuf;

namespace sluice {

class AddressTranslation {
 public:
  explicit AddressTranslation(RouterContext& context) : context_(context) {}

  // True: `frame` was translated (checksums too) and is no longer for the appliance itself.
  bool translate_inbound(uint8_t ingress, rte_mbuf* frame);
  // Reason::count: go on. Anything else: the router drops `frame` with that reason.
  Reason translate_outbound(uint8_t ingress, rte_mbuf* frame, const RouteEntry& route);

 private:
  RouterContext& context_;
};

}  // namespace sluice

// Routed mode's neighbour hook: ARP frames and IPv6 neighbour discovery (ICMPv6 types 133–137
// directly after the IPv6 header) received on a routed port, before the packet processor. Owner:
// the neighbour piece (answers for the appliance's own addresses, NeighbourEvent "observed"
// through context_.report). Until it is filled in, nothing is taken and the router drops them
// as neighbour_protocol_unhandled.
#pragma once

#include <cstdint>

#include "dataplane/worker/stage/router_context.h"

struct rte_mbuf;

namespace sluice {

class NeighbourProtocol {
 public:
  explicit NeighbourProtocol(RouterContext& context) : context_(context) {}

  // True: the hook took `frame` (answered with context_.send, freed with context_.drop).
  // False: the router drops it, neighbour_protocol_unhandled.
  bool handle(uint8_t ingress, rte_mbuf* frame);

 private:
  RouterContext& context_;
};

}  // namespace sluice

// Routed mode's neighbour hook: ARP frames and IPv6 neighbour discovery (ICMPv6 types 133–137
// directly after the IPv6 header) received on a routed port, before the packet processor. A
// request or solicitation for one of the port's own addresses is answered in the frame's own
// buffer (dataplane/route/neighbour_responder.h) and sent back out of that port; the neighbour it
// shows goes to the control thread as NeighbourEvent "observed" (context_.report). Nothing of it
// is forwarded: every other such frame is dropped by a neighbour_* reason.
#pragma once

#include <cstdint>

#include "dataplane/worker/stage/router_context.h"

struct rte_mbuf;

namespace sluice {

class NeighbourProtocol {
 public:
  explicit NeighbourProtocol(RouterContext& context) : context_(context) {}

  // Takes every frame (answered with context_.send, or freed with context_.drop): true.
  bool handle(uint8_t ingress, rte_mbuf* frame);

 private:
  RouterContext& context_;
};

}  // namespace sluice

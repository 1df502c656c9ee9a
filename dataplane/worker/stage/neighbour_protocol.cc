#include "dataplane/worker/stage/neighbour_protocol.h"

namespace sluice {

bool NeighbourProtocol::handle(uint8_t, rte_mbuf*) {
  (void)context_;
  return false;  // no ARP/ND yet: static_neighbours only; the router drops it
}

}  // namespace sluice

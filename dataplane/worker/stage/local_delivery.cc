#include "dataplane/worker/stage/local_delivery.h"

namespace sluice {

bool LocalDelivery::deliver(uint8_t, rte_mbuf*) {
  (void)context_;
  return false;  // no kernel path yet: the router drops it, local_not_allowed
}

}  // namespace sluice

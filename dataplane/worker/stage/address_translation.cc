#include "dataplane/worker/stage/address_translation.h"

namespace sluice {

bool AddressTranslation::translate_inbound(uint8_t, rte_mbuf*) {
  (void)context_;
  return false;  // no SNAT yet
}

Reason AddressTranslation::translate_outbound(uint8_t, rte_mbuf*, const RouteEntry&) { return Reason::count; }

}  // namespace sluice

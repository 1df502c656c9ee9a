// What the packet processor may ask routed mode's source NAT about a flow (the router's
// AddressTranslation hook answers; bridge mode and `sluicectl replay` have none): the source
// address and port the flow leaves with, so that its records carry both the workload's source
// and the translated one. Asked only at a verdict or a record, never for an established flow's
// packets. No allocation, lock or syscall behind it.
#pragma once

#include <cstdint>

#include "dataplane/parse/ip_address.h"

namespace sluice {

enum class SourceTranslationStatus : uint8_t {
  untranslated,  // the flow's route does not translate (or it is not a TCP/UDP flow)
  translated,    // `address` / `port` are what the flow leaves with
  exhausted,     // reserve only: no SNAT address and port could be had for the flow
};

struct TranslatedSource {
  IpAddress address;  // family 0: untranslated
  uint16_t port = 0;
};

class SourceTranslation {
 public:
  // The source the flow (protocol, client, client port → server, server port) leaves with.
  // `reserve`: the flow is about to leave (its first packet passes), so the translation is made
  // now when it does not exist yet — the packet finds it when the router translates it.
  // Without `reserve` an existing translation is looked up and nothing is made.
  virtual SourceTranslationStatus translated_source(uint8_t protocol, const IpAddress& client, uint16_t client_port,
                                                    const IpAddress& server, uint16_t server_port, bool reserve,
                                                    TranslatedSource& out) = 0;

 protected:
  ~SourceTranslation() = default;  // never deleted through this interface
};

}  // namespace sluice

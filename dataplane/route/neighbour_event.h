// What a worker tells the control thread about neighbours, on the worker→control neighbour ring
// (single producer: the worker; single consumer: the control thread). "wanted": a packet was
// routed to a next hop the published NeighbourTable does not know (it was dropped,
// neighbour_unresolved); the control thread resolves it (ARP / ND) and publishes a new table.
// "observed": a neighbour's address and MAC seen in an ARP or ND packet (the neighbour helper's
// worker side sends these). Plain bytes: it is copied into an rte_ring element.
#pragma once

#include <cstdint>

#include "dataplane/parse/ip_address.h"
#include "dataplane/route/mac_address.h"

namespace sluice {

enum class NeighbourEventKind : uint8_t { wanted = 0, observed = 1 };

struct NeighbourEvent {
  NeighbourEventKind kind = NeighbourEventKind::wanted;
  uint8_t port = 0;  // routed port index (RoutingTables): where the neighbour is
  IpAddress address;
  MacAddress mac;  // observed only
  uint8_t padding[3] = {};  // rte_ring elements are a multiple of 4 bytes
};
static_assert(sizeof(NeighbourEvent) % 4 == 0);

}  // namespace sluice

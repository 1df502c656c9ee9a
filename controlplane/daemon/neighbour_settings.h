// The neighbour manager's settings in sluiced: each routed port's MAC, own addresses and
// connected prefixes from the published RoutingTables, routing.static_neighbours and
// routing.neighbour_timers from the (validated) config.
#pragma once

#include "config.pb.h"
#include "controlplane/daemon/neighbour_manager.h"
#include "dataplane/route/routing_tables.h"

namespace sluice {

// A static neighbour whose address is the unspecified one ("0.0.0.0" or "::") stands for every
// address of that family on its port (Azure's platform MAC for every gateway). Text the
// validator would refuse is skipped here, never guessed at.
NeighbourSettings neighbour_settings(const RoutingTables& tables, const config::ApplianceConfig& config);

}  // namespace sluice

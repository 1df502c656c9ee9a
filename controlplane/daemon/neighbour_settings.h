// The neighbour manager's settings from a loaded (validated) appliance config: each port's own
// addresses and connected prefixes, routing.static_neighbours and routing.neighbour_timers.
#pragma once

#include "config.pb.h"
#include "controlplane/daemon/neighbour_manager.h"

namespace sluice {

// `port_macs[side]`: the MAC of the inside (0) and outside (1) port, as the port reports it.
// A static neighbour whose address is the unspecified one ("0.0.0.0" or "::") stands for every
// address of that family on its port (Azure's platform MAC for every gateway). Text the
// validator would refuse is skipped here, never guessed at.
NeighbourSettings neighbour_settings(const config::ApplianceConfig& config, const MacAddress port_macs[2]);

}  // namespace sluice

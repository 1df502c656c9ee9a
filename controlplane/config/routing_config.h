// Routed mode's part of the appliance config (routing.mode, ports[].addresses and mtu,
// routing.routes, routing.static_neighbours): its validation, called once by the config loader
// after defaults, and the tables sluiced builds from it for the workers.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config.pb.h"
#include "dataplane/route/mac_address.h"
#include "dataplane/route/neighbour_table.h"
#include "dataplane/route/routing_tables.h"

namespace sluice {

// Calls `add(field, message)` for every problem: "ports[1].addresses[0]", "routing.routes[2].via"…
// Bridge mode: none of the routed-only fields may be set. Routed mode: every port has at least
// one address ("198.18.0.1/24", "2001:db8:1::1/64"; unicast, not the prefix's network address
// when the prefix is shorter than /31 or /127), no address twice, no connected prefix on both
// ports, an MTU of at least 1280 on a port with an IPv6 address; routes with a valid prefix
// (host bits clear), a port, and a next hop of the prefix's family in one of that port's
// connected prefixes, each prefix once; static neighbours with an address in a connected prefix
// of their port (or the unspecified address, "0.0.0.0" or "::": every address of that family on
// the port) and a unicast MAC, each (port, address) once.
void check_routing_config(const sluice::config::ApplianceConfig& config,
                          const std::function<void(const std::string& field, std::string message)>& add);

inline bool is_routed(const sluice::config::ApplianceConfig& config) {
  return config.routing().mode() == sluice::config::Routing::ROUTED;
}

// The routed port index of a role (RoutingTables): INSIDE 0, OUTSIDE 1; kNoPort otherwise.
uint8_t routed_port_of(sluice::config::PortRole role);

// Routed mode with a port MTU larger than a default packet buffer takes in one segment (2048
// bytes of frame, RTE_MBUF_DEFAULT_DATAROOM): the frame bytes every receive buffer needs so that
// the largest frame (MTU, Ethernet header, one VLAN tag) arrives whole, rounded up to 1 KiB.
// 0 when the default suffices (always in bridge mode). sluiced adds the headroom; a virtual
// port may need its own frame size raised too (net_af_packet: framesz, blocksz).
uint32_t routed_frame_room(const sluice::config::ApplianceConfig& config);

// From a config check_routing_config accepted, and the ports' MACs (by routed port index).
std::unique_ptr<RoutingTables> build_routing_tables(const sluice::config::ApplianceConfig& config,
                                                    const MacAddress (&macs)[2]);
// routing.static_neighbours as the first NeighbourTable the control thread publishes (sealed).
std::unique_ptr<NeighbourTable> build_static_neighbours(const sluice::config::ApplianceConfig& config);

}  // namespace sluice

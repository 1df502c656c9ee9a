// Which worker owns a frame in routed mode with several workers (docs/ARCHITECTURE.md, "Several
// workers" and "Routed mode"). Routed mode always steers in software: source NAT breaks the
// symmetry RSS relies on (a server answers the SNAT address, not the client), so the receiving
// worker asks this function and hands the frame to its owner.
//
// The rule, from addresses only so that every fragment of a datagram follows its flow:
//  - an address is an INSIDE HOST when it is not one of the appliance's own addresses and the
//    routes send it out of the inside port (the router's reverse-path check makes this agree
//    with "the source of a frame received on the inside port");
//  - exactly one inside host in the pair: the hash of that address alone — so the answer of a
//    server, translated or not, and the DNS forwarder's answer meet the query's worker;
//  - both or neither (a hairpin between inside hosts, traffic between the appliance's own
//    addresses and the outside): the symmetric hash of the pair;
//  - a frame to a SNAT address whose TCP/UDP destination port, ICMP echo reply identifier or
//    (an ICMP error) quoted source port / echo identifier lies in the SNAT range: the worker
//    whose port slice holds that port (snat_port_slices.h) — the worker that made the translation
//    (IPv6: read behind the extension headers the packet parser walks, as SNAT reads it);
//  - other ICMP errors: the rule over the packet they quote (its flow's worker);
//  - ARP, neighbour discovery, anything not IP: worker 0 (it answers them and feeds the
//    neighbour manager).
// The trade-off: all the flows of one inside host share one worker.
// Pure (no DPDK): unit-tested and fuzzed on byte arrays.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/nat/snat_port_slices.h"
#include "dataplane/parse/ip_address.h"
#include "dataplane/route/routing_tables.h"

namespace sluice {

struct RoutedOwnerRules {
  const RoutingTables* tables = nullptr;  // sealed; outlives the rules' users
  std::vector<IpAddress> snat_addresses;  // empty: no SNAT override
  SnatPortSlices slices{0, 0, 1};         // routing.snat's range over the workers
  uint16_t workers = 1;
};

// The worker (< rules.workers) owning `frame` (Ethernet, no VLAN tag: routed mode refuses tags).
uint16_t routed_owner(const uint8_t* frame, uint32_t length, const RoutedOwnerRules& rules);

}  // namespace sluice

// Validation of routed mode's source NAT (routing.snat) and DNS forwarder (routing.dns_forwarder),
// on the config as sluiced will use it (after defaults; the numeric bounds of port_min, port_max
// and quarantine_seconds are checked with the others in config_loader.cc).
#pragma once

#include <string>
#include <vector>

#include "proto/config.pb.h"

namespace sluice {

struct SnatConfigProblem {
  std::string field;    // "routing.snat.addresses[1]", as config errors name fields
  std::string message;
};

// Bridge mode: neither SNAT addresses nor the forwarder may be set. Routed mode: every SNAT
// address (at most kMaxSnatAddresses) is a plain address, listed once, inside a connected prefix of the OUTSIDE port;
// port_min <= port_max and the range gives every worker a slice; a route with `snat` has a SNAT
// address of its family; the forwarder needs an INSIDE address.
std::vector<SnatConfigProblem> check_snat_config(const config::ApplianceConfig& config);

}  // namespace sluice

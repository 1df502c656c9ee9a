// Routed mode's path to the host's kernel (routing.exception_port) and the health probe the
// workers answer themselves (routing.health_probe): their validation, and the filter the
// workers apply, built from the validated config.
#pragma once

#include <functional>
#include <string>

#include "config.pb.h"
#include "dataplane/local/kernel_service_filter.h"

namespace sluice {

// Reports one problem: the field's path as the config names it
// ("routing.exception_port.services[1].sources[0]") and what is wrong.
using ConfigProblemSink = std::function<void(const std::string& field, std::string message)>;

// Checks routing.exception_port and routing.health_probe as written (before defaults): both
// only in routed mode; the device a net_tap with an interface name of its own; each service's
// protocol, ports and source prefixes; the probe port not also a kernel service's TCP port.
// Numeric ranges are in config_numeric_bounds().
void check_exception_config(const config::ApplianceConfig& config, const ConfigProblemSink& problem);

// The tap interface a valid routing.exception_port.device names ("sluice0" for
// "net_tap0,iface=sluice0"); "" when there is none.
std::string exception_interface_name(const std::string& device);

// The workers' filter for a config check_exception_config accepted.
KernelServiceFilter build_kernel_service_filter(const config::ExceptionPort& exception_port);

}  // namespace sluice

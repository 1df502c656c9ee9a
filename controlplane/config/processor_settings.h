// The appliance config's dataplane settings (timeouts, inspection bounds, DNS learning clamps)
// copied into a PacketProcessorSetup. Defaults are already applied by the config loader.
#pragma once

#include "dataplane/worker/packet_processor.h"
#include "config.pb.h"

namespace sluice {

inline void apply_processor_settings(const config::ApplianceConfig& config, PacketProcessorSetup& setup) {
  const auto& timeouts = config.flow_timeouts();
  setup.timeouts.tcp_handshake = timeouts.tcp_handshake_seconds();
  setup.timeouts.tcp_established = timeouts.tcp_established_seconds();
  setup.timeouts.tcp_closing = timeouts.tcp_closing_seconds();
  setup.timeouts.tcp_closed = timeouts.tcp_closed_seconds();
  setup.timeouts.udp = timeouts.udp_seconds();
  setup.timeouts.other = timeouts.other_seconds();
  const auto& inspection = config.inspection();
  setup.tls_max_client_hello_bytes = inspection.tls_max_client_hello_bytes();
  setup.http_max_head_bytes = inspection.http_max_head_bytes();
  setup.reassembly_slots = inspection.reassembly_slots();
  setup.fragment_slots = inspection.fragment_slots();
  setup.fragment_lifetime_seconds = inspection.fragment_lifetime_seconds();
  setup.deny_replies_per_second = inspection.deny_replies_per_second();
  const auto& learning = config.dns_learning();
  setup.dns_learning.min_ttl = learning.min_ttl_seconds();
  setup.dns_learning.max_ttl = learning.max_ttl_seconds();
  setup.dns_learning.grace = learning.grace_seconds();
}

}  // namespace sluice

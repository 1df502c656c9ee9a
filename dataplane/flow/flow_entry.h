// Per-flow state, one per flow-table position. Worker-private: only the owning worker writes or
// reads it while running; the control thread reads it only after the worker stopped.
#pragma once

#include <cstdint>

#include "dataplane/policy/compiled_policy.h"
#include "dataplane/reason.h"

namespace sluice {

enum class FlowVerdict : uint8_t {
  pending = 0,     // a TLS/HTTP flow waiting for its first payload
  allowed,
  denied_enforced,
  denied_dry_run,  // denied, but its policy is DRY_RUN: it passes
};
inline constexpr int kFlowVerdictCount = 4;

enum class DestinationType : uint8_t { ip = 0, sni, http_host, dns, quic_sni };

const char* to_string(FlowVerdict verdict);          // "PENDING" | "ALLOW" | "DROP" | "DRY_RUN_DENIAL"
const char* to_string(DestinationType type);         // "IP" | "SNI" | ...

struct FlowEntry {
  uint64_t flow_id = 0;
  uint64_t generation = 0;        // the policy generation that judged it
  uint64_t last_seen_tsc = 0;
  uint16_t attachment_index = 0;
  uint16_t policy_index = 0;
  bool in_use = false;
  bool initiator_is_a = false;    // which endpoint of the FlowKey opened the flow (the inside host)
  FlowVerdict verdict = FlowVerdict::pending;
  Reason reason = Reason::allowed_full_access;
  PortClass inspection = PortClass::none;
  DestinationType destination_type = DestinationType::ip;
};

}  // namespace sluice

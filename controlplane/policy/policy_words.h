// The policy language's own words (proto/policy.proto) for the compiled enums, so that what
// sluicectl prints reads like the policy file.
#pragma once

#include "dataplane/policy/compiled_policy.h"

namespace sluice {

inline const char* access_mode_name(AccessMode mode) { return mode == AccessMode::full ? "FULL" : "RESTRICTED"; }

inline const char* enforcement_name(Enforcement enforcement) {
  return enforcement == Enforcement::dry_run ? "DRY_RUN" : "ENFORCE";
}

// What a TCP port is inspected for: "TLS" | "HTTP" | "NONE".
inline const char* inspection_name(PortClass inspection) {
  switch (inspection) {
    case PortClass::tls: return "TLS";
    case PortClass::http: return "HTTP";
    case PortClass::quic: return "QUIC";
    case PortClass::none: break;
  }
  return "NONE";
}

}  // namespace sluice

// `sluicectl compile POLICY`: compiles a validated policy set exactly as sluiced would and
// reports what it costs: per policy its domain patterns and Hyperscan database bytes, allowed
// networks and resolvers; totals; the compile time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "dataplane/policy/compiled_policy.h"
#include "policy.pb.h"

namespace sluice {

struct PolicyFigures {
  std::string name;
  AccessMode access_mode = AccessMode::restricted;
  Enforcement enforcement = Enforcement::enforce;
  size_t domain_patterns = 0;
  size_t database_bytes = 0;  // DomainMatcher::database_bytes; 0 when the policy lists no domain
  size_t networks = 0;
  size_t dns_resolvers = 0;
};

struct CompileFigures {
  std::string set_name;
  std::vector<PolicyFigures> policies;
  PolicyFigures totals;  // name "total"
  size_t attachments = 0;
  std::string default_policy;
  std::string default_source_label;
  std::vector<uint16_t> tls_ports;
  std::vector<uint16_t> http_ports;
  std::vector<uint16_t> quic_ports;  // UDP
  double seconds = 0;
};

// Reads the figures off `compiled` (built from `source` in `seconds`).
CompileFigures compile_figures(const CompiledPolicy& compiled, const sluice::policy::PolicySet& source,
                               double seconds);

std::string compile_text(const CompileFigures& figures, const std::string& policy_path);
std::string compile_json(const CompileFigures& figures, const std::string& policy_path);

// The whole command for a policy set that passed validation. Returns the exit code: 0
// compiled, 1 the compile or the platform (EAL, memory) failed.
int run_compile(const std::string& policy_path, const sluice::policy::PolicySet& source, bool json,
                std::ostream& out, std::ostream& err);

}  // namespace sluice

// `sluicectl explain POLICY SRC_IP DEST`: which attachment, policy and rule decide a flow, and
// the verdict. The verdict is never worked out here: the question becomes the frames a client
// would send (probe_frames.h), the dataplane's own PacketProcessor judges them, and its
// FlowEvent is the answer; CompiledPolicy lookups then only name the rule behind it. So explain
// cannot disagree with the dataplane.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/explain_question.h"
#include "dataplane/flow/flow_entry.h"
#include "dataplane/policy/compiled_policy.h"
#include "policy.pb.h"

namespace sluice {

struct ExplainNetworkRule {
  uint32_t index = 0;              // its place in the policy's allowed_networks
  std::string cidr;
  std::string protocol;            // "TCP" | "UDP" | "ICMP" | "any"
  std::vector<std::string> ports;  // as written; empty = every port
  std::string description;
};

// The numbered rule that decided (policy.proto Rule), and the pattern or network of it that
// matched: a member of a named group, or one the rule lists itself.
struct ExplainRule {
  std::string name;
  uint32_t priority = 0;
  bool deny = false;
  int line = 0;            // in the policy file; 0 when unknown (binary policies)
  std::string group;       // the domain or ip group of the member that matched; "" when listed in the rule
  std::string member;      // the pattern or CIDR that matched, as written
};

struct ExplainAnswer {
  ExplainQuestion question;
  // Where the probe was sent. For a name: a documentation address no allowed network of the
  // policy lets through (when there is one), so that the name alone decides.
  IpAddress probe_destination;
  PortClass inspection = PortClass::none;  // the policy set's class of this TCP port

  // From the dataplane's FlowEvent (or, still pending, its flow entry).
  bool default_attachment = false;
  std::string source_cidr;  // "default" for the default attachment
  std::string source_label;
  std::string policy_name;
  AccessMode access_mode = AccessMode::restricted;
  Enforcement policy_enforcement = Enforcement::enforce;
  Enforcement enforcement = Enforcement::enforce;  // after the attachment's override
  bool enforcement_overridden = false;
  FlowVerdict verdict = FlowVerdict::pending;  // pending: waits for a payload explain did not send
  Reason reason = Reason::no_payload_seen;     // the dataplane's; meaningless while pending
  DestinationType destination_type = DestinationType::ip;
  std::string judged_name;  // the normalised SNI or Host the dataplane judged; "" when none
  bool tcp_reset = false;   // the dataplane sent the client a TCP reset
  bool icmp_unreachable = false;  // … or an ICMP administratively-prohibited error (UDP)

  // The rule behind the verdict, from CompiledPolicy lookups.
  size_t domain_pattern_count = 0;
  std::optional<uint32_t> matched_domain_index;  // DomainMatcher::match (the lowest rule id)
  std::string matched_domain;                    // the pattern as written
  bool matched_storage = false;                  // the rule is a host name allowed_storage expands to
  std::optional<ExplainNetworkRule> matched_network;
  std::vector<ExplainNetworkRule> covering_networks;  // the policy's rules whose CIDR holds the address
  std::vector<std::string> dns_resolvers;             // the policy's, as written
  std::optional<ExplainRule> deciding_rule;           // when a numbered rule decided
  std::string matched_group;  // the allow lists' match came from this domain or ip group ("": listed directly)
  std::string policy_file;    // for "file:line" of the deciding rule
};

enum class ExplainStatus : uint8_t { answered, bad_question, platform_failure };

// Judges `question` with `policy` (compiled from `source`; EAL must be up). On anything but
// `answered`, `error` says why.
// `rule_lines` ([policy][rule], LoadedPolicy::rule_lines) gives the deciding rule's line.
ExplainStatus explain_flow(const CompiledPolicy& policy, const sluice::policy::PolicySet& source,
                           const ExplainQuestion& question, ExplainAnswer& answer, std::string& error,
                           const std::vector<std::vector<int>>* rule_lines = nullptr);

// The whole command for a policy set that passed validation: EAL, compile, explain, print.
// Returns the exit code: 0 answered, 1 platform or compile failure, 2 a question the policy set
// cannot answer (a name on a port that is neither TLS nor HTTP).
int run_explain(const std::string& policy_path, const sluice::policy::PolicySet& source,
                const ExplainQuestion& question, bool json, std::ostream& out, std::ostream& err,
                const std::vector<std::vector<int>>* rule_lines = nullptr);

}  // namespace sluice

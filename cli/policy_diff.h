// `sluicectl diff OLD NEW [--flows FLOWLOG] [--pcap FILE]`: what changes between two policy sets. Per policy,
// the names, networks and resolvers added and removed (and its access mode or enforcement);
// attachments and the set's defaults and ports. With a flow log, every logged flow is judged
// under both sets by explain's code (the dataplane's PacketProcessor, explain.h), and the flows
// whose verdict changes are listed. With a capture, it is replayed under both sets
// (capture_diff.h) and the flows whose verdict changes are listed.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli/capture_diff.h"
#include "policy.pb.h"

namespace sluice {

// One line of the diff: "+" or "-", where (a policy's name, or "" for the set), what kind
// ("allowed_domains", "allowed_networks", "dns_resolvers", "policy", "attachments", …), the
// entry as text.
struct PolicyChange {
  char sign = '+';
  std::string policy;
  std::string field;
  std::string entry;
};

// Entries are compared as written after normalising what the validator treats as the same (a
// name's case and trailing dot); a changed entry is one removal and one addition.
std::vector<PolicyChange> diff_policy_sets(const sluice::policy::PolicySet& old_set,
                                           const sluice::policy::PolicySet& new_set);

// The whole command once both files passed validation. Returns the exit code: 0 compared
// (changes or not), 1 compile or platform failure, 2 an unreadable flow log or capture.
int run_diff(const std::string& old_path, const sluice::policy::PolicySet& old_set, const std::string& new_path,
             const sluice::policy::PolicySet& new_set, const std::string& flows_path,
             const CaptureDiffOptions& capture, bool json, std::ostream& out, std::ostream& err);

}  // namespace sluice

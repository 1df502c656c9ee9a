// `sluicectl diff OLD NEW --pcap FILE`: the flows of a capture whose verdict changes between two
// policy sets. The capture is replayed once under each set by replay's own pass (the dataplane's
// PacketProcessor on a WorkerRig, replay.h), each pass writing its flow log; the two logs are
// then matched flow for flow. No second packet path: what a flow gets here is what `sluicectl
// replay` (and so sluiced) gives it.
#pragma once

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "policy.pb.h"

namespace sluice {

struct CaptureDiffOptions {
  std::string pcap_path;                  // "" = no capture to compare
  bool has_outside_mac = false;           // sides as replay --outside-mac has them
  std::array<uint8_t, 6> outside_mac{};
};

// A flow's verdict under one set, as its flow-log line has it.
struct CaptureVerdict {
  std::string verdict;  // ALLOW, DROP, DRY_RUN_DENIAL, PENDING; NO_FLOW when this pass had no such flow
  std::string reason;
  std::string policy;
  bool operator==(const CaptureVerdict&) const = default;
};

struct CaptureFlowChange {
  std::string src_ip, dst_ip, protocol, destination;  // destination: the SNI or Host, else dst_ip
  uint32_t src_port = 0, dst_port = 0;
  CaptureVerdict before, after;
};

struct CaptureDiff {
  uint64_t flows = 0;  // flows of the capture (matched once each, as the old pass saw them, plus new-only)
  std::vector<CaptureFlowChange> changed;  // in the old pass's flow-log order, new-only flows last
};

// Replays options.pcap_path under both sets, the EAL already up (DPDK starts once a process; the
// caller checks the capture with check_capture first). Returns 0; 2 for a damaged capture (a
// clear message on `err`); 1 for a policy that does not compile or a platform failure.
int diff_capture(const CaptureDiffOptions& options, const sluice::policy::PolicySet& old_set,
                 const std::string& old_path, const sluice::policy::PolicySet& new_set, const std::string& new_path,
                 CaptureDiff& result, std::ostream& err);

// "ALLOW", "DROP domain_not_allowed (policy p)": how the text output shows one side.
std::string capture_verdict_text(const CaptureVerdict& verdict);

}  // namespace sluice

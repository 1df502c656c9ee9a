// The figures a run ends with, printed by sluiced and `sluicectl replay` alike, and read from
// the same counters that /metrics serves, so the two always agree.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/policy/service_tag_catalog.h"
#include "controlplane/records/flow_event_sink.h"
#include "dataplane/worker/worker_counters.h"

namespace sluice {

struct RunSummary {
  std::string title;
  uint64_t rx_packets[kSideCount] = {};
  uint64_t tx_packets[kSideCount] = {};
  uint64_t flows_by_verdict[kFlowVerdictCount] = {};
  uint64_t pending_flows = 0;
  uint64_t resets_sent = 0;
  std::vector<std::pair<std::string, uint64_t>> dropped_by_reason;  // non-zero only
  struct PolicyRow {
    std::string policy;
    uint64_t by_verdict[kFlowVerdictCount] = {};
  };
  std::vector<PolicyRow> by_policy;
  // Each worker's share, shown with several workers (the figures above are their totals).
  struct WorkerRow {
    uint64_t rx_packets = 0;        // judged: from its queues or handed over
    uint64_t flows_created = 0;     // the flows it owns
    uint64_t handoff_sent = 0;      // frames handed to their flow's owner
    uint64_t handoff_received = 0;  // frames other workers handed it
  };
  std::vector<WorkerRow> workers;
  std::vector<std::pair<std::string, uint64_t>> top_denied;
  uint64_t denial_records = 0;
  uint64_t aggregated = 0;  // denials counted into another record's `count`
  uint64_t events_lost = 0;
  uint64_t records_not_written = 0;  // handed to the log but lost (full disk, unwritable directory)
  std::vector<std::pair<std::string, std::string>> paths;  // label → file
  // The service tag files of the running policy (sluiced) or of the replayed one; shown only
  // when there are any.
  std::vector<ServiceTagFileSummary> service_tags;
  // Routed mode's source NAT: the destinations holding the most SNAT ports (ports in use, as of
  // the workers' last pass), fullest first; shown only when there are any.
  std::vector<std::pair<std::string, uint64_t>> snat_top_destinations;

  void print(std::ostream& out) const;
  // The same figures for machines (sluicectl stats --json).
  std::string to_json() const;
};

// `policy_names`: by counter slot (PolicySlots::names()).
RunSummary summarize(const std::vector<const WorkerCounters*>& workers, const std::vector<std::string>& policy_names,
                     const FlowEventSink& sink);

}  // namespace sluice

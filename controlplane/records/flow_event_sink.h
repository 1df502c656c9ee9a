// Control thread: takes the workers' flow events off their ring and turns them into denial
// records (aggregating repeats), flow-log lines and the figures of the run summary.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/records/denial_aggregator.h"
#include "controlplane/records/denial_log.h"
#include "controlplane/records/event_id.h"
#include "controlplane/records/flow_event_json.h"
#include "controlplane/records/record_file_writer.h"
#include "controlplane/records/top_denied_destinations.h"

struct rte_ring;

namespace sluice {

// The generations an event may come from: the running one and, just after a reload, the one
// before it (its events may still be on the ring; names and labels must come from it).
struct PolicyGenerations {
  const CompiledPolicy* current = nullptr;
  const CompiledPolicy* previous = nullptr;
  const CompiledPolicy& for_event(const FlowEvent& event) const {
    return previous && event.generation == previous->generation ? *previous : *current;
  }
};

struct FlowEventSinkOptions {
  std::string appliance;
  DenialLog* denials = nullptr;        // may be null: no denial log
  RecordFileWriter* flows = nullptr;   // may be null: no flow log
  uint64_t aggregation_window_ms = 0;  // 0: every denial its own record
  bool protobuf = false;               // also hand the denial log protobuf records
};

class FlowEventSink {
 public:
  explicit FlowEventSink(FlowEventSinkOptions options)
      : options_(std::move(options)), aggregator_(options_.aggregation_window_ms) {}

  // Dequeues what the ring holds when called (not what arrives meanwhile: the call is bounded by
  // the ring's size) and handles it; returns how many events it took.
  size_t drain(rte_ring* ring, const PolicyGenerations& generations);
  // Several workers' rings (at most 64), fairly: a bounded batch from each in turn until each
  // gave what it held when called, so that one worker's flood of events cannot hold back another
  // worker's records, nor keep the control thread here.
  size_t drain(const std::vector<rte_ring*>& rings, const PolicyGenerations& generations);
  void handle(const FlowEvent& event, const CompiledPolicy& policy);
  // Writes the records of aggregation windows that closed; `all` closes every window.
  void close_windows(bool all = false);
  // Lets the writers make progress; call often.
  void poll();

  uint64_t denied_flows() const { return denied_flows_; }
  uint64_t denial_records() const { return denial_records_; }  // handed to the denial log
  uint64_t aggregated_denials() const { return aggregator_.suppressed(); }
  // The most denied destinations, most first (ties by name), in fixed memory: exact for names
  // that were always among the most denied, otherwise low by at most denied_flows() / 4096
  // (top_denied_destinations.h says why).
  std::vector<std::pair<std::string, uint64_t>> top_denied(size_t count) const { return denied_destinations_.top(count); }

 private:
  void write_denial(const FlowEvent& event, const RecordNameViews& names, uint64_t count);

  FlowEventSinkOptions options_;
  DenialAggregator aggregator_;
  EventClock clock_;
  EventIdSource event_ids_;
  uint64_t denied_flows_ = 0;
  uint64_t denial_records_ = 0;
  TopDeniedDestinations denied_destinations_;
  std::string destination_;  // the denial being handled's destination (kept: no allocation a denial)
};

}  // namespace sluice

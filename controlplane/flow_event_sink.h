// Control thread: takes the workers' flow events off their ring and turns them into denial
// records, flow-log lines and the figures of the run summary.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/flow_event_json.h"
#include "controlplane/json_lines_writer.h"

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

class FlowEventSink {
 public:
  // `denials` and `flows` may be null (not written).
  FlowEventSink(std::string appliance, JsonLinesWriter* denials, JsonLinesWriter* flows)
      : appliance_(std::move(appliance)), denials_(denials), flows_(flows) {}

  // Dequeues what the ring holds and handles it; returns how many events it took.
  size_t drain(rte_ring* ring, const PolicyGenerations& generations);
  void handle(const FlowEvent& event, const CompiledPolicy& policy);
  // Lets the writers make progress; call often.
  void poll();

  uint64_t denial_records() const { return denial_records_; }
  // The most denied destinations, most first (ties by name).
  std::vector<std::pair<std::string, uint64_t>> top_denied(size_t count) const;

 private:
  std::string appliance_;
  JsonLinesWriter* denials_;
  JsonLinesWriter* flows_;
  EventClock clock_;
  uint64_t denial_records_ = 0;
  std::map<std::string, uint64_t> denied_destinations_;
};

}  // namespace sluice

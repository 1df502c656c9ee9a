#include "controlplane/flow_event_sink.h"

#include <algorithm>

#include <rte_ring.h>
#include <rte_ring_elem.h>

namespace sluice {

size_t FlowEventSink::drain(rte_ring* ring, const PolicyGenerations& generations) {
  constexpr unsigned kBatch = 64;
  FlowEvent events[kBatch];
  size_t total = 0;
  unsigned taken;
  while ((taken = rte_ring_sc_dequeue_burst_elem(ring, events, sizeof(FlowEvent), kBatch, nullptr)) > 0) {
    for (unsigned i = 0; i < taken; ++i) handle(events[i], generations.for_event(events[i]));
    total += taken;
  }
  poll();
  return total;
}

void FlowEventSink::handle(const FlowEvent& event, const CompiledPolicy& policy) {
  bool denied = event.verdict == FlowVerdict::denied_enforced || event.verdict == FlowVerdict::denied_dry_run;
  if (denied) {
    ++denial_records_;
    ++denied_destinations_[destination_of(event)];
    if (denials_) denials_->append(denial_record_json(event, policy, appliance_, clock_));
  }
  if (flows_) flows_->append(flow_log_json(event, policy));
}

void FlowEventSink::poll() {
  if (denials_) denials_->poll();
  if (flows_) flows_->poll();
}

std::vector<std::pair<std::string, uint64_t>> FlowEventSink::top_denied(size_t count) const {
  std::vector<std::pair<std::string, uint64_t>> ranked(denied_destinations_.begin(), denied_destinations_.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (ranked.size() > count) ranked.resize(count);
  return ranked;
}

}  // namespace sluice

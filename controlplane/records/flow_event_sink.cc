#include "controlplane/records/flow_event_sink.h"

#include <chrono>

#include <rte_ring.h>
#include <rte_ring_elem.h>

namespace sluice {

namespace {
uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}
}  // namespace

size_t FlowEventSink::drain(rte_ring* ring, const PolicyGenerations& generations) {
  constexpr unsigned kBatch = 64;
  FlowEvent events[kBatch];
  size_t total = 0;
  unsigned taken;
  close_windows();  // before new events, so a window that expired is summarised first
  while ((taken = rte_ring_sc_dequeue_burst_elem(ring, events, sizeof(FlowEvent), kBatch, nullptr)) > 0) {
    for (unsigned i = 0; i < taken; ++i) handle(events[i], generations.for_event(events[i]));
    total += taken;
  }
  poll();
  return total;
}

size_t FlowEventSink::drain(const std::vector<rte_ring*>& rings, const PolicyGenerations& generations) {
  if (rings.size() == 1) return drain(rings[0], generations);
  constexpr unsigned kBatch = 64;
  FlowEvent events[kBatch];
  size_t total = 0;
  close_windows();
  for (bool took = true; took;) {
    took = false;
    for (rte_ring* ring : rings) {
      const unsigned taken = rte_ring_sc_dequeue_burst_elem(ring, events, sizeof(FlowEvent), kBatch, nullptr);
      for (unsigned i = 0; i < taken; ++i) handle(events[i], generations.for_event(events[i]));
      total += taken;
      took = took || taken > 0;
    }
  }
  poll();
  return total;
}

void FlowEventSink::handle(const FlowEvent& event, const CompiledPolicy& policy) {
  bool denied = event.verdict == FlowVerdict::denied_enforced || event.verdict == FlowVerdict::denied_dry_run;
  if (denied) {
    ++denied_flows_;
    if (event.name_length) destination_.assign(event.name, event.name_length);
    else destination_ = format_ip(event.dst);
    denied_destinations_.count(destination_);
    const RecordNameViews names = name_views_of(event, policy);
    if (aggregator_.admit(event, names, destination_, now_ms())) write_denial(event, names, 1);
  }
  if (options_.flows) options_.flows->append(flow_log_json(event, policy, event_ids_.next()));
}

void FlowEventSink::write_denial(const FlowEvent& event, const RecordNameViews& names, uint64_t count) {
  if (!options_.denials) return;
  ++denial_records_;
  // One id for the record, whichever files it goes to: its JSON line and its protobuf copy are
  // the same record.
  char event_id_text[EventIdSource::kTextLength];
  const std::string_view event_id = event_ids_.next_into(event_id_text);
  std::string proto =
      options_.protobuf ? denial_record_proto(event, names, options_.appliance, clock_, count, event_id) : "";
  // Formatted straight into the log's queue: no string of its own.
  options_.denials->append_formatted(
      [&](std::string& out) { append_denial_record_json(out, event, names, options_.appliance, clock_, count, event_id); },
      proto, event.tsc);
}

void FlowEventSink::close_windows(bool all) {
  for (const auto& summary : aggregator_.close_windows(now_ms(), all))
    write_denial(summary.last, summary.names, summary.count);
}

void FlowEventSink::poll() {
  if (options_.denials) options_.denials->poll();
  if (options_.flows) options_.flows->poll();
}

}  // namespace sluice

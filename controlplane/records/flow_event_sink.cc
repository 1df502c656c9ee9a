#include "controlplane/records/flow_event_sink.h"

#include <algorithm>

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
  return drain(std::vector<rte_ring*>{ring}, generations);
}

size_t FlowEventSink::drain(const std::vector<rte_ring*>& rings, const PolicyGenerations& generations) {
  constexpr unsigned kBatch = 64;
  constexpr size_t kMaxRings = 64;
  FlowEvent events[kBatch];
  size_t total = 0;
  close_windows();  // before new events, so a window that expired is summarised first
  // What each ring holds now, and no more: workers that keep filling their rings (a flood of
  // denied flows) cannot keep the control thread here, away from reloads, learning and the
  // watchdog. Everything enqueued before the call is taken (a reload relies on it: the old
  // generation's events all precede the publish that calls this).
  size_t left[kMaxRings] = {};
  const size_t count = std::min(rings.size(), kMaxRings);
  for (size_t r = 0; r < count; ++r) left[r] = rte_ring_count(rings[r]);
  // Fairly: a batch from each ring in turn, so one worker's flood cannot hold back another's records.
  for (bool took = true; took;) {
    took = false;
    for (size_t r = 0; r < count; ++r) {
      if (left[r] == 0) continue;
      const unsigned want = unsigned(std::min<size_t>(kBatch, left[r]));
      const unsigned taken = rte_ring_sc_dequeue_burst_elem(rings[r], events, sizeof(FlowEvent), want, nullptr);
      for (unsigned i = 0; i < taken; ++i) handle(events[i], generations.for_event(events[i]));
      total += taken;
      left[r] = taken < want ? 0 : left[r] - taken;
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

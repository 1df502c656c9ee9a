// FlowEventSink's memory under a scan of distinct denied names (the measured fault: 95 → 315 MB
// after 400k names, one map entry each, kept forever).
#include "controlplane/records/flow_event_sink.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstring>
#include <string>

#include "dataplane/policy/compiled_policy.h"

namespace sluice {
namespace {

size_t allocated_bytes() { return mallinfo2().uordblks; }

FlowEvent denied_event(uint64_t i) {
  FlowEvent event;
  event.flow_id = i + 1;
  event.verdict = FlowVerdict::denied_enforced;
  event.reason = Reason::domain_not_allowed;
  event.destination_type = DestinationType::sni;
  event.protocol = 6;
  event.src_port = static_cast<uint16_t>(20000 + i % 40000);
  event.dst_port = 443;
  const std::string name = "scan-" + std::to_string(i) + ".denied.example.net";
  event.name_length = static_cast<uint8_t>(name.size());
  std::memcpy(event.name, name.data(), name.size());
  return event;
}

// Feeds `count` distinct denied names from `first` on; returns the allocated bytes after.
size_t feed(FlowEventSink& sink, const CompiledPolicy& policy, uint64_t first, uint64_t count) {
  for (uint64_t i = first; i < first + count; ++i) sink.handle(denied_event(i), policy);
  return allocated_bytes();
}

TEST(FlowEventSink, FourHundredThousandDistinctDeniedNamesLeaveMemoryFlatAfterTheFirst10k) {
  CompiledPolicy policy;
  FlowEventSink sink({.appliance = "test", .aggregation_window_ms = 0});
  const size_t after_10k = feed(sink, policy, 0, 10000);
  const size_t after_400k = feed(sink, policy, 10000, 390000);
  EXPECT_LT(after_400k - std::min(after_400k, after_10k), 256u * 1024)
      << "allocated bytes grew by " << after_400k - after_10k;
  EXPECT_EQ(sink.denied_flows(), 400000u);
  EXPECT_EQ(sink.top_denied(3).size(), 3u);
}

// With aggregation on, a window per (source, destination, reason) stays open for the window's
// length; their number is capped (DenialAggregator::kMaxOpenWindows), so memory is flat past it
// (65536 windows of distinct names measured ~10 MB).
TEST(FlowEventSink, AggregationWindowsAreBoundedToo) {
  CompiledPolicy policy;
  FlowEventSink sink({.appliance = "test", .aggregation_window_ms = 3'600'000});  // none closes
  const uint64_t cap = DenialAggregator::kMaxOpenWindows;
  const size_t at_cap = feed(sink, policy, 0, cap + 10000);
  const size_t after_400k = feed(sink, policy, cap + 10000, 400000 - cap - 10000);
  EXPECT_LT(after_400k - std::min(after_400k, at_cap), 256u * 1024)
      << "allocated bytes grew by " << after_400k - at_cap;
}

}  // namespace
}  // namespace sluice

// FlowEventSink's memory under a scan of distinct denied names (the measured fault: 95 → 315 MB
// after 400k names, one map entry each, kept forever).
#include "controlplane/records/flow_event_sink.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "controlplane/records/record_file_writer.h"
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

// A FlowEvent ring in plain memory (no EAL in this binary): one producer, one consumer.
rte_ring* event_ring(const char* name, unsigned count) {
  const ssize_t size = rte_ring_get_memsize_elem(sizeof(FlowEvent), count);
  auto* ring = static_cast<rte_ring*>(std::aligned_alloc(64, (size_t(size) + 63) / 64 * 64));
  EXPECT_EQ(rte_ring_init(ring, name, count, RING_F_SP_ENQ | RING_F_SC_DEQ), 0);
  return ring;
}

// Several workers: one worker floods its ring, another has three events; the other's events are
// handled within the first round of batches, not after the whole flood.
TEST(FlowEventSink, SeveralRingsAreDrainedFairly) {
  rte_ring* flood = event_ring("flood", 1024);
  rte_ring* quiet = event_ring("quiet", 16);
  for (uint64_t i = 0; i < 1000; ++i) {
    FlowEvent event = denied_event(i);
    ASSERT_EQ(rte_ring_sp_enqueue_elem(flood, &event, sizeof event), 0);
  }
  for (uint64_t i = 0; i < 3; ++i) {
    FlowEvent event = denied_event(5000 + i);
    ASSERT_EQ(rte_ring_sp_enqueue_elem(quiet, &event, sizeof event), 0);
  }
  const std::string path = (std::filesystem::temp_directory_path() / ("sluice-fair-" + std::to_string(getpid()))).string();
  std::filesystem::remove(path);
  RecordFileWriter flows;
  std::string error;
  ASSERT_TRUE(flows.open(path, RecordFraming::lines, error)) << error;
  CompiledPolicy policy;
  policy.generation = 1;
  PolicyGenerations generations{&policy};
  FlowEventSink sink({.appliance = "test", .flows = &flows, .aggregation_window_ms = 0});
  EXPECT_EQ(sink.drain(std::vector<rte_ring*>{flood, quiet}, generations), 1003u);
  flows.drain();
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1003u);
  size_t last_quiet = 0, quiet_seen = 0;
  for (size_t i = 0; i < lines.size(); ++i)
    for (const char* name : {"scan-5000.", "scan-5001.", "scan-5002."})
      if (lines[i].find(name) != std::string::npos) last_quiet = i, ++quiet_seen;
  EXPECT_EQ(quiet_seen, 3u);
  EXPECT_LT(last_quiet, 64u + 3u) << "the quiet worker's events waited behind the flood";
  std::filesystem::remove(path);
  std::free(flood);
  std::free(quiet);
}

// A worker that never stops filling its ring (a flood of denied flows faster than records are
// written) does not keep the control thread in drain(): one call takes at most what the ring
// held when it was called, then returns to the control loop (reloads, learning, the watchdog).
TEST(FlowEventSink, ADrainIsBoundedWhileTheRingKeepsFilling) {
  constexpr unsigned kRing = 1024;
  constexpr uint64_t kProduced = 400000;  // far more than a ring's worth
  rte_ring* ring = event_ring("refilled", kRing);
  for (uint64_t i = 0; i + 1 < kRing; ++i) {
    FlowEvent event = denied_event(i);
    ASSERT_EQ(rte_ring_sp_enqueue_elem(ring, &event, sizeof event), 0);
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> produced{kRing - 1};
  std::thread producer([&] {
    for (uint64_t i = kRing; produced.load() < kProduced && !stop.load();) {
      FlowEvent event = denied_event(i);
      if (rte_ring_sp_enqueue_elem(ring, &event, sizeof event) == 0) {
        ++i;
        produced.fetch_add(1);
      }
    }
  });
  CompiledPolicy policy;
  policy.generation = 1;
  FlowEventSink sink({.appliance = "test", .aggregation_window_ms = 0});
  const size_t first = sink.drain(std::vector<rte_ring*>{ring}, PolicyGenerations{&policy});
  const size_t single = sink.drain(ring, PolicyGenerations{&policy});
  stop = true;
  producer.join();
  EXPECT_GE(first, kRing - 1u);  // everything there when it was called
  EXPECT_LE(first, size_t(kRing));
  EXPECT_LE(single, size_t(kRing));
  // Nothing is lost: what is left is taken by later calls.
  size_t rest = 0;
  for (size_t taken; (taken = sink.drain(ring, PolicyGenerations{&policy})) > 0;) rest += taken;
  EXPECT_EQ(first + single + rest, produced.load());
  EXPECT_EQ(sink.denied_flows(), produced.load());
  std::free(ring);
}

}  // namespace
}  // namespace sluice

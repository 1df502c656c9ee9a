// DenialLog as sluiced uses it: opened before the EAL starts (the log must be ready before the
// ports), written after. This binary starts the EAL itself, inside the test, for that order.
#include "controlplane/records/denial_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "dataplane/port/eal.h"

namespace sluice {
namespace {

// The packet-to-disk latency used the TSC rate read at open, which is 0 before the EAL has
// measured it: every record was observed as infinitely late (issue #17).
TEST(DenialLog, LatencyIsMeasuredWhenTheLogOpensBeforeTheEal) {
  const auto directory = std::filesystem::path(::testing::TempDir()) / ("sluice_denial_log_" + std::to_string(getpid()));
  std::filesystem::remove_all(directory);
  LatencyHistogram latency;
  DenialLog log;
  DenialLogOptions options;
  options.directory = directory.string();
  std::string error;
  ASSERT_TRUE(log.open(options, &latency, error)) << error;

  ASSERT_TRUE(init_eal(portable_eal_args("sluice-unit-denial-log", "0", 128), error)) << error;
  const uint64_t tsc_hz = rte_get_tsc_hz();
  ASSERT_GT(tsc_hz, 0u);
  log.append(R"({"flow_id":1})", "", rte_rdtsc() - tsc_hz / 50);  // judged 20 ms ago
  log.drain();

  EXPECT_EQ(log.records_written(), 1u);
  ASSERT_EQ(latency.count(), 1u);
  EXPECT_GE(latency.sum_seconds(), 0.019);
  EXPECT_LT(latency.sum_seconds(), 5.0);
  EXPECT_EQ(latency.cumulative(LatencyHistogram::kUpperBounds.size() - 1), 1u);  // not in +Inf
  rte_eal_cleanup();
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace sluice

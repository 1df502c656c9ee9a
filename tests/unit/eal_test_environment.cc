// Starts the real DPDK EAL once for a test binary (no hugepages, no PCI, no shared files), so
// that LPM tables, hashes, rings and mbufs in the tests are DPDK's own.
#include <gtest/gtest.h>

#include <rte_eal.h>

#include "dataplane/port/eal.h"

namespace {

class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(sluice::init_eal(sluice::portable_eal_args("sluice-unit-test", "0", 512), error)) << error;
  }
  void TearDown() override { rte_eal_cleanup(); }
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new EalEnvironment);

}  // namespace

// The EAL of sluicectl's offline commands (compile, explain, replay, diff): no hugepages, no devices, one
// lcore, torn down when it goes out of scope. It is needed at all because the compiled policy's
// LPM tables live in DPDK memory.
#pragma once

#include <string>

#include <rte_eal.h>

#include "dataplane/port/eal.h"

namespace sluice {

class OfflineEal {
 public:
  // Each IPv4 rte_lpm costs 64 MiB (sources, allowed networks), plus rte_lpm6 tables and the
  // probe's mbufs: 512 MiB covers a policy set with both families and leaves room.
  static constexpr unsigned kMemoryMb = 512;

  OfflineEal() = default;
  explicit OfflineEal(unsigned memory_mb) : memory_mb_(memory_mb) {}
  OfflineEal(const OfflineEal&) = delete;
  OfflineEal& operator=(const OfflineEal&) = delete;
  ~OfflineEal() {
    if (up_) rte_eal_cleanup();
  }
  bool start(std::string& error) {
    up_ = init_eal(portable_eal_args("sluicectl", "0", memory_mb_), error);
    return up_;
  }

 private:
  unsigned memory_mb_ = kMemoryMb;
  bool up_ = false;
};

}  // namespace sluice

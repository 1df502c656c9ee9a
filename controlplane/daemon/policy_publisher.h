// Owns the running policy generation. Control thread only: loads, validates and compiles a
// policy off the worker path, publishes it through WorkerShared::policy in one atomic store,
// waits until every worker passed a quiescent state (rte_rcu_qsbr), and only then lets the old
// generation go. A refused policy changes nothing.
#pragma once

#include <memory>
#include <string>

#include "controlplane/records/flow_event_sink.h"
#include "controlplane/daemon/metrics_exporter.h"
#include "controlplane/policy/policy_slots.h"
#include "controlplane/policy/public_suffix_list.h"
#include "dataplane/worker/worker_loop.h"

namespace sluice {

class PolicyPublisher {
 public:
  // `hyperscan_cache_dir`: "" compiles every time.
  PolicyPublisher(std::string policy_path, WorkerShared& shared, unsigned worker_count, PolicySlots& slots,
                  ControlCounters& counters, const std::string& hyperscan_cache_dir = "");

  // Loads, validates, compiles and publishes the policy file. On success `message` says the new
  // generation; on failure it holds every error (FILE:LINE: FIELD: message), the running
  // generation stays and the failure is counted (after the first load).
  bool load_and_publish(std::string& message);

  // After a publish the previous generation stays readable until the caller has drained the
  // events it produced; then it is released here.
  PolicyGenerations generations() const { return {current_.get(), previous_.get()}; }
  void release_previous() { previous_.reset(); }

  const CompiledPolicy* current() const { return current_.get(); }
  const std::string& path() const { return policy_path_; }

 private:
  std::string policy_path_;
  WorkerShared& shared_;
  unsigned worker_count_;
  PolicySlots& slots_;
  ControlCounters& counters_;
  PublicSuffixList suffixes_;
  std::unique_ptr<CompiledPolicy> current_;
  std::unique_ptr<CompiledPolicy> previous_;
  uint64_t next_generation_ = 1;
  std::unique_ptr<HyperscanCache> cache_;
};

}  // namespace sluice

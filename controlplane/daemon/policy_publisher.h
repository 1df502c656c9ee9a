// Owns the running policy generation. Preparing a policy (load, validate, compile) touches no
// published state and may run on any thread, the compile thread of ReloadCoordinator included;
// publishing is control-thread only: one atomic store through WorkerShared::policy, a wait until
// every worker passed a quiescent state (rte_rcu_qsbr), and only then may the old generation go.
// A refused policy changes nothing.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "controlplane/records/flow_event_sink.h"
#include "controlplane/daemon/metrics_exporter.h"
#include "controlplane/policy/policy_slots.h"
#include "controlplane/policy/public_suffix_list.h"
#include "dataplane/worker/worker_loop.h"

namespace sluice {

// A policy loaded, validated and compiled but not published. Made by prepare(), consumed by
// publish() or discard().
struct PreparedPolicy {
  std::unique_ptr<CompiledPolicy> policy;  // null: refused; `errors` says why
  std::string errors;                      // FILE:LINE: FIELD: message lines, or the compile error
  std::string warnings;                    // FILE:LINE: warning: FIELD: message lines of an accepted policy
  double compile_seconds = 0;
  size_t databases = 0;                    // policies with domain patterns
  size_t databases_from_cache = 0;
  uint64_t cache_hits = 0, cache_misses = 0;
  std::vector<ServiceTagFileSummary> service_tags;  // the tag files this policy was expanded from
};

class PolicyPublisher {
 public:
  // `hyperscan_cache_dir`: "" compiles every time. `service_tag_files` are read again by every
  // prepare(), so a reload picks up new tag files too.
  PolicyPublisher(std::string policy_path, WorkerShared& shared, unsigned worker_count, PolicySlots& slots,
                  ControlCounters& counters, const std::string& hyperscan_cache_dir = "",
                  std::vector<std::string> service_tag_files = {});

  // Any thread, several at once: loads, validates and compiles the policy file as it is now.
  // Reads only what the constructor set (and PolicySlots, which locks).
  PreparedPolicy prepare() const;

  // Control thread. Publishes `prepared` as the next generation; on success `message` says the
  // new generation; on failure it holds every error, the running generation stays and the
  // failure is counted (after the first load).
  bool publish(PreparedPolicy prepared, std::string& message);
  // Control thread. A prepared policy that will never be published (a newer reload superseded
  // it): only its cache lookups are counted.
  void discard(PreparedPolicy prepared);

  // prepare() and publish() in one, on the calling thread (the first load, tests).
  bool load_and_publish(std::string& message) { return publish(prepare(), message); }

  // After a publish the previous generation stays readable until the caller has drained the
  // events it produced; then it is released here.
  PolicyGenerations generations() const { return {current_.get(), previous_.get()}; }
  void release_previous() { previous_.reset(); }

  const CompiledPolicy* current() const { return current_.get(); }
  const std::string& path() const { return policy_path_; }

 private:
  void count_cache_lookups(const PreparedPolicy& prepared);

  // Set by the constructor, read by prepare() on any thread.
  std::string policy_path_;
  unsigned worker_count_;
  PolicySlots& slots_;
  PublicSuffixList suffixes_;
  std::string hyperscan_cache_dir_;
  std::vector<std::string> service_tag_files_;
  // Every compile gets its own number, so the DPDK tables of compiles that overlap (an abandoned
  // one still running beside its successor) never share a name. Any thread.
  mutable std::atomic<uint64_t> next_compile_{1};

  // Control thread only.
  WorkerShared& shared_;
  ControlCounters& counters_;
  std::unique_ptr<CompiledPolicy> current_;
  std::unique_ptr<CompiledPolicy> previous_;
  uint64_t next_generation_ = 1;
};

}  // namespace sluice

#include "controlplane/daemon/policy_publisher.h"

#include <chrono>
#include <cstdio>

#include <rte_rcu_qsbr.h>

#include "controlplane/policy/policy_compiler.h"
#include "controlplane/policy/policy_loader.h"

namespace sluice {

namespace {
std::string format_milliseconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", seconds * 1000.0);
  return text;
}
}  // namespace

PolicyPublisher::PolicyPublisher(std::string policy_path, WorkerShared& shared, unsigned worker_count,
                                 PolicySlots& slots, ControlCounters& counters, const std::string& hyperscan_cache_dir)
    : policy_path_(std::move(policy_path)),
      shared_(shared),
      worker_count_(worker_count),
      slots_(slots),
      counters_(counters) {
  suffixes_.load();
  if (!hyperscan_cache_dir.empty()) cache_ = std::make_unique<HyperscanCache>(hyperscan_cache_dir);
}

bool PolicyPublisher::load_and_publish(std::string& message) {
  bool first = current_ == nullptr;
  auto refuse = [&](const std::string& errors) {
    message = errors;
    if (!first) counters_.policy_reload_failures.fetch_add(1);
    return false;
  };

  LoadedPolicy loaded = load_policy_file(policy_path_, suffixes_);
  if (!loaded.ok()) {
    std::string errors;
    for (const auto& error : loaded.errors) errors += error.to_string() + "\n";
    return refuse(errors);
  }
  CompileResult compiled = compile_policy(loaded.policy_set, next_generation_, worker_count_, &slots_, cache_.get());
  if (!compiled.policy) return refuse(policy_path_ + ": compile failed: " + compiled.error + "\n");

  // Any generation still held as `previous` has had its events drained by now.
  previous_.reset();
  previous_ = std::move(current_);
  current_ = std::move(compiled.policy);
  shared_.policy.store(current_.get(), std::memory_order_release);
  if (previous_ && shared_.qsbr) {
    // Returns once every online worker reported a quiescent state after the store above: from
    // then on no worker holds a pointer into the previous generation.
    rte_rcu_qsbr_synchronize(shared_.qsbr, RTE_QSBR_THRID_INVALID);
  }
  ++next_generation_;

  counters_.policy_generation = current_->generation;
  counters_.last_compile_us = static_cast<uint64_t>(compiled.seconds * 1e6);
  counters_.last_reload_unix_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  if (!first) counters_.policy_reloads.fetch_add(1);
  message = "generation " + std::to_string(current_->generation) + " (" + std::to_string(current_->policies.size()) +
            " policies, " + std::to_string(current_->attachments.size() - 1) + " attachments + default, compiled in " +
            format_milliseconds(compiled.seconds) + (cache_ ? ", " + std::to_string(compiled.databases_from_cache) + " of " +
                                                                  std::to_string(compiled.databases) + " Hyperscan databases from the cache"
                                                            : std::string()) +
            ")";
  if (cache_) {
    counters_.hyperscan_cache_hits = cache_->hits();
    counters_.hyperscan_cache_misses = cache_->misses();
  }
  return true;
}

}  // namespace sluice

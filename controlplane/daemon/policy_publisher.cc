#include "controlplane/daemon/policy_publisher.h"

#include <chrono>
#include <cstdio>

#include <rte_rcu_qsbr.h>

#include "controlplane/policy/policy_compiler.h"
#include "controlplane/policy/policy_loader.h"
#include "controlplane/policy/service_tag_catalog.h"

namespace sluice {

namespace {
std::string format_milliseconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", seconds * 1000.0);
  return text;
}
}  // namespace

PolicyPublisher::PolicyPublisher(std::string policy_path, WorkerShared& shared, unsigned worker_count,
                                 PolicySlots& slots, ControlCounters& counters, const std::string& hyperscan_cache_dir,
                                 std::vector<std::string> service_tag_files)
    : policy_path_(std::move(policy_path)),
      worker_count_(worker_count),
      slots_(slots),
      hyperscan_cache_dir_(hyperscan_cache_dir),
      service_tag_files_(std::move(service_tag_files)),
      shared_(shared),
      counters_(counters) {
  suffixes_.load();
}

PreparedPolicy PolicyPublisher::prepare() const {
  PreparedPolicy prepared;
  // The tag files as they are now: a malformed one refuses this policy like a policy error.
  ServiceTagCatalog service_tags;
  PolicyErrors tag_errors;
  if (!service_tags.load(service_tag_files_, tag_errors)) {
    for (const auto& error : tag_errors) prepared.errors += error.to_string() + "\n";
    return prepared;
  }
  prepared.service_tags = service_tags.summaries();
  LoadedPolicy loaded = load_policy_file(policy_path_, suffixes_, &service_tags);
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) prepared.errors += error.to_string() + "\n";
    return prepared;
  }
  for (const auto& warning : loaded.warnings) prepared.warnings += warning_text(warning) + "\n";
  // A cache object of its own: its hit and miss counts are this compile's alone.
  std::unique_ptr<HyperscanCache> cache;
  if (!hyperscan_cache_dir_.empty()) cache = std::make_unique<HyperscanCache>(hyperscan_cache_dir_);
  // Compiled under its compile number (it names the DPDK tables); publish() gives the generation.
  CompileResult compiled = compile_policy(loaded.policy_set, next_compile_.fetch_add(1), worker_count_, &slots_,
                                          cache.get());
  if (cache) {
    prepared.cache_hits = cache->hits();
    prepared.cache_misses = cache->misses();
  }
  if (!compiled.policy) {
    prepared.errors = policy_path_ + ": compile failed: " + compiled.error + "\n";
    return prepared;
  }
  prepared.policy = std::move(compiled.policy);
  prepared.compile_seconds = compiled.seconds;
  prepared.databases = compiled.databases;
  prepared.databases_from_cache = compiled.databases_from_cache;
  return prepared;
}

void PolicyPublisher::count_cache_lookups(const PreparedPolicy& prepared) {
  counters_.hyperscan_cache_hits.fetch_add(prepared.cache_hits);
  counters_.hyperscan_cache_misses.fetch_add(prepared.cache_misses);
}

void PolicyPublisher::discard(PreparedPolicy prepared) { count_cache_lookups(prepared); }

bool PolicyPublisher::publish(PreparedPolicy prepared, std::string& message) {
  bool first = current_ == nullptr;
  count_cache_lookups(prepared);
  if (!prepared.policy) {
    message = prepared.errors;
    if (!first) counters_.policy_reload_failures.fetch_add(1);
    return false;
  }

  // Any generation still held as `previous` has had its events drained by now.
  previous_.reset();
  previous_ = std::move(current_);
  current_ = std::move(prepared.policy);
  // Nobody has seen this policy yet: the generation number is given here, so that published
  // generations count up by one whatever compiles were refused or abandoned in between.
  current_->generation = next_generation_;
  shared_.policy.store(current_.get(), std::memory_order_release);
  if (previous_ && shared_.qsbr) {
    // Returns once every online worker reported a quiescent state after the store above: from
    // then on no worker holds a pointer into the previous generation.
    rte_rcu_qsbr_synchronize(shared_.qsbr, RTE_QSBR_THRID_INVALID);
  }
  ++next_generation_;

  counters_.policy_generation = current_->generation;
  counters_.service_tags.set(std::move(prepared.service_tags));
  counters_.last_compile_us = static_cast<uint64_t>(prepared.compile_seconds * 1e6);
  counters_.last_reload_unix_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  if (!first) counters_.policy_reloads.fetch_add(1);
  message = "generation " + std::to_string(current_->generation) + " (" + std::to_string(current_->policies.size()) +
            " policies, " + std::to_string(current_->attachments.size() - 1) + " attachments + default, compiled in " +
            format_milliseconds(prepared.compile_seconds) +
            (hyperscan_cache_dir_.empty() ? std::string()
                                          : ", " + std::to_string(prepared.databases_from_cache) + " of " +
                                                std::to_string(prepared.databases) + " Hyperscan databases from the cache") +
            ")";
  // Logged with the message: an accepted policy's warnings (shadowed rules, unused groups).
  if (!prepared.warnings.empty()) message += "; policy warnings:\n" + prepared.warnings.substr(0, prepared.warnings.size() - 1);
  return true;
}

}  // namespace sluice

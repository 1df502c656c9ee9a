// Translates a validated PolicySet (protobuf) into the dataplane's immutable CompiledPolicy:
// Hyperscan databases, LPM tables, port classes and per-worker scratch. Control thread only;
// needs EAL (the LPM tables live in DPDK memory).
#pragma once

#include <memory>
#include <string>

#include "controlplane/policy/policy_slots.h"
#include "dataplane/policy/compiled_policy.h"
#include "policy.pb.h"

namespace sluice {

struct CompileResult {
  std::unique_ptr<CompiledPolicy> policy;  // null on failure
  std::string error;
  double seconds = 0;
  size_t domain_patterns = 0;
  size_t database_bytes = 0;
  size_t databases_from_cache = 0;
  size_t databases = 0;  // policies with domain patterns
};

// `policy_set` must have passed validation. `worker_count` scratches are allocated. Counter
// slots come from `slots` (shared by every generation of a process); without it, slot = index.
// With `cache`, unchanged domain lists load their Hyperscan database instead of compiling it.
CompileResult compile_policy(const sluice::policy::PolicySet& policy_set, uint64_t generation,
                             unsigned worker_count, PolicySlots* slots = nullptr, HyperscanCache* cache = nullptr);

}  // namespace sluice

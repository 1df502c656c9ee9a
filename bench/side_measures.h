// The figures that are not packet rates: policy compile time and database size, memory per
// flow, denial records per second through the writer, packet-to-record latency.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bench/json.h"
#include "bench/profiles.h"
#include "dataplane/policy/compiled_policy.h"

namespace sluice::bench {

// Generates, loads + validates and compiles the benchmark policy of `domains` patterns.
// The compiled policy is handed back in `keep` when it is non-null.
Json measure_compile(uint32_t domains, DomainStyle style, std::unique_ptr<CompiledPolicy>* keep = nullptr);

// sluiced's start and restart as far as the policy goes: the policy file read, loaded +
// validated and compiled (with the Hyperscan cache the daemon keeps, in a directory under
// `scratch`), first with an empty cache (a first start), then again with the cache that start
// left (a restart), then after `changed_names` patterns of the file were replaced (a reload
// that changes a few names). What a restart waits on before its workers start.
Json measure_restart(uint32_t domains, DomainStyle style, const std::string& scratch, uint32_t changed_names = 10);

// DPDK heap taken by a flow table of `capacity` plus its FlowEntry array, per flow.
Json measure_flow_memory(uint32_t capacity);

// FlowEventSink + DenialLog (io_uring) turning `records` denial events into JSON lines in
// `path`, drained to disk at the end.
Json measure_writer(const CompiledPolicy& policy, const std::string& path, uint64_t records);

// Denied TLS connections paced at `connections_per_second` through the real worker while the
// feeder lcore plays the control thread (drain every millisecond, as sluiced does): the time
// from each verdict (worker TSC) to the control thread seeing its record written.
Json measure_record_latency(BenchContext& context, const BenchPolicy& policy, const std::string& path,
                            double connections_per_second, double seconds);

}  // namespace sluice::bench

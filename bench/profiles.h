// The traffic profiles of issue #5. Each builds its packets once (before any clock), then runs
// the same schedule through the pass-through baseline, the stateful baseline and the real
// worker, in turn, `repetitions` times, so that every figure has same-run baselines and a spread.
// The pass-through is the harness's own cost; the stateful baseline (a 5-tuple lookup a packet
// over the profile's flows, bench/stateful_baseline_loop.h) is the floor of the job, and
// Sluice's cycles a packet are reported as a ratio to it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/domains.h"
#include "bench/json.h"
#include "bench/ring_rig.h"
#include "dataplane/flow/flow_table.h"
#include "dataplane/policy/compiled_policy.h"
#include "dataplane/policy/learned_addresses.h"
#include "dataplane/route/neighbour_table.h"
#include "dataplane/route/routing_tables.h"
#include "dataplane/worker/stage/route.h"

namespace sluice::bench {

// Routed mode for the benchmark (issue #13): the tables a profile's worker routes by. The
// profiles' clients (198.18.0.0/16) are behind an inside gateway, everything else behind an
// outside one; with `snat`, the default route translates sources to the outside address.
struct RoutedBench {
  RoutingTables tables;
  NeighbourTable neighbours;
  bool snat = false;
  std::string id_prefix;  // "routed_" or "routed_snat_"
};
// Tables as described above; the frames' destination MAC is each port's own.
std::unique_ptr<RoutedBench> make_routed_bench(bool snat);

struct BenchContext {
  RingRig* rig = nullptr;
  int repetitions = 5;
  bool skip_baseline = false;  // for profiling the worker alone
  const RoutedBench* routed = nullptr;  // null: bridge mode
};

struct ProfileResult {
  std::string id;     // "established_1m_flows"
  std::string group;  // "established" | "new_tls" | "new_http" | "mix" | "dpi_reference"
  std::string title;
  Json params = Json::object();
  std::vector<RunResult> sluice;
  std::vector<RunResult> baseline;   // the pass-through
  std::vector<RunResult> stateful;   // the stateful baseline
  uint64_t stateful_keys = 0;        // flows in the stateful baseline's table
  double stateful_bytes_per_flow = 0;  // its DPDK heap / capacity
  uint64_t connections_per_run = 0;  // new connections in one run (0: established only)
  std::string error;                 // set when a run failed; the figures are then not valid
};

Json to_json(const ProfileResult& result);

// A compiled benchmark policy and what its domain list is made of.
struct BenchPolicy {
  const CompiledPolicy* compiled = nullptr;
  uint32_t domains = 0;
  DomainStyle style = DomainStyle::distinct;
};

// A fresh worker: its own flow table, counters and PacketProcessor on the rig's rings and pools.
// With `resolved`, every new-connection server address (198.19.1-250.1-250) is bound to one of
// the policy's allowed names, as if its clients had resolved it through the appliance first:
// name-address binding then looks up and matches the learned name for every connection, as it
// does for real clients (the bench's traffic carries no DNS before its hellos).
struct SluiceWorker : RigWorker {
  bool init(RingRig& rig, uint32_t capacity, bool emit_allowed_flows, std::string& error,
            const BenchPolicy* resolved = nullptr);
  std::unique_ptr<LearnedAddressTable> bound_table;
  std::atomic<const LearnedAddressTable*> bound{nullptr};
  // Routed mode: the router the worker loop runs this worker's bursts through, reading
  // `routed`'s tables (published once, never changed during a run).
  void enable_routing(RingRig& rig, const RoutedBench& routed);
  std::atomic<const RoutingTables*> routing{nullptr};
  std::atomic<const NeighbourTable*> neighbours{nullptr};
  RouterSetup router_setup;
  std::unique_ptr<Router> router;
  WorkerSpec spec(const CompiledPolicy& policy) {
    return {WorkerKind::sluice, processor.get(), counters.get(), &policy, nullptr, router.get()};
  }
};

// 1. Established flows: 64-byte packets visiting every flow in a shuffled order, both
// directions, verdicts cached; 8,192 recycled buffers a side carry them (restamped).
ProfileResult run_established(BenchContext& context, const BenchPolicy& policy, uint32_t flows,
                              uint64_t packets_per_run);

// quic: a new QUIC connection's two Initial datagrams (bench/quic_traffic.h), no handshake first.
enum class NewConnectionKind { tls_typical, tls_post_quantum, http, quic };
const char* to_string(NewConnectionKind kind);

// 2./3. New connections (SYN, SYN-ACK, ACK, first payload; for QUIC its two Initials), half to
// allowed names, half not.
ProfileResult run_new_connections(BenchContext& context, const BenchPolicy& policy, NewConnectionKind kind,
                                  uint32_t connections);

// 4. Mostly established IMIX traffic, ~3 % of packets in new TLS connections, ~2 % DNS.
ProfileResult run_mix(BenchContext& context, const BenchPolicy& policy, uint64_t packets);

// The nDPI comparison: TLS (typical and post-quantum) and HTTP connections, written to `pcap_path`
// as well; the names Sluice judged go to `names_path` and the names sent to `expected_path`.
ProfileResult run_dpi_reference(BenchContext& context, const BenchPolicy& policy, uint32_t connections,
                                const std::string& pcap_path, const std::string& names_path,
                                const std::string& expected_path);

}  // namespace sluice::bench

// sluice_bench: runs every benchmark of issue #5 in one process and writes one JSON file.
//
//   sluice_bench [--quick] [--out results.json] [--scratch DIR] [--only ID[,ID...]] [--reps N]
//                [--sluice-only] [--connections N]
//
// --quick shrinks every profile to seconds (the harness tests use it) and leaves out the largest
// ones (established 1M/4M flows, the 100k- and 1M-domain policies); --only keeps the profiles
// whose id starts with one of the given prefixes (and skips the side measures unless named:
// compile, restart, flow_memory, writer, latency; and the several-worker runs, workers); --sluice-only skips the baseline runs (for perf);
// --connections sets the new connections of a TLS/HTTP run (QUIC runs a quarter of them).
#include <sys/utsname.h>

#include <filesystem>
#include <algorithm>
#include <bit>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <hs/hs.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_version.h>

#include "bench/profiles.h"
#include "bench/side_measures.h"
#include "bench/worker_scaling.h"
#include "dataplane/port/eal.h"

namespace sluice::bench {
namespace {

struct Options {
  bool quick = false;
  bool sluice_only = false;
  bool hugepages = false;  // EAL on reserved 2 MB pages instead of --no-huge
  std::string out = "bench-results.json";
  std::string scratch = "/tmp/sluice-bench";
  std::vector<std::string> only;
  int reps = 0;
  uint32_t connections = 0;  // new connections a TLS/HTTP run (QUIC: a quarter); 0 = the default
};

bool parse(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--quick") options.quick = true;
    else if (arg == "--sluice-only") options.sluice_only = true;
    else if (arg == "--hugepages") options.hugepages = true;
    else if (arg == "--out") options.out = value();
    else if (arg == "--scratch") options.scratch = value();
    else if (arg == "--reps") options.reps = std::stoi(value());
    else if (arg == "--connections") options.connections = static_cast<uint32_t>(std::stoul(value()));
    else if (arg == "--only") {
      std::stringstream list(value());
      std::string item;
      while (std::getline(list, item, ',')) options.only.push_back(item);
    } else {
      std::cerr << "sluice_bench: unknown argument " << arg << "\n";
      return false;
    }
  }
  return true;
}

bool wanted(const Options& options, const std::string& id) {
  if (options.only.empty()) return true;
  for (const auto& prefix : options.only)
    if (id.rfind(prefix, 0) == 0) return true;
  return false;
}

std::string first_line_with(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      auto colon = line.find(':');
      std::string value = colon == std::string::npos ? line : line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  return "";
}

Json machine_json(const Options& options, unsigned memory_mb) {
  utsname name{};
  uname(&name);
  Json json = Json::object();
  json.set("cpu", first_line_with("/proc/cpuinfo", "model name"))
      .set("online_cpus", std::thread::hardware_concurrency())
      .set("memory", first_line_with("/proc/meminfo", "MemTotal"))
      .set("kernel", std::string(name.sysname) + " " + name.release)
      .set("hypervisor", first_line_with("/proc/cpuinfo", "flags").find("hypervisor") != std::string::npos)
      .set("tsc_hz", rte_get_tsc_hz())
      .set("dpdk", rte_version())
      .set("hyperscan", hs_version())
      .set("compiler", __VERSION__)
      .set("eal", "-l 0,1 --no-huge -m " + std::to_string(memory_mb) + " --no-pci; feeder lcore 0, worker lcore 1")
      .set("quick", options.quick);
  return json;
}

int run(const Options& options) {
  const unsigned memory_mb = options.quick ? 2048 : 7168;
  std::string error;
  std::vector<std::string> eal_args = portable_eal_args("sluice-bench", "0,1", memory_mb);
  if (options.hugepages) {
    // The same arguments on hugepages: --in-memory needs no hugetlbfs mount or files.
    std::replace(eal_args.begin(), eal_args.end(), std::string("--no-huge"), std::string("--in-memory"));
  }
  if (!init_eal(eal_args, error)) {
    std::cerr << "sluice_bench: " << error << "\n";
    return 1;
  }
  int status = 0;
  {
    RingRig rig;
    if (!rig.init(error)) {
      std::cerr << "sluice_bench: " << error << "\n";
      rte_eal_cleanup();
      return 1;
    }
    BenchContext context;
    context.rig = &rig;
    context.repetitions = options.reps ? options.reps : options.quick ? 2 : 5;
    std::filesystem::create_directories(options.scratch);

    Json results = Json::object();
    results.set("machine", machine_json(options, memory_mb)).set("repetitions", context.repetitions);
    Json profiles = Json::array();
    Json compile = Json::array();
    auto log = [](const std::string& text) { std::cerr << "sluice_bench: " << text << std::endl; };

    // The policies the packet profiles run against; their compilations are figures too.
    std::vector<uint32_t> policy_sizes = options.quick ? std::vector<uint32_t>{100, 2500}
                                                       : std::vector<uint32_t>{100, 2500, 100000};
    std::vector<std::unique_ptr<CompiledPolicy>> compiled;
    std::vector<BenchPolicy> policies;  // distinct names, by size; then the shared-suffix one
    auto compile_policy_of = [&](uint32_t domains, DomainStyle style) -> bool {
      log("compiling the " + std::to_string(domains) + "-domain policy (" + to_string(style) + ")");
      compiled.emplace_back();
      Json figure = measure_compile(domains, style, &compiled.back());
      if (!compiled.back()) {
        std::cerr << "sluice_bench: policy of " << domains << " domains: " << figure.dump() << "\n";
        return false;
      }
      if (domains != 100) compile.push(figure);
      policies.push_back({compiled.back().get(), domains, style});
      return true;
    };
    for (uint32_t domains : policy_sizes)
      if (!compile_policy_of(domains, DomainStyle::distinct)) return 1;
    if (!compile_policy_of(2500, DomainStyle::shared_suffix)) return 1;
    const BenchPolicy& policy_2500 = policies[1];
    // 100k names under one suffix: a compile figure only (issue 15's goal: ≤ 5 s).
    if (!options.quick && wanted(options, "compile")) {
      log("compiling the 100000-domain policy (shared_suffix)");
      compile.push(measure_compile(100000, DomainStyle::shared_suffix));
    }

    context.skip_baseline = options.sluice_only;
    auto record = [&](const ProfileResult& result) {
      Json json = to_json(result);
      auto mpps = json.find("sluice")->find("mpps")->find("median");
      log(result.id + ": " + (result.error.empty() ? std::to_string(mpps->number()) + " Mpps" : "ERROR " + result.error));
      if (!result.error.empty()) status = 1;
      profiles.push(json);
    };
    // 1. Established flows, at flow-table sizes from cache-resident to far beyond the caches
    // (the cost curve of issue 15); --quick keeps two small ones.
    std::vector<uint32_t> flow_counts = options.quick ? std::vector<uint32_t>{10000, 100000}
                                                      : std::vector<uint32_t>{10000, 100000, 1000000, 4000000};
    for (uint32_t flows : flow_counts) {
      // At least twice every flow a run (4M flows: 2.5 times), so that most lookups are not a first touch.
      uint64_t established_packets = options.quick ? 200000 : flows > 10000 ? 10000000 : 20000000;
      std::string id = "established_" + std::to_string(flows) + "_flows";
      if (wanted(options, id)) {
        log("running " + id);
        record(run_established(context, policy_2500, flows, established_packets));
      }
    }
    // 2./3. New connections against each policy (and the shared-suffix list, TLS only).
    uint32_t connections = options.quick ? 2048 : 524288;  // runs of ~0.5 s: long enough to judge
    if (options.connections) connections = options.connections;
    for (auto kind : {NewConnectionKind::tls_typical, NewConnectionKind::tls_post_quantum, NewConnectionKind::http,
                      NewConnectionKind::quic})
      for (const auto& policy : policies) {
        bool shared = policy.style == DomainStyle::shared_suffix;
        if (shared && kind != NewConnectionKind::tls_typical) continue;
        // QUIC against the smallest and the largest list (its cost is the Initials, not the match).
        if (kind == NewConnectionKind::quic && policy.domains == 2500) continue;
        std::string id = std::string("new_") + to_string(kind) + "_" + std::to_string(policy.domains) + "_domains" +
                         (shared ? "_shared_suffix" : "");
        if (!wanted(options, id)) continue;
        log("running " + id);
        // The shared-suffix list is slow to match, and a QUIC connection costs a key derivation and
        // two decryptions: fewer connections keep their runs short.
        record(run_new_connections(context, policy, kind,
                                   shared ? connections / 8 : kind == NewConnectionKind::quic ? connections / 4 : connections));
      }
    // Routed mode (issue #13): the established and new-TLS profiles again, through the router,
    // without and with SNAT, beside the bridge figures above (same run, same traffic).
    {
      const uint32_t routed_flows = options.quick ? 100000 : 1000000;
      const BenchPolicy& routed_policy = policies[options.quick ? 1 : 2];
      for (bool snat : {false, true}) {
        auto routed = make_routed_bench(snat);
        BenchContext routed_context = context;
        routed_context.routed = routed.get();
        std::string id = routed->id_prefix + "established_" + std::to_string(routed_flows) + "_flows";
        if (wanted(options, id)) {
          log("running " + id);
          record(run_established(routed_context, policy_2500, routed_flows, options.quick ? 200000 : 10000000));
        }
        id = routed->id_prefix + "new_tls_typical_" + std::to_string(routed_policy.domains) + "_domains";
        if (wanted(options, id)) {
          log("running " + id);
          record(run_new_connections(routed_context, routed_policy, NewConnectionKind::tls_typical, connections));
        }
      }
    }
    // 4. The mix.
    if (wanted(options, "mix_")) {
      log("running the mix");
      record(run_mix(context, policy_2500, options.quick ? 20000 : 4000000));
    }
    // The nDPI reference traffic (the peer itself runs from run.sh over the pcap).
    if (wanted(options, "dpi_reference")) {
      log("running the nDPI reference traffic");
      record(run_dpi_reference(context, policy_2500, options.quick ? 600 : 60000,
                               options.scratch + "/dpi_reference.pcap", options.scratch + "/sluice_names.tsv",
                               options.scratch + "/expected_names.tsv"));
    }
    Json side = Json::object();
    if (wanted(options, "flow_memory")) {
      log("measuring memory per flow");
      side.set("flow_memory", measure_flow_memory(1 << 20));
      // And at the capacity of each established profile's table, for the scaling table.
      Json by_capacity = Json::array();
      for (uint32_t flows : flow_counts)
        by_capacity.push(measure_flow_memory(std::max<uint32_t>(65536, std::bit_ceil(flows))));
      side.set("flow_memory_by_capacity", by_capacity);
    }
    if (wanted(options, "writer")) {
      log("measuring the denial writer");
      side.set("writer", measure_writer(*policy_2500.compiled, options.scratch + "/writer-denials.jsonl",
                                        options.quick ? 20000 : 1000000));
    }
    if (wanted(options, "latency")) {
      log("measuring packet-to-record latency");
      side.set("record_latency", measure_record_latency(context, policy_2500, options.scratch + "/latency-denials.jsonl",
                                                        options.quick ? 2000 : 20000, options.quick ? 0.5 : 3));
    }
    // The largest allow-list: its compile time is a figure, and new TLS connections against it are
    // the last point of the connections-against-allow-list-size curve.
    const std::string largest_tls = "new_tls_typical_1000000_domains";
    if (!options.quick && (wanted(options, "compile") || wanted(options, largest_tls))) {
      policies.clear();  // room for the big one
      compiled.clear();
      log("compiling the 1,000,000-domain policy (about a minute)");
      std::unique_ptr<CompiledPolicy> largest;
      Json figure = measure_compile(1000000, DomainStyle::distinct, &largest);
      if (wanted(options, "compile")) compile.push(figure);
      if (largest && wanted(options, largest_tls)) {
        log("running " + largest_tls);
        record(run_new_connections(context, {largest.get(), 1000000, DomainStyle::distinct},
                                   NewConnectionKind::tls_typical, connections));
      }
    }
    // Start, restart (the Hyperscan cache warm) and a reload that changes ten names: what the
    // daemon does with its policy file before workers run, at a typical and the largest list.
    if (wanted(options, "restart")) {
      Json restarts = Json::array();
      std::vector<std::pair<uint32_t, DomainStyle>> lists =
          options.quick ? std::vector<std::pair<uint32_t, DomainStyle>>{{2500, DomainStyle::distinct}}
                        : std::vector<std::pair<uint32_t, DomainStyle>>{{100000, DomainStyle::distinct},
                                                                        {100000, DomainStyle::shared_suffix},
                                                                        {1000000, DomainStyle::distinct}};
      for (const auto& [domains, style] : lists) {
        log("measuring start and restart with the " + std::to_string(domains) + "-domain policy (" + to_string(style) + ")");
        restarts.push(measure_restart(domains, style, options.scratch));
      }
      side.set("restart", restarts);
    }
    // Several workers (issue #18): 1 and 2 workers on the same preloaded traffic
    // (bench/worker_scaling.h); only when asked for by name (`--only workers`).
    if (!options.only.empty() && wanted(options, "workers_")) {
      WorkerScalingOptions scaling;
      scaling.flows = options.quick ? 100000 : 1000000;
      scaling.repetitions = context.repetitions;
      log("running workers_established_" + std::to_string(scaling.flows) + "_flows (1 and 2 workers)");
      Json workers = run_worker_scaling(*policy_2500.compiled, scaling);
      bool ok = workers.find("ok") && workers.find("ok")->dump() == "true";
      log(std::string("workers: ") + (ok ? "ok" : "ERROR " + workers.dump()));
      if (!ok) status = 1;
      results.set("workers", workers);
    }
    results.set("profiles", profiles);
    side.set("compile", compile);
    results.set("side", side);

    std::ofstream out(options.out);
    out << results.dump(2) << "\n";
    if (!out) {
      std::cerr << "sluice_bench: cannot write " << options.out << "\n";
      status = 1;
    } else {
      log("wrote " + options.out);
    }
  }
  rte_eal_cleanup();
  return status;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
  sluice::bench::Options options;
  if (!sluice::bench::parse(argc, argv, options)) return 2;
  return sluice::bench::run(options);
}

#include "bench/side_measures.h"
#include <sys/vfs.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "bench/domains.h"
#include "bench/dpdk_heap.h"
#include "bench/packet_store.h"
#include "bench/stateful_baseline_loop.h"
#include "controlplane/records/flow_event_json.h"
#include "controlplane/records/flow_event_sink.h"
#include "controlplane/records/denial_log.h"
#include "controlplane/policy/policy_compiler.h"
#include "controlplane/policy/policy_loader.h"
#include "controlplane/policy/public_suffix_list.h"
#include "dataplane/domain/hyperscan_cache.h"

namespace sluice::bench {

namespace {

uint64_t g_generation = 1000;  // LPM table names carry the generation: one per compile

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string filesystem_of(const std::string& path) {
  struct statfs info{};
  if (statfs(std::filesystem::path(path).parent_path().c_str(), &info) != 0) return "unknown";
  switch (static_cast<unsigned long>(info.f_type)) {
    case 0x01021994: return "tmpfs";
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794c7630: return "overlayfs";
    default: {
      char hex[32];
      std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(info.f_type));
      return hex;
    }
  }
}

FlowEvent denial_event(uint64_t index, uint32_t domains) {
  FlowEvent event;
  event.flow_id = index + 1;
  event.tsc = rte_rdtsc();
  event.generation = 1;
  event.src.family = event.dst.family = 4;
  uint32_t src = ipv4(198, 18, static_cast<uint8_t>(index >> 8), static_cast<uint8_t>(index));
  uint32_t dst = ipv4(198, 19, 1, static_cast<uint8_t>(index));
  for (int i = 0; i < 4; ++i) {
    event.src.bytes[i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    event.dst.bytes[i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
  }
  event.src_port = static_cast<uint16_t>(32768 + index % 28000);
  event.dst_port = 443;
  event.attachment_index = 1;
  event.policy_index = 0;
  event.protocol = 6;
  event.verdict = FlowVerdict::denied_enforced;
  event.reason = Reason::domain_not_allowed;
  event.destination_type = DestinationType::sni;
  std::string name = denied_name(static_cast<uint32_t>(index), domains, DomainStyle::distinct);
  event.name_length = static_cast<uint8_t>(name.size());
  std::memcpy(event.name, name.data(), name.size());
  return event;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p / 100.0 * double(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

// The denial record as the JSON library would write it: the reference the hand-tuned
// denial_record_json is measured against (it must write the same bytes, only faster).
std::string denial_record_library_json(const FlowEvent& event, const RecordNames& names, const std::string& appliance,
                                       const EventClock& clock) {
  nlohmann::ordered_json line;
  line["event_time"] = clock.format(event.tsc);
  line["access_type"] = to_string(event.verdict);
  line["policy"] = names.policy;
  line["source_label"] = names.source_label;
  line["src_ip"] = format_ip(event.src);
  line["src_port"] = event.src_port;
  line["dst_ip"] = format_ip(event.dst);
  line["dst_port"] = event.dst_port;
  line["protocol"] = protocol_name(event.protocol);
  line["destination_type"] = to_string(event.destination_type);
  line["destination"] = destination_of(event);
  line["reason"] = to_string(event.reason);
  line["flow_id"] = event.flow_id;
  line["appliance"] = appliance;
  line["count"] = 1;
  line["event_id"] = "";
  for (const auto& [key, value] : names.record_fields) line[key] = value;
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

Json measure_compile(uint32_t domains, DomainStyle style, std::unique_ptr<CompiledPolicy>* keep) {
  Json json = Json::object();
  json.set("domains", domains).set("domain_style", to_string(style));
  auto started = std::chrono::steady_clock::now();
  std::string text = bench_policy_text(domains, style);
  json.set("generate_seconds", seconds_since(started)).set("policy_text_bytes", text.size());
  PublicSuffixList suffixes;
  suffixes.load();
  started = std::chrono::steady_clock::now();
  LoadedPolicy loaded = load_policy_text(text, "bench.textproto", suffixes);
  json.set("load_validate_seconds", seconds_since(started));
  if (!loaded.ok()) {
    json.set("error", loaded.errors.empty() ? "refused" : loaded.errors[0].to_string());
    return json;
  }
  text.clear();
  text.shrink_to_fit();
  CompileResult result = compile_policy(loaded.policy_set, ++g_generation, 1);
  if (!result.policy) {
    json.set("error", result.error);
    return json;
  }
  json.set("compile_seconds", result.seconds)
      .set("domain_patterns", result.domain_patterns)
      .set("database_bytes", result.database_bytes)
      .set("database_bytes_per_pattern", double(result.database_bytes) / double(std::max<size_t>(1, domains)));
  if (keep) *keep = std::move(result.policy);
  return json;
}

namespace {

// One pass of what sluiced does with its policy file before its workers can start (policy_publisher.cc):
// the public suffix list, the file loaded and validated, the policy compiled with the cache in `cache_dir`.
Json policy_start(const std::string& path, const std::string& cache_dir) {
  Json json = Json::object();
  const auto started = std::chrono::steady_clock::now();
  PublicSuffixList suffixes;
  suffixes.load();
  json.set("suffix_list_seconds", seconds_since(started));
  auto phase = std::chrono::steady_clock::now();
  LoadedPolicy loaded = load_policy_file(path, suffixes);
  json.set("load_validate_seconds", seconds_since(phase));
  if (!loaded.ok()) return json.set("error", loaded.errors.empty() ? "refused" : loaded.errors[0].to_string());
  phase = std::chrono::steady_clock::now();
  HyperscanCache cache(cache_dir);
  CompileResult result = compile_policy(loaded.policy_set, ++g_generation, 1, nullptr, &cache);
  json.set("compile_seconds", seconds_since(phase));
  if (!result.policy) return json.set("error", result.error);
  // The clock stops with the policy ready; freeing it (a benchmark's chore) is not counted.
  const double total = seconds_since(started);
  result.policy.reset();
  return json.set("total_seconds", total)
      .set("hyperscan_databases", result.databases)
      .set("hyperscan_databases_from_cache", result.databases_from_cache);
}

}  // namespace

Json measure_restart(uint32_t domains, DomainStyle style, const std::string& scratch, uint32_t changed_names) {
  Json json = Json::object();
  json.set("domains", domains).set("domain_style", to_string(style)).set("changed_names", changed_names);
  const std::string stem = scratch + "/restart-" + std::to_string(domains) + "-" + to_string(style);
  const std::string path = stem + ".textproto";
  const std::string cache_dir = stem + "-hyperscan-cache";
  std::error_code ignored;
  std::filesystem::remove_all(cache_dir, ignored);
  std::filesystem::create_directories(cache_dir, ignored);
  std::string text = bench_policy_text(domains, style);
  auto write = [&](const std::string& body) {
    std::ofstream out(path, std::ios::trunc);
    out << body;
    return bool(out);
  };
  if (!write(text)) return json.set("error", "cannot write " + path);
  json.set("policy_text_bytes", text.size());
  json.set("first_start", policy_start(path, cache_dir));
  json.set("restart", policy_start(path, cache_dir));
  // A reload that changes a few names: the first `changed_names` patterns replaced by others.
  for (uint32_t n = 0; n < changed_names && n < domains; ++n) {
    const std::string line = "allowed_domains: \"" + domain_pattern(n, style) + "\"\n";
    const size_t at = text.find(line);
    if (at != std::string::npos)
      text.replace(at, line.size(), "allowed_domains: \"" + domain_pattern(domains + n, style) + "\"\n");
  }
  if (!write(text)) return json.set("error", "cannot write " + path);
  json.set("reload_changed_names", policy_start(path, cache_dir));
  // The same policy as a binary file (.pb, which sluiced also reads): the text parse and its
  // line bookkeeping left out, the validation kept; the cache as the reload left it.
  {
    PublicSuffixList suffixes;
    suffixes.load();
    LoadedPolicy loaded = load_policy_text(text, "bench.textproto", suffixes);
    const std::string binary_path = stem + ".pb";
    std::string bytes;
    if (loaded.ok() && loaded.policy_set.SerializeToString(&bytes)) {
      std::ofstream(binary_path, std::ios::trunc | std::ios::binary) << bytes;
      json.set("restart_binary", policy_start(binary_path, cache_dir));
      std::filesystem::remove(binary_path, ignored);
    }
  }
  std::filesystem::remove(path, ignored);
  std::filesystem::remove_all(cache_dir, ignored);
  return json;
}

Json measure_flow_memory(uint32_t capacity) {
  Json json = Json::object();
  size_t before = dpdk_heap_bytes();
  FlowTable table;
  std::string error;
  if (!table.init("bench_memory_flows", capacity, SOCKET_ID_ANY, error)) return json.set("error", error);
  size_t hash_bytes = dpdk_heap_bytes() - before;
  // FlowTable keeps one FlowEntry per rte_hash position beside the hash (a std::vector), and
  // one FlowName a position, reserved but written (so resident) only for flows judged on a name.
  size_t entry_bytes = sizeof(FlowEntry) * size_t(capacity);
  size_t name_bytes = sizeof(FlowName) * size_t(capacity);
  json.set("capacity", capacity)
      .set("flow_key_bytes", sizeof(FlowKey))
      .set("flow_entry_bytes", sizeof(FlowEntry))
      .set("flow_name_bytes", sizeof(FlowName))
      .set("rte_hash_bytes", hash_bytes)
      .set("entry_array_bytes", entry_bytes)
      .set("name_array_bytes", name_bytes)
      .set("bytes_per_flow", double(hash_bytes + entry_bytes) / double(capacity))
      .set("bytes_per_named_flow", double(hash_bytes + entry_bytes + name_bytes) / double(capacity));
  // Issue 15's goal counts what a flow costs beside its key: at most 64 bytes.
  json.set("bytes_per_flow_beyond_key", double(hash_bytes + entry_bytes) / double(capacity) - double(sizeof(FlowKey)))
      .set("goal_bytes_per_flow_beyond_key", 64);
  // The stateful baseline's table at the same capacity (16-byte key, 8 bytes of state), for scale.
  StatefulBaselineTable floor;
  if (floor.build("bench_memory_stateful", {}, capacity, error))
    json.set("stateful_baseline_bytes_per_flow", double(floor.bytes()) / double(floor.capacity()))
        .set("stateful_baseline_key_bytes", sizeof(FiveTuple));
  return json;
}

// The denial log as sluiced writes it, in one file at `path`, never rotated.
DenialLogOptions bench_log_options(const std::string& path) {
  std::filesystem::path file(path);
  DenialLogOptions options;
  options.directory = file.has_parent_path() ? file.parent_path().string() : ".";
  options.file_name = file.filename().string();
  options.max_bytes = 0;
  options.max_age_seconds = 0;
  return options;
}

Json measure_writer(const CompiledPolicy& policy, const std::string& path, uint64_t records) {
  Json json = Json::object();
  std::filesystem::remove(path);
  std::vector<FlowEvent> events;
  events.reserve(records);
  for (uint64_t i = 0; i < records; ++i) events.push_back(denial_event(i, 2500));

  // Formatting alone, to tell the JSON cost from the I/O cost.
  EventClock clock;
  auto started = std::chrono::steady_clock::now();
  size_t formatted_bytes = 0;
  // As the sink formats: into one buffer kept across records, names viewed in the generation.
  std::string line;
  for (const auto& event : events) {
    line.clear();
    append_denial_record_json(line, event, name_views_of(event, policy), "bench", clock);
    formatted_bytes += line.size();
  }
  double format_seconds = seconds_since(started);
  // The same records through the JSON library, to show whether the hand-tuned formatter pays.
  started = std::chrono::steady_clock::now();
  size_t library_bytes = 0;
  for (const auto& event : events)
    library_bytes += denial_record_library_json(event, names_of(event, policy), "bench", clock).size();
  double library_seconds = seconds_since(started);
  bool same_bytes = true;
  for (size_t i = 0; i < std::min<size_t>(events.size(), 100); ++i) {
    RecordNames names = names_of(events[i], policy);
    same_bytes = same_bytes && denial_record_json(events[i], names, "bench", clock) ==
                                   denial_record_library_json(events[i], names, "bench", clock);
  }

  DenialLog writer;
  std::string error;
  if (!writer.open(bench_log_options(path), nullptr, error)) return json.set("error", error);
  FlowEventSink sink({"bench", &writer, nullptr, 0, false});
  started = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < records; ++i) {
    sink.handle(events[i], policy);
    if ((i & 63) == 63) sink.poll();  // as the control thread: a drain's batch, then poll
  }
  // What the control thread did (the records formatted, queued and handed to io_uring) apart
  // from the final drain: the rest of the writes and one fdatasync, which is the disk's speed.
  const double queued_seconds = seconds_since(started);
  writer.drain();
  double seconds = seconds_since(started);
  json.set("records", records)
      .set("queued_seconds", queued_seconds)
      .set("drain_seconds", seconds - queued_seconds)
      .set("seconds", seconds)
      .set("records_per_second", double(records) / seconds)
      .set("bytes_written", writer.bytes_written())
      .set("lines_written", writer.records_written())
      .set("write_errors", writer.write_errors())
      .set("format_only_records_per_second", double(records) / format_seconds)
      .set("library_format_only_records_per_second", double(records) / library_seconds)
      .set("library_format_same_bytes", same_bytes && library_bytes == formatted_bytes)
      .set("mean_record_bytes", double(formatted_bytes) / double(std::max<uint64_t>(1, records)))
      .set("filesystem", filesystem_of(path))
      .set("includes", "JSON formatting, io_uring writes in batches, one fdatasync at the end");
  std::filesystem::remove(path);
  return json;
}

Json measure_record_latency(BenchContext& context, const BenchPolicy& bench_policy, const std::string& path,
                            double connections_per_second, double seconds) {
  const CompiledPolicy& policy = *bench_policy.compiled;
  Json json = Json::object();
  const uint32_t connections = static_cast<uint32_t>(connections_per_second * seconds);
  std::filesystem::remove(path);

  // Denied TLS connections only: every one makes exactly one record.
  ScheduleBuilder builder;
  for (uint32_t c = 0; c < connections; ++c) {
    Endpoint client{ipv4(198, 18, static_cast<uint8_t>(c >> 8), static_cast<uint8_t>(c)),
                    static_cast<uint16_t>(40000 + (c >> 16))};
    Endpoint server{ipv4(198, 19, 7, static_cast<uint8_t>(1 + c % 250)), 443};
    std::string name = denied_name(c, bench_policy.domains, bench_policy.style);
    ConnectionFrames frames = connection_frames(client, server, client_hello(name, HelloSize::typical));
    double slot = double(c) * 4;
    uint32_t syn = builder.add(Side::inside, slot, frames.syn);
    uint32_t syn_ack = builder.add(Side::outside, slot + 1, frames.syn_ack, syn);
    builder.add(Side::inside, slot + 2, frames.ack, syn_ack);
    builder.add(Side::inside, slot + 2, frames.payload[0]);
  }
  Schedule schedule = builder.build();

  SluiceWorker worker;
  std::string error;
  if (!worker.init(*context.rig, 65536 * 4, false, error)) return json.set("error", error);
  DenialLog writer;
  if (!writer.open(bench_log_options(path), nullptr, error)) return json.set("error", error);
  FlowEventSink sink({"bench", &writer, nullptr, 0, false});

  // The control thread's loop, as in appliance.cc: take the events, format, let io_uring work.
  std::vector<uint64_t> verdict_tsc;
  verdict_tsc.reserve(connections);
  std::vector<double> latencies_us;
  latencies_us.reserve(connections);
  size_t seen_written = 0;
  const double us_per_tsc = 1e6 / double(rte_get_tsc_hz());
  auto control_pass = [&](uint64_t) {
    FlowEvent events[64];
    unsigned count;
    while ((count = rte_ring_sc_dequeue_burst_elem(context.rig->events(), events, sizeof(FlowEvent), 64, nullptr)) > 0)
      for (unsigned i = 0; i < count; ++i) {
        sink.handle(events[i], policy);
        verdict_tsc.push_back(events[i].tsc);
      }
    sink.poll();
    uint64_t observed = rte_rdtsc();
    for (; seen_written < writer.records_written() && seen_written < verdict_tsc.size(); ++seen_written)
      latencies_us.push_back(double(observed - verdict_tsc[seen_written]) * us_per_tsc);
  };
  RunOptions options;
  options.pace_pps = connections_per_second * 4;
  options.on_tick = control_pass;
  options.tick_period_us = 1000;
  RunResult run = context.rig->run(schedule, worker.spec(policy), options);
  // The last records: keep the control thread's cadence until they are written.
  uint64_t hz = rte_get_tsc_hz(), deadline = rte_rdtsc() + 2 * hz;
  while ((rte_ring_count(context.rig->events()) > 0 || seen_written < verdict_tsc.size()) && rte_rdtsc() < deadline) {
    rte_delay_us_block(1000);
    control_pass(rte_rdtsc());
  }
  if (!run.ok) return json.set("error", run.error);
  std::sort(latencies_us.begin(), latencies_us.end());
  json.set("connections", connections)
      .set("connections_per_second", connections_per_second)
      .set("events_dropped", run.events_dropped)
      .set("records", verdict_tsc.size())
      .set("records_measured", latencies_us.size())
      .set("control_period_us", options.tick_period_us)
      .set("p50_us", percentile(latencies_us, 50))
      .set("p90_us", percentile(latencies_us, 90))
      .set("p99_us", percentile(latencies_us, 99))
      .set("p999_us", percentile(latencies_us, 99.9))
      .set("max_us", latencies_us.empty() ? 0.0 : latencies_us.back())
      .set("filesystem", filesystem_of(path))
      .set("measures", "worker verdict (TSC) → io_uring write completion seen by the control loop (page cache, no fsync)");
  writer.drain();
  std::filesystem::remove(path);
  return json;
}

}  // namespace sluice::bench

#include "cli/replay.h"

#include <pcap/pcap.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "controlplane/config/config_loader.h"
#include "controlplane/records/flow_event_sink.h"
#include "controlplane/policy/learned_address_state.h"
#include "controlplane/policy/learned_address_store.h"
#include "controlplane/policy/policy_compiler.h"
#include "controlplane/policy/policy_loader.h"
#include "controlplane/config/processor_settings.h"
#include "controlplane/policy/public_suffix_list.h"
#include "controlplane/records/run_summary.h"
#include "cli/service_tag_files.h"
#include "dataplane/port/eal.h"
#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/worker_rig.h"
#include "cli/offline_eal.h"

namespace sluice {

namespace {

constexpr uint32_t kReplayAgingBudget = 256;  // flow-table positions aged per burst

struct ReplayPlatform {
  WorkerRig rig;
  pcap_t* capture = nullptr;
  pcap_t* dead = nullptr;  // the link type for the output captures
  pcap_dumper_t* forwarded = nullptr;
  pcap_dumper_t* replies = nullptr;
  ~ReplayPlatform() {
    if (forwarded) pcap_dump_close(forwarded);
    if (replies) pcap_dump_close(replies);
    if (dead) pcap_close(dead);
    if (capture) pcap_close(capture);
    rig.release();
  }
};

// Writes `count` frames to `dumper` (when set) with the timestamp of the burst, then frees them.
void dump_and_free(pcap_dumper_t* dumper, rte_mbuf** frames, uint16_t count, const timeval& when) {
  for (uint16_t i = 0; i < count; ++i) {
    if (dumper) {
      pcap_pkthdr header{};
      header.ts = when;
      header.caplen = header.len = rte_pktmbuf_data_len(frames[i]);
      pcap_dump(reinterpret_cast<u_char*>(dumper), &header, rte_pktmbuf_mtod(frames[i], const u_char*));
    }
    rte_pktmbuf_free(frames[i]);
  }
}

// The side a frame arrived on: its source MAC (bytes 6-11) against the outside MAC.
Side side_of(const ReplayOptions& options, const u_char* bytes, uint32_t length) {
  if (!options.has_outside_mac || length < 12) return Side::inside;
  return std::memcmp(bytes + 6, options.outside_mac.data(), 6) == 0 ? Side::outside : Side::inside;
}

}  // namespace

bool parse_mac_address(std::string_view text, std::array<uint8_t, 6>& out) {
  if (text.size() != 17) return false;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 6; ++i) {
    const int high = hex(text[i * 3]), low = hex(text[i * 3 + 1]);
    if (high < 0 || low < 0 || (i < 5 && text[i * 3 + 2] != ':')) return false;
    out[i] = uint8_t(high * 16 + low);
  }
  return true;
}

std::string check_capture(const std::string& path) {
  char pcap_error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* capture = pcap_open_offline(path.c_str(), pcap_error);
  if (!capture) return path + ": not a readable pcap capture: " + pcap_error;
  const int link_type = pcap_datalink(capture);
  pcap_close(capture);
  if (link_type != DLT_EN10MB)
    return path + ": only Ethernet captures are supported (link type " + std::to_string(link_type) + ")";
  return "";
}

int replay_capture(const ReplayOptions& options, const policy::PolicySet& policy_set,
                   const config::ApplianceConfig& settings, ReplayPass& pass, std::ostream& err) {
  const std::string prefix = "sluicectl " + options.command + ": ";
  ReplayPlatform platform;
  char pcap_error[PCAP_ERRBUF_SIZE] = {};
  platform.capture = pcap_open_offline(options.pcap_path.c_str(), pcap_error);
  if (!platform.capture) {
    err << prefix << options.pcap_path << ": " << pcap_error << "\n";
    return 2;
  }
  if (pcap_datalink(platform.capture) != DLT_EN10MB) {
    err << prefix << options.pcap_path << ": only Ethernet captures are supported (link type "
        << pcap_datalink(platform.capture) << ")\n";
    return 2;
  }
  platform.dead = pcap_open_dead(DLT_EN10MB, 65535);
  for (auto [path, dumper] : {std::pair{&options.forwarded_path, &platform.forwarded},
                              std::pair{&options.replies_path, &platform.replies}}) {
    if (path->empty()) continue;
    *dumper = pcap_dump_open(platform.dead, path->c_str());
    if (!*dumper) {
      err << prefix << *path << ": " << pcap_geterr(platform.dead) << "\n";
      return 2;
    }
  }

  std::string error;
  DenialLog denial_log;
  RecordFileWriter flow_log;
  DenialLogOptions denial_options;  // no rotation: one replay, one file
  denial_options.max_bytes = 0;
  denial_options.max_age_seconds = 0;
  std::filesystem::path denials_path(options.denials_path);
  denial_options.directory = denials_path.has_parent_path() ? denials_path.parent_path().string() : ".";
  denial_options.file_name = denials_path.filename().string();
  if (!options.denials_path.empty() && !denial_log.open(denial_options, nullptr, error)) {
    err << prefix << error << "\n";
    return 2;
  }
  if (!options.flows_path.empty() && !flow_log.open(options.flows_path, RecordFraming::lines, error)) {
    err << prefix << error << "\n";
    return 2;
  }

  PolicySlots slots;
  CompileResult compiled = compile_policy(policy_set, 1, 1, &slots);
  if (!compiled.policy) {
    err << prefix << "compile failed: " << compiled.error << "\n";
    return 2;
  }
  {
    std::unique_ptr<CompiledPolicy> policy = std::move(compiled.policy);
    std::atomic<const LearnedAddressTable*> learned_table{nullptr};
    LearnedAddressStore learned(1u << 20);
    PacketProcessorSetup setup;
    setup.emit_allowed_flows = true;
    apply_processor_settings(settings, setup);
    // The capture's own timestamps are the clock: timeouts and DNS TTLs replay as they happened.
    setup.external_clock = true;
    setup.learned_table = &learned_table;
    if (!options.learned_state_path.empty()) {
      // The capture's clock starts at 1 s (clock_of below); the file's wall-clock expiries count
      // from now, as if the capture began as it is read.
      auto slot_of = [&](const std::string& name) -> int {
        for (const auto& ruleset : policy->policies)
          if (ruleset.name == name) return ruleset.counter_slot;
        return -1;
      };
      LearnedStateLoad loaded;
      const int64_t now_unix =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      if (!load_learned_state(options.learned_state_path, slot_of, learned, rte_get_tsc_hz(), rte_get_tsc_hz(),
                              now_unix, loaded, error)) {
        err << "sluicectl replay: " << error << "\n";
        return 2;
      }
      publish_learned_table(learned_table, learned.build_table(), nullptr);
    }
    // Without --outside-mac every frame enters "inside": answers cannot be told from forgeries.
    setup.sides_known = options.has_outside_mac;
    WorkerRigOptions rig_options;
    rig_options.name = "replay";
    rig_options.mbuf_cache = 128;
    // A burst yields at most kBurstSize events, and the rings are drained after every burst.
    rig_options.event_ring_size = 1024;
    rig_options.learned_ring_size = 1024;
    rig_options.flow_capacity = options.flow_capacity;
    if (!platform.rig.init(rig_options, setup, error)) {
      err << prefix << error << "\n";
      return 1;
    }
    FlowTable& flows = platform.rig.flows();
    WorkerCounters* counters = &platform.rig.counters();
    PacketProcessor& processor = platform.rig.processor();
    rte_mempool* const mbufs = platform.rig.mbufs();
    rte_ring* const events = platform.rig.events();
    const uint64_t tsc_hz = rte_get_tsc_hz();
    bool clock_started = false;
    timeval first_timestamp{};
    auto clock_of = [&](const timeval& ts) {
      if (!clock_started) first_timestamp = ts, clock_started = true;
      // One second in, so that no packet's time is 0 (an empty slot's mark).
      int64_t micros = (int64_t(ts.tv_sec) - first_timestamp.tv_sec) * 1000000 + (ts.tv_usec - first_timestamp.tv_usec);
      return uint64_t(std::max<int64_t>(micros, 0) + 1000000) * (tsc_hz / 1000000);
    };
    uint64_t burst_clock = 0;
    timeval burst_time{};
    Side burst_side = Side::inside;  // a burst holds frames of one port, as a port's rx burst does
    FlowEventSinkOptions sink_options;
    sink_options.appliance = options.appliance_name;
    sink_options.denials = options.denials_path.empty() ? nullptr : &denial_log;
    sink_options.flows = flow_log.is_open() ? &flow_log : nullptr;
    FlowEventSink sink(sink_options);  // no aggregation: a replay reports every denied flow

    rte_mbuf* burst[kBurstSize];
    uint16_t in_burst = 0;
    uint64_t forwarded = 0, replies = 0, oversized = 0;
    BurstOutput output;
    auto flush = [&]() {
      if (!in_burst) return;
      processor.set_clock(burst_clock);
      processor.process_burst(*policy, burst_side, burst, in_burst, output);
      forwarded += output.forward_count;
      replies += output.reply_count;
      dump_and_free(platform.forwarded, output.forward, output.forward_count, burst_time);
      dump_and_free(platform.replies, output.replies, output.reply_count, burst_time);
      in_burst = 0;
      sink.drain(events, {policy.get(), nullptr});
      processor.expire_idle(kReplayAgingBudget, policy.get());
      sink.drain(events, {policy.get(), nullptr});
      // No worker runs beside a replay: the new table replaces the old one at once.
      learned.drain(platform.rig.learned());
      learned.expire(burst_clock);
      if (learned.dirty()) publish_learned_table(learned_table, learned.build_table(), nullptr);
    };
    pcap_pkthdr* header = nullptr;
    const u_char* bytes = nullptr;
    int rc;
    while ((rc = pcap_next_ex(platform.capture, &header, &bytes)) == 1) {
      rte_mbuf* mbuf = rte_pktmbuf_alloc(mbufs);
      if (!mbuf || header->caplen > rte_pktmbuf_tailroom(mbuf)) {
        if (mbuf) rte_pktmbuf_free(mbuf);
        ++oversized;
        continue;
      }
      uint64_t clock = clock_of(header->ts);
      const Side side = side_of(options, bytes, header->caplen);
      // A burst holds packets of one moment and one port: a later one, or one from the other
      // port, starts the next burst.
      if (in_burst && (clock > burst_clock + tsc_hz / 1000 || side != burst_side)) flush();
      if (!in_burst) burst_clock = clock, burst_time = header->ts, burst_side = side;
      std::memcpy(rte_pktmbuf_mtod(mbuf, void*), bytes, header->caplen);
      mbuf->data_len = static_cast<uint16_t>(header->caplen);
      mbuf->pkt_len = header->caplen;
      burst[in_burst++] = mbuf;
      if (in_burst == kBurstSize) flush();
    }
    flush();
    bool damaged = rc == PCAP_ERROR;
    if (damaged) err << prefix << options.pcap_path << ": " << pcap_geterr(platform.capture) << "\n";
    flows.for_each([&](const FlowKey& key, const FlowEntry& flow) {
      if (flow.verdict == FlowVerdict::pending) sink.handle(pending_flow_event(key, flow), *policy);
    });
    denial_log.drain();
    flow_log.drain();

    publish_learned_table(learned_table, nullptr, nullptr);
    pass.summary = summarize({counters}, slots.names(), sink);
    RunSummary& summary = pass.summary;
    summary.title = "sluicectl replay: " + options.pcap_path + " through " + options.policy_path;
    summary.tx_packets[0] = replies;  // in replay, "out" means: would have been sent
    summary.tx_packets[1] = forwarded;
    if (oversized) summary.dropped_by_reason.emplace_back("replay_frame_too_large", oversized);
    if (flow_log.is_open()) summary.paths.emplace_back("flow log", options.flows_path);
    if (!options.denials_path.empty()) summary.paths.emplace_back("denials", options.denials_path);
    pass.summarized = true;
    // What could be read was replayed and is reported, but a damaged capture is not a clean run.
    if (damaged) return 2;
  }
  return 0;
}

int run_replay(const ReplayOptions& options, std::ostream& out, std::ostream& err) {
  PublicSuffixList suffixes;
  suffixes.load();
  ServiceTagCatalog service_tags;
  PolicyErrors tag_errors;
  LoadedPolicy loaded = load_service_tag_files(options.config_path, options.service_tag_files, service_tags, tag_errors)
                            ? load_policy_file(options.policy_path, suffixes, &service_tags)
                            : LoadedPolicy{{}, tag_errors, {}, {}};
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) err << error.to_string() << "\n";
    return 2;
  }
  // Inputs are checked before the EAL starts: a bad capture or config costs no DPDK start-up.
  if (std::string problem = check_capture(options.pcap_path); !problem.empty()) {
    err << "sluicectl replay: " << problem << "\n";
    return 2;
  }
  config::ApplianceConfig settings;
  if (!options.config_path.empty()) {
    LoadedConfig config = load_config_file(options.config_path);
    if (!config.ok()) {
      for (const auto& error : config.errors) err << error.to_string() << "\n";
      return 2;
    }
    settings = config.config;
  } else {
    apply_config_defaults(settings);
  }
  std::string error;
  OfflineEal eal(256);
  if (!eal.start(error)) {
    err << "sluicectl replay: " << error << "\n";
    return 1;
  }
  ReplayPass pass;
  const int status = replay_capture(options, loaded.policy_set, settings, pass, err);
  pass.summary.service_tags = service_tags.summaries();
  if (pass.summarized) {
    if (options.json) out << pass.summary.to_json() << "\n";
    else pass.summary.print(out);
  }
  return status;
}

}  // namespace sluice

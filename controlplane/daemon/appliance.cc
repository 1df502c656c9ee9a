#include "controlplane/daemon/appliance.h"

#include <csignal>
#include <filesystem>
#include <sstream>
#include <thread>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "controlplane/daemon/admin_socket.h"
#include "controlplane/daemon/embedded_default_config.h"
#include "controlplane/daemon/exception_interface.h"
#include "controlplane/config/exception_config.h"
#include "controlplane/records/flow_event_sink.h"
#include "controlplane/daemon/health_server.h"
#include "controlplane/policy/learned_address_state.h"
#include "controlplane/policy/learned_address_store.h"
#include "controlplane/daemon/metrics_exporter.h"
#include "controlplane/daemon/policy_file_watcher.h"
#include "controlplane/policy/service_tag_catalog.h"
#include "controlplane/policy/policy_loader.h"
#include "controlplane/daemon/policy_publisher.h"
#include "controlplane/daemon/reload_coordinator.h"
#include "controlplane/daemon/routed_mode.h"
#include "controlplane/daemon/routed_neighbours.h"
#include "controlplane/daemon/service_notifier.h"
#include "controlplane/config/processor_settings.h"
#include "controlplane/config/routing_config.h"
#include "controlplane/records/run_summary.h"
#include "dataplane/port/eal.h"
#include "dataplane/port/ports.h"
#include "dataplane/worker/worker_loop.h"
#include "dataplane/worker/worker_rig.h"
#include "controlplane/daemon/worker_set.h"

namespace sluice {

namespace {

namespace cfg = sluice::config;

volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_hangup = 0;

void on_stop_signal(int signal) { g_stop_signal = signal; }
void on_hangup(int) { g_hangup = 1; }

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// "…,tx_pcap=/x/out.pcap,…" → "/x/out.pcap"; "" when the device writes no pcap.
std::string tx_pcap_of(const std::string& device) {
  auto at = device.find("tx_pcap=");
  if (at == std::string::npos) return "";
  auto start = at + 8;
  return device.substr(start, device.find(',', start) - start);
}

// Everything that must be released in order when the run ends, whatever the exit path: the
// ports (they receive into the rig's buffers), then the rig, then the EAL.
struct Platform {
  WorkerSet workers;
  // The workers' rings and QSBR variable, as the control loop uses them (owned by the rigs).
  std::vector<rte_ring*> events;
  std::vector<rte_ring*> learned;
  rte_rcu_qsbr* qsbr = nullptr;
  std::vector<uint16_t> open_ports;
  bool eal_up = false;

  ~Platform() {
    for (auto port : open_ports) close_port(port);
    workers.release();
    if (eal_up) rte_eal_cleanup();
  }
};

// True while the worker's loop counter keeps moving: it polls, it is not stuck.
class WorkerHeartbeat {
 public:
  bool alive(const WorkerCounters& counters) {
    uint64_t loops = read(counters.loops);
    auto now = std::chrono::steady_clock::now();
    if (loops != last_loops_) {
      last_loops_ = loops;
      last_change_ = now;
    }
    return loops != 0 && now - last_change_ < std::chrono::milliseconds(500);
  }

 private:
  uint64_t last_loops_ = 0;
  std::chrono::steady_clock::time_point last_change_ = std::chrono::steady_clock::now();
};

}  // namespace

std::string embedded_default_config_text() {
  std::string text = kEmbeddedDefaultConfig;
  replace_all(text, "${SOURCE_ROOT}", SLUICE_SOURCE_ROOT);
  replace_all(text, "${OUT_DIR}", (std::filesystem::current_path() / "sluice-demo-out").string());
  return text;
}

int run_appliance(const cfg::ApplianceConfig& config, std::ostream& out, std::ostream& err) {
  const cfg::Port* ports[kSideCount] = {};
  for (const auto& port : config.ports()) ports[port.role() == cfg::INSIDE ? 0 : 1] = &port;
  if (!ports[0] || !ports[1]) {
    err << "sluiced: the config needs one INSIDE and one OUTSIDE port\n";
    return 2;
  }
  const uint16_t worker_count = uint16_t(config.worker_lcores_size());

  // The policy first: a refused policy must stop us before anything is started.
  {
    PublicSuffixList suffixes;
    suffixes.load();
    ServiceTagCatalog service_tags;
    PolicyErrors tag_errors;
    const std::vector<std::string> tag_files(config.service_tag_files().begin(), config.service_tag_files().end());
    LoadedPolicy loaded = service_tags.load(tag_files, tag_errors)
                              ? load_policy_file(config.policy_path(), suffixes, &service_tags)
                              : LoadedPolicy{{}, tag_errors, {}, {}};
    if (!loaded.ok()) {
      for (const auto& error : loaded.errors) err << error.to_string() << "\n";
      err << "sluiced: policy refused, nothing applied\n";
      return 2;
    }
    // Accepted, but almost certainly not meant (shadowed rules, unused groups): said once at
    // start; a reload says them with its message.
    for (const auto& warning : loaded.warnings) err << warning_text(warning) << "\n";
  }

  std::error_code fs_error;
  for (const auto* port : ports) {
    auto pcap = tx_pcap_of(port->device());
    if (!pcap.empty()) std::filesystem::create_directories(std::filesystem::path(pcap).parent_path(), fs_error);
  }
  ControlCounters control;
  DenialLog denial_log;
  std::string error;
  DenialLogOptions denial_options;
  denial_options.directory = config.log_dir();
  denial_options.max_bytes = config.denial_log().max_bytes();
  denial_options.max_age_seconds = config.denial_log().max_age_seconds();
  denial_options.keep_files = config.denial_log().keep_files();
  denial_options.protobuf = config.denial_log().protobuf();
  denial_options.file_group = config.denial_log().file_group();
  if (!denial_log.open(denial_options, &control.record_latency, error)) {
    // Enforcement does not wait for the log: denials are still enforced and counted as lost
    // records (sluice_denial_records_lost_total) until the file can be opened.
    err << "sluiced: denial log unavailable: " << error << "; records are counted as lost until it opens "
        << "(retried every " << DenialLog::kRetryOpen.count() << " s)\n";
  }
  if (denial_log.repaired_bytes())
    err << "sluiced: " << denial_log.json_path() << ": cut " << denial_log.repaired_bytes()
        << " bytes of a record torn by an earlier crash\n";
  const std::string& denial_path = denial_log.json_path();
  RecordFileWriter flow_log;
  if (!config.flow_log_path().empty() && !flow_log.open(config.flow_log_path(), RecordFraming::lines, error)) {
    err << "sluiced: flow log: " << error << "\n";
    return 2;
  }

  // The control thread on lcore 0, the workers on theirs; lcores beyond this machine's CPUs are
  // mapped onto them (EAL --lcores), so that two workers run on a 2-CPU machine.
  std::vector<unsigned> lcores = {0};
  lcores.insert(lcores.end(), config.worker_lcores().begin(), config.worker_lcores().end());
  const unsigned worker_lcore = config.worker_lcores(0);
  std::vector<std::string> eal_args = {"sluiced", "--lcores", lcores_on_cpus(lcores, allowed_cpus()), "--main-lcore", "0"};
  for (const auto& arg : config.eal_args()) eal_args.push_back(arg);
  for (const auto* port : ports)
    for (const auto& arg : device_eal_args(port->device())) eal_args.push_back(arg);
  // Routed mode's exception port: a net_tap to the host kernel (exception_interface.h).
  const std::string& tap_device = config.routing().exception_port().device();
  const bool has_tap = config.routing().mode() == cfg::Routing::ROUTED && !tap_device.empty();
  if (has_tap)
    for (const auto& arg : device_eal_args(tap_device)) eal_args.push_back(arg);
  eal_args.push_back("--log-level=lib.eal:error");
  Platform platform;
  if (!init_eal(eal_args, error)) {
    err << "sluiced: " << error << "\n";
    return 1;
  }
  platform.eal_up = true;

  // Each worker's buffers, rings, flow table and processor; its queues receive into its buffers.
  WorkerShared shared;
  WorkerRigOptions rig_options;
  rig_options.name = "w0";
  rig_options.socket = static_cast<int>(rte_socket_id());
  rig_options.flow_socket = static_cast<int>(rte_lcore_to_socket_id(worker_lcore));
  rig_options.mbuf_count = config.mbuf_count();
  rig_options.event_ring_size = config.denial_ring_size();
  if (config.dns_learning().enabled()) rig_options.learned_ring_size = config.dns_learning().ring_size();
  const bool routed = is_routed(config);
  if (routed) {
    rig_options.neighbour_ring_size = 1024;
    rig_options.control_frame_ring_size = 256;
    // Jumbo MTUs: receive buffers that hold the largest frame in one segment (the packet path
    // reads one segment; a chained frame is dropped as truncated).
    if (const uint32_t room = routed_frame_room(config))
      rig_options.mbuf_data_room = uint16_t(room + RTE_PKTMBUF_HEADROOM);
  }
  rig_options.flow_capacity = config.flow_capacity();
  PacketProcessorSetup processor_setup;
  processor_setup.emit_allowed_flows = flow_log.is_open();
  apply_processor_settings(config, processor_setup);
  processor_setup.learned_table = &shared.learned;
  if (!platform.workers.init(worker_count, rig_options, processor_setup, error)) {
    err << "sluiced: " << error << "\n";
    return 1;
  }
  WorkerRig& rig = platform.workers.rig(0);
  platform.events = platform.workers.event_rings();
  platform.learned = platform.workers.learned_rings();
  platform.qsbr = rig.qsbr();
  uint16_t port_ids[kSideCount];
  PortQueues port_queues[kSideCount];
  for (int side = 0; side < kSideCount; ++side) {
    if (!platform.workers.open_port(device_port_name(ports[side]->device()), port_ids[side], port_queues[side], error)) {
      err << "sluiced: " << to_string(static_cast<Side>(side)) << " port: " << error << "\n";
      return 1;
    }
    platform.open_ports.push_back(port_ids[side]);
  }
  if (!platform.workers.connect(port_ids, port_queues, is_routed(config), error)) {
    err << "sluiced: " << error << "\n";
    return 1;
  }
  if (worker_count > 1) {
    out << "sluiced: " << worker_count << " workers; inside port " << port_queues[0].rx << " rx/" << port_queues[0].tx
        << " tx queues, outside port " << port_queues[1].rx << " rx/" << port_queues[1].tx << " tx queues; flows "
        << (!platform.workers.steers() ? "spread by symmetric RSS"
            : is_routed(config)         ? "steered in software by inside host and SNAT port slice (handoff rings)"
                                        : "steered in software (handoff rings)")
        << std::endl;
  }
  uint16_t tap_port_id = RoutedMode::kNoExceptionPort;
  ExceptionInterface exception_interface;  // its rules go before the ports close
  if (has_tap) {
    if (!open_port(device_port_name(tap_device), rig.mbufs(), tap_port_id, error)) {
      err << "sluiced: exception port: " << error << "\n";
      return 1;
    }
    platform.open_ports.push_back(tap_port_id);
    if (!platform.workers.connect_exception_port(error)) {
      err << "sluiced: exception port: " << error << "\n";
      return 1;
    }
    const std::string interface = exception_interface_name(tap_device);
    const std::vector<std::string> addresses = own_addresses(config);
    if (!exception_interface.set_up(interface, addresses, error)) {
      err << "sluiced: exception port " << interface << ": " << error << "\n";
      return 1;
    }
    out << "sluiced: exception port " << interface << ": up (NOARP) with " << addresses.size()
        << " own addresses; their answers leave by table " << kExceptionRouteTable << std::endl;
  }

  shared.qsbr = platform.qsbr;
  // Routed mode: the tables and static neighbours published before the worker starts.
  RoutedMode routed_mode;
  std::vector<WorkerRig*> rigs;
  for (uint16_t worker = 0; worker < worker_count; ++worker) rigs.push_back(&platform.workers.rig(worker));
  if (routed && !routed_mode.start(config, port_ids, tap_port_id, rigs, shared, error)) {
    err << "sluiced: routed mode: " << error << "\n";
    return 1;
  }
  // Routed mode's neighbour resolution (ARP, ND): the first table and the announcements.
  std::unique_ptr<RoutedNeighbours> neighbours;
  if (routed) {
    neighbours = std::make_unique<RoutedNeighbours>(routed_mode, shared, config);
    neighbours->start();
  }
  PolicySlots slots;
  const std::vector<std::string> service_tag_files(config.service_tag_files().begin(),
                                                  config.service_tag_files().end());
  PolicyPublisher publisher(config.policy_path(), shared, worker_count, slots, control, config.hyperscan_cache_dir(),
                            service_tag_files);
  std::string message;
  if (!publisher.load_and_publish(message)) {
    err << message << "sluiced: policy refused, nothing applied\n";
    return 2;
  }

  const std::vector<const WorkerCounters*> counters = platform.workers.counters();
  LearnedAddressStore learned(config.dns_learning().max_entries());
  // Learned addresses of the last run (learned_address_state.h), before the worker starts.
  const std::string& state_path = config.dns_learning().state_file();
  std::unique_ptr<LearnedStateWriter> state_writer;
  if (!state_path.empty() && config.dns_learning().enabled()) {
    const std::vector<std::string> policy_names = [&] {
      std::vector<std::string> names;
      for (const auto& ruleset : publisher.current()->policies) names.push_back(ruleset.name);
      return names;
    }();
    auto slot_of = [&](const std::string& name) -> int {
      for (const auto& known : policy_names)
        if (known == name) return slots.slot_for(name);
      return -1;
    };
    LearnedStateLoad loaded;
    const int64_t now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
    if (load_learned_state(state_path, slot_of, learned, rte_rdtsc(), rte_get_tsc_hz(), now_unix, loaded, error)) {
      out << "sluiced: learned addresses from " << state_path << ": " << loaded.loaded << " kept, " << loaded.expired
          << " expired meanwhile, " << loaded.unknown_policy << " of policies no longer in the set" << std::endl;
    } else {
      // Nothing was restored: the file is read whole before any entry goes in.
      err << "sluiced: learned addresses not restored, starting with an empty table: " << error << std::endl;
    }
    publish_learned_table(shared.learned, learned.build_table(), nullptr);
    state_writer = std::make_unique<LearnedStateWriter>(state_path);
  }

  for (uint16_t worker = 0; worker < worker_count; ++worker) platform.workers.loop(worker).shared = &shared;
  if (routed)
    for (uint16_t worker = 0; worker < worker_count; ++worker) routed_mode.attach(platform.workers.loop(worker), worker);

  MetricsView view;
  view.workers = counters;
  for (uint16_t worker = 0; worker < worker_count; ++worker)
    view.flow_capacity.push_back(platform.workers.rig(worker).flows().capacity());
  view.policies = &slots;
  view.control = &control;
  view.learned = &learned;
  if (config.routing().mode() == cfg::Routing::ROUTED) {
    view.snat_addresses.assign(config.routing().snat().addresses().begin(), config.routing().snat().addresses().end());
    view.snat_range_ports = config.routing().snat().port_max() - config.routing().snat().port_min() + 1;
  }
  view.neighbours = neighbours ? &neighbours->stats() : nullptr;
  MetricsExporter exporter;
  if (!config.metrics_address().empty() && !exporter.start(config.metrics_address(), view, error)) {
    err << "sluiced: " << error << "\n";
    return 1;
  }
  HealthServer health;
  if (!config.health_address().empty() && !health.start(config.health_address(), control.ready, control.draining, error)) {
    err << "sluiced: " << error << "\n";
    return 1;
  }

  FlowEventSinkOptions sink_options;
  sink_options.appliance = config.appliance_name();
  sink_options.denials = &denial_log;
  sink_options.flows = flow_log.is_open() ? &flow_log : nullptr;
  sink_options.aggregation_window_ms = config.denial_log().aggregation_window_ms();
  sink_options.protobuf = config.denial_log().protobuf();
  FlowEventSink sink(sink_options);
  // Control counters the metrics read; also the log's health, reported at most once a minute.
  auto publish_log_counters = [&]() {
    control.denial_records_written = denial_log.records_written();
    control.denial_records_lost = denial_log.records_lost();
    control.denial_record_write_errors = denial_log.write_errors();
    control.denial_log_rotations = denial_log.rotations();
    control.denial_records_aggregated = sink.aggregated_denials();
  };
  uint64_t reported_errors = 0;
  auto last_error_report = std::chrono::steady_clock::now() - std::chrono::minutes(1);
  auto report_log_errors = [&]() {
    if (denial_log.write_errors() == reported_errors) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_error_report < std::chrono::minutes(1)) return;
    err << "sluiced: denial log: " << denial_log.write_errors() - reported_errors << " write errors ("
        << denial_log.last_error() << "); " << denial_log.records_lost() << " records lost so far; traffic continues"
        << std::endl;
    reported_errors = denial_log.write_errors();
    last_error_report = now;
  };
  // Reloads compile on a thread of their own; this loop publishes them (reload_coordinator.h).
  ReloadCoordinator reloads(publisher, [&]() { sink.drain(platform.events, publisher.generations()); }, err);

  AdminSocket admin;
  if (!config.admin_socket().empty()) {
    bool started = admin.start(config.admin_socket(), [&](const std::string& command, AdminSocket::Reply reply) {
      if (command == "reload") return reloads.request("sluicectl reload", std::move(reply));
      if (command == "stats" || command == "stats json") {
        RunSummary summary = summarize(view.workers, slots.names(), sink);
        summary.service_tags = control.service_tags.get();
        summary.title = "sluiced: running; policy generation " + std::to_string(publisher.current()->generation);
        if (reloads.compiling()) summary.title += " (a reload is compiling)";
        if (command == "stats json") return reply("ok\n" + summary.to_json());
        std::ostringstream text;
        summary.print(text);
        return reply("ok\n" + text.str());
      }
      // Draining only changes what /readyz answers: traffic keeps flowing until the load
      // balancer stops sending it (sluicectl drain waits for nothing).
      if (command == "drain") {
        control.draining = true;
        return reply("ok\ndraining: /readyz answers 503 until sluiced restarts or sluicectl undrain\n");
      }
      if (command == "undrain") {
        control.draining = false;
        return reply("ok\nnot draining: /readyz answers 200 while the policy is loaded and the worker polls\n");
      }
      reply("error\nunknown command \"" + command + "\" (reload, stats, stats json, drain, undrain)");
    }, error);
    if (!started) {
      err << "sluiced: " << error << "\n";
      return 1;
    }
  }
  PolicyFileWatcher watcher;
  if (config.watch_policy_file() && !watcher.start(config.policy_path(), error, service_tag_files))
    err << "sluiced: not watching the policy file: " << error << " (SIGHUP and sluicectl reload still work)\n";

  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGHUP, on_hangup);

  out << "sluiced: running; policy " << config.policy_path() << " " << message;
  if (!config.metrics_address().empty()) out << "; metrics on http://" << config.metrics_address() << "/metrics";
  out << std::endl;

  for (uint16_t worker = 0; worker < worker_count; ++worker) {
    const unsigned lcore = config.worker_lcores(worker);
    if (rte_eal_remote_launch(run_worker_loop, &platform.workers.loop(worker), lcore) != 0) {
      err << "sluiced: cannot launch worker " << worker << " on lcore " << lcore << "\n";
      shared.stop.store(true, std::memory_order_relaxed);
      rte_eal_mp_wait_lcore();
      return 1;
    }
  }

  if (neighbours) neighbours->worker_running(platform.qsbr);
  const uint64_t tsc_hz = rte_get_tsc_hz();
  const uint64_t started = rte_rdtsc();
  std::vector<WorkerHeartbeat> heartbeats(worker_count);
  auto workers_alive = [&]() {  // every worker polls
    bool alive = true;
    for (uint16_t worker = 0; worker < worker_count; ++worker) alive = heartbeats[worker].alive(*counters[worker]) && alive;
    return alive;
  };
  auto next_sample = std::chrono::steady_clock::now();
  std::vector<uint64_t> last_busy(worker_count), last_cycles(worker_count);
  auto sample_platform = [&]() {  // ethdev statistics, flow-table sizes, busy ratios
    auto now = std::chrono::steady_clock::now();
    if (now < next_sample) return;
    next_sample = now + std::chrono::milliseconds(100);
    for (int side = 0; side < kSideCount; ++side) {
      rte_eth_stats stats{};
      if (rte_eth_stats_get(port_ids[side], &stats) != 0) continue;
      auto& port = control.ports[side];
      port.rx_packets = stats.ipackets;
      port.tx_packets = stats.opackets;
      port.missed = stats.imissed;
      port.rx_errors = stats.ierrors;
      port.tx_errors = stats.oerrors;
      port.rx_no_mbuf = stats.rx_nombuf;
    }
    for (uint16_t worker = 0; worker < worker_count && worker < kMaxWorkers; ++worker) {
      control.flows_active[worker] = platform.workers.rig(worker).flows().size();
      const uint64_t busy = read(counters[worker]->busy_cycles), cycles = read(counters[worker]->cycles);
      if (cycles - last_cycles[worker] >= rte_get_tsc_hz()) {  // a second's worth of loop cycles
        control.worker_busy_permille[worker] =
            static_cast<uint32_t>((busy - last_busy[worker]) * 1000 / (cycles - last_cycles[worker]));
        last_busy[worker] = busy;
        last_cycles[worker] = cycles;
      }
    }
  };
  // Learned addresses: folded in as they come (the worker also keeps its latest ones itself),
  // expired and republished at most every 50 ms.
  auto next_learned_publish = std::chrono::steady_clock::now();
  // The state file: a snapshot handed to the writer thread at most every 5 s when the table
  // changed (and once at the stop); the control thread never waits on the disk.
  auto next_state_save = std::chrono::steady_clock::now();
  uint64_t saved_changes = learned.changes();
  auto save_learned = [&](bool now_anyway) {
    if (!state_writer) return;
    if (const std::string problem = state_writer->take_error(); !problem.empty())
      err << "sluiced: learned-address state file not written: " << problem << " (traffic continues)" << std::endl;
    auto now = std::chrono::steady_clock::now();
    if (learned.changes() == saved_changes || (!now_anyway && now < next_state_save)) return;
    next_state_save = now + std::chrono::seconds(5);
    saved_changes = learned.changes();
    const int64_t now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
    state_writer->offer(learned_state_snapshot(learned, slots.names(), rte_rdtsc(), rte_get_tsc_hz(), now_unix));
  };
  auto tend_learned = [&](bool worker_running) {
    for (rte_ring* ring : platform.learned) learned.drain(ring);
    auto now = std::chrono::steady_clock::now();
    if (now < next_learned_publish) return;
    next_learned_publish = now + std::chrono::milliseconds(50);
    learned.expire(rte_rdtsc());
    if (learned.dirty()) publish_learned_table(shared.learned, learned.build_table(), worker_running ? platform.qsbr : nullptr);
    save_learned(false);
  };
  // systemd (Type=notify): READY=1 once the worker polls, a STATUS= line per published policy,
  // WATCHDOG=1 from this loop. Nothing at all without NOTIFY_SOCKET.
  ServiceNotifier notifier;
  uint64_t announced_generation = 0;
  auto announce = [&]() {
    const uint64_t generation = publisher.current()->generation;
    if (!control.ready || generation == announced_generation) return;
    std::string status = "running; policy generation " + std::to_string(generation) + " from " + config.policy_path();
    if (announced_generation == 0) notifier.ready(status);
    else notifier.status(status);
    announced_generation = generation;
  };
  std::string stop_cause = "stopped";
  while (true) {
    sink.drain(platform.events, publisher.generations());
    tend_learned(true);
    routed_mode.poll();
    if (neighbours) neighbours->tick();
    publish_log_counters();
    report_log_errors();
    control.ready = workers_alive();
    shared.ready.store(control.ready && !control.draining, std::memory_order_relaxed);
    sample_platform();
    if (g_hangup) {
      g_hangup = 0;
      reloads.request("SIGHUP");
    }
    if (watcher.should_reload()) reloads.request("policy file changed");
    reloads.poll();
    control.policy_compiling = reloads.compiling();
    control.policy_reloads_superseded = reloads.superseded();
    admin.poll();
    announce();
    notifier.tick();
    if (g_stop_signal) {
      stop_cause = std::string("stopped by signal ") + std::to_string(g_stop_signal);
      err << "sluiced: signal " << g_stop_signal << ": stopping" << (reloads.compiling() ? " (not waiting for the compile that runs)" : "")
          << std::endl;
      break;
    }
    if (config.exit_on_idle_ms()) {
      uint64_t last = 0;
      for (const WorkerCounters* worker : counters) last = std::max(last, read(worker->last_rx_tsc));
      uint64_t idle_ms = config.exit_on_idle_ms();
      uint64_t since = last ? last : started;
      if (!last) idle_ms = std::max<uint64_t>(idle_ms, 1000);
      if (rte_rdtsc() - since > idle_ms * tsc_hz / 1000) {
        stop_cause = "input consumed (idle " + std::to_string(config.exit_on_idle_ms()) + " ms)";
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  control.ready = false;
  shared.ready.store(false, std::memory_order_relaxed);  // a stopping appliance answers no probe
  notifier.stopping(stop_cause);
  // A compile cannot be interrupted: the stop does not wait for it (see the end of this function).
  bool compile_left_running = reloads.leave_running_compile();
  admin.poll();  // waiters of that reload learn that it was not applied
  shared.stop.store(true, std::memory_order_relaxed);
  rte_eal_mp_wait_lcore();
  sink.drain(platform.events, publisher.generations());
  for (rte_ring* ring : platform.learned) learned.drain(ring);
  save_learned(true);
  state_writer.reset();  // writes the last snapshot, then its thread ends
  publish_learned_table(shared.learned, nullptr, nullptr);
  if (neighbours) neighbours->worker_running(nullptr);  // the worker stopped: free at once
  if (routed) routed_mode.stop(shared);
  if (flow_log.is_open())
    for (uint16_t worker = 0; worker < worker_count; ++worker)
      platform.workers.rig(worker).flows().for_each([&](const FlowKey& key, const FlowEntry& flow) {
        if (flow.verdict == FlowVerdict::pending) sink.handle(pending_flow_event(key, flow), *publisher.current());
      });
  sink.close_windows(true);
  denial_log.drain();
  flow_log.drain();
  publish_log_counters();

  RunSummary summary = summarize(counters, slots.names(), sink);
  summary.title = "sluiced: " + stop_cause + "; summary";
  summary.records_not_written = denial_log.records_lost();
  summary.paths.emplace_back("denial log", denial_path);
  if (flow_log.is_open()) summary.paths.emplace_back("flow log", flow_log.path());
  for (int side = 0; side < kSideCount; ++side) {
    auto pcap = tx_pcap_of(ports[side]->device());
    if (!pcap.empty())
      summary.paths.emplace_back(side == 0 ? "inside tx" : "output", pcap + (side == 0 ? " (resets to clients)" : ""));
  }
  summary.print(out);
  if (denial_log.write_errors()) err << "sluiced: denial log write errors: " << denial_log.last_error() << "\n";
  out.flush();
  if (compile_left_running) end_process_beside_compile(0, out, err);
  return 0;
}

}  // namespace sluice

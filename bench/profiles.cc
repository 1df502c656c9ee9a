#include "bench/profiles.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <random>

#include <pcap/pcap.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "bench/domains.h"
#include "bench/packet_store.h"
#include "bench/quic_traffic.h"
#include "bench/stateful_baseline_loop.h"
#include "dataplane/parse/ip_address.h"

namespace sluice::bench {

namespace {

constexpr uint64_t kSeed = 20240505;   // every profile's traffic is the same from run to run
constexpr double kGateDistance = 1024;  // slots between a connection's dependent packets

// Endpoints of the new-connection profiles (the established ones: traffic.h); ports keep the
// kinds apart inside one flow table.
Endpoint new_client(uint32_t connection) {
  return {ipv4(198, 18, static_cast<uint8_t>(connection >> 8), static_cast<uint8_t>(connection)),
          static_cast<uint16_t>(32768 + (connection >> 16))};
}
Endpoint new_server(uint32_t connection, uint16_t port) {
  // Never in 198.19.0.0/24 (the allowed network): these are judged on SNI or Host.
  return {ipv4(198, 19, static_cast<uint8_t>(1 + connection % 250), static_cast<uint8_t>(1 + (connection / 250) % 250)),
          port};
}
Endpoint dns_client(uint32_t query) {
  return {ipv4(198, 18, static_cast<uint8_t>(query >> 8), static_cast<uint8_t>(query)),
          static_cast<uint16_t>(10000 + (query >> 16))};
}
Endpoint resolver() { return {ipv4(198, 19, 255, 53), 53}; }

uint32_t next_power_of_two(uint32_t value) {
  uint32_t power = 1;
  while (power < value) power <<= 1;
  return power;
}

std::atomic<unsigned> g_worker_number{0};

// Creates the flows of `count` connections in `worker`'s table before the clock starts, by
// handing each client's SYN to the worker's own PacketProcessor on this lcore.
bool warm_up(SluiceWorker& worker, const CompiledPolicy& policy, uint32_t count, std::string& error) {
  std::string name = "bench_warm_" + std::to_string(g_worker_number++);
  rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), 4095, 256, 0, 128 + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
  if (!pool) {
    error = "cannot create the warm-up pool";
    return false;
  }
  BurstOutput out;
  rte_mbuf* burst[kBurstSize];
  for (uint32_t first = 0; first < count && error.empty(); first += kBurstSize) {
    uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(kBurstSize, count - first));
    for (uint16_t i = 0; i < n; ++i) {
      Bytes frame = tcp_frame({established_client(first + i), established_server(first + i), kTcpSyn, 1, 0, {}, 0});
      burst[i] = rte_pktmbuf_alloc(pool);
      if (!burst[i]) {
        error = "warm-up pool exhausted";
        return false;
      }
      std::memcpy(rte_pktmbuf_append(burst[i], static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
    }
    worker.processor->process_burst(policy, Side::inside, burst, n, out);
    if (out.forward_count != n) error = "warm-up: a SYN to the allowed network was not forwarded";
    if (worker.router) {
      // Routed: through the router too, so that SNAT's translations exist before the clock.
      worker.router->begin(rte_rdtsc());
      worker.router->after(uint8_t(Side::inside), out);
      RoutedOutput& routed = worker.router->output();
      if (routed.count[uint8_t(Side::outside)] != n) error = "warm-up: a SYN was not routed out";
      for (int port = 0; port < kMaxRoutedPorts; ++port) {
        rte_pktmbuf_free_bulk(routed.frames[port], routed.count[port]);
        routed.count[port] = 0;
      }
      continue;
    }
    rte_pktmbuf_free_bulk(out.forward, out.forward_count);
    rte_pktmbuf_free_bulk(out.replies, out.reply_count);
  }
  rte_mempool_free(pool);
  if (error.empty() && read(worker.counters->flows_created) != count)
    error = "warm-up created " + std::to_string(read(worker.counters->flows_created)) + " flows, not " +
            std::to_string(count);
  return error.empty();
}

// Adds one connection at `slot`: SYN, then (gated on it) SYN-ACK, then (gated) ACK and payload.
// Adds one connection at `slot`: SYN, then (gated on it) SYN-ACK, then (gated) ACK and payload.
void add_connection(ScheduleBuilder& builder, const ConnectionFrames& frames, double slot) {
  uint32_t syn = builder.add(Side::inside, slot, frames.syn);
  uint32_t syn_ack = builder.add(Side::outside, slot + kGateDistance, frames.syn_ack, syn);
  builder.add(Side::inside, slot + 2 * kGateDistance, frames.ack, syn_ack);
  for (const auto& part : frames.payload) builder.add(Side::inside, slot + 2 * kGateDistance, part);
}

struct NewConnection {
  ConnectionFrames frames;  // TCP kinds
  std::vector<Bytes> datagrams;  // QUIC: the client's Initial datagrams, whole frames
  std::string name;
  bool allowed = false;
};

NewConnection make_connection(uint32_t index, NewConnectionKind kind, const BenchPolicy& policy,
                              std::mt19937_64& random) {
  NewConnection connection;
  connection.allowed = random() & 1;
  connection.name = connection.allowed ? allowed_name(static_cast<uint32_t>(random() % policy.domains), policy.style)
                                       : denied_name(index, policy.domains, policy.style);
  if (kind == NewConnectionKind::quic) {
    const Endpoint client = new_client(index), server = new_server(index, 443);
    // A DCID of the connection's own: every connection derives its keys afresh.
    for (const Bytes& payload : quic_initials(connection.name, 0x51c0000000000000ull | index)) {
      connection.datagrams.push_back(udp_frame(client, server, payload));
    }
    return connection;
  }
  Bytes payload = kind == NewConnectionKind::http
                      ? http_request(connection.name)
                      : client_hello(connection.name,
                                     kind == NewConnectionKind::tls_typical ? HelloSize::typical : HelloSize::post_quantum);
  uint16_t port = kind == NewConnectionKind::http ? 80 : 443;
  connection.frames = connection_frames(new_client(index), new_server(index, port), payload);
  return connection;
}

std::atomic<unsigned> g_table_number{0};

// Runs `schedule` `repetitions` times through the pass-through, the stateful baseline (its
// table holds the schedule's flows, `capacity` positions, as Sluice's) and a fresh (or, for a
// cyclic schedule, the same warm) worker.
template <typename MakeWorker>
void repeat(BenchContext& context, const Schedule& schedule, PacketStore* store, const CompiledPolicy& policy,
            uint32_t capacity, MakeWorker make_worker, ProfileResult& result, RunOptions options = {}) {
  std::unique_ptr<SluiceWorker> worker;
  std::unique_ptr<StatefulBaselineTable> table;
  if (!context.skip_baseline) {
    table = std::make_unique<StatefulBaselineTable>();
    std::vector<FiveTuple> keys = schedule_keys(schedule);
    if (!table->build("bench_stateful_" + std::to_string(g_table_number++), keys, capacity, result.error)) {
      result.error = "stateful baseline: " + result.error;
      return;
    }
    result.stateful_keys = table->size();
    result.stateful_bytes_per_flow = double(table->bytes()) / double(table->capacity());
  }
  for (int rep = 0; rep < context.repetitions && result.error.empty(); ++rep) {
    if (!context.skip_baseline) {
      if (store) store->arm();
      RunOptions base_options = options;
      base_options.write_packets = false;
      RunResult base = context.rig->run(schedule, {WorkerKind::passthrough}, base_options);
      if (!base.ok) result.error = "baseline: " + base.error;
      result.baseline.push_back(base);
      if (!result.error.empty()) break;
      if (store) store->arm();
      WorkerSpec stateful_spec{WorkerKind::stateful_baseline};
      stateful_spec.table = table.get();
      RunResult floor = context.rig->run(schedule, stateful_spec, options);
      if (!floor.ok) result.error = "stateful baseline: " + floor.error;
      else if (floor.worker_forwarded != floor.offered_total())
        result.error = "stateful baseline: forwarded " + std::to_string(floor.worker_forwarded) + " of " +
                       std::to_string(floor.offered_total());
      else if (floor.lookup_misses)  // its table is made from this traffic: a miss is a harness bug
        result.error = "stateful baseline: " + std::to_string(floor.lookup_misses) +
                       " lookups missed; its table does not hold the traffic's flows";
      result.stateful.push_back(floor);
      if (!result.error.empty()) break;
    }
    if (store) store->arm();
    if (!worker || !schedule.cyclic) {
      worker.reset();  // the previous table goes before the next one is made
      worker = make_worker(result.error);
      if (!worker) break;
    }
    RunResult run = context.rig->run(schedule, worker->spec(policy), options);
    if (!run.ok) result.error = "sluice: " + run.error;
    else if (run.worker_forwarded + run.worker_dropped != run.offered_total())
      result.error = "sluice: forwarded " + std::to_string(run.worker_forwarded) + " + dropped " +
                     std::to_string(run.worker_dropped) + " != offered " + std::to_string(run.offered_total()) +
                     " (worker rx " + std::to_string(run.worker_rx) + ", tx " + std::to_string(run.worker_tx) +
                     ", made " + std::to_string(run.resets) + ")";
    else if (run.dropped_by_reason[static_cast<int>(Reason::flow_table_full)])
      result.error = "sluice: the flow table filled up; the run measured refusals";  // a profile's sizing bug
    result.sluice.push_back(run);
  }
}

Json run_json(const RunResult& run) {
  Json json = Json::object();
  json.set("seconds", run.seconds)
      .set("offered", run.offered_total())
      .set("mpps", run.mpps())
      .set("cycles_per_packet", run.cycles_per_packet())
      .set("worker_rx", run.worker_rx)
      .set("forwarded", run.worker_forwarded)
      .set("dropped", run.worker_dropped)
      .set("resets", run.resets)
      .set("returned", run.returned[0] + run.returned[1])
      .set("flows_created", run.flows_created)
      .set("events_seen", run.events_seen)
      .set("events_dropped", run.events_dropped)
      .set("mean_rx_backlog", run.mean_rx_backlog)
      .set("rx_starved_fraction", run.rx_starved_fraction)
      .set("bound", run.worker_bound() ? "worker" : "feeder")
      .set("foreign_cpu_share", run.foreign_cpu_share);
  Json dropped = Json::object(), verdicts = Json::object();
  for (int reason = 0; reason < kReasonCount; ++reason) {
    if (run.dropped_by_reason[reason]) dropped.set(to_string(static_cast<Reason>(reason)), run.dropped_by_reason[reason]);
    if (run.verdicts_by_reason[reason])
      verdicts.set(to_string(static_cast<Reason>(reason)), run.verdicts_by_reason[reason]);
  }
  json.set("dropped_by_reason", dropped).set("verdicts_by_reason", verdicts);
  return json;
}

Json summary_json(const std::vector<RunResult>& runs, uint64_t connections) {
  std::vector<double> mpps, cycles, cps, foreign;
  uint64_t feeder_bound = 0;
  for (const auto& run : runs) {
    feeder_bound += !run.worker_bound();
    if (run.foreign_cpu_share >= 0) foreign.push_back(run.foreign_cpu_share);
    mpps.push_back(run.mpps());
    cycles.push_back(run.cycles_per_packet());
    if (connections && run.seconds > 0) cps.push_back(double(connections) / run.seconds);
  }
  Json json = Json::object();
  json.set("mpps", to_json(spread_of(mpps))).set("cycles_per_packet", to_json(spread_of(cycles)));
  if (connections) json.set("connections_per_second", to_json(spread_of(cps)));
  if (!foreign.empty()) json.set("foreign_cpu_share", to_json(spread_of(foreign)));
  json.set("feeder_bound_runs", feeder_bound);
  return json;
}

// Established traffic recycles this many buffers a side, as a NIC recycles its rx ring's.
constexpr size_t kRecycledBuffers = 8192;

struct EstablishedStamp {
  std::vector<uint32_t> order[kSideCount];  // flows of each side, in the order they are visited
};


// The addresses and ports of the flow at `position` of the side's visiting order, and the IPv4
// header checksum they change (the dataplane drops a packet whose header checksum is wrong, as
// the next router would; the TCP checksum of established traffic is the server's to check).
void stamp_established(const void* context, int side, uint64_t position, rte_mbuf* const* packets, unsigned count) {
  const auto& order = static_cast<const EstablishedStamp*>(context)->order[side];
  size_t next = position % order.size();
  for (unsigned k = 0; k < count; ++k) {
    uint32_t flow = order[next];
    if (++next == order.size()) next = 0;
    Endpoint client = established_client(flow), server = established_server(flow);
    const Endpoint& src = side == 0 ? client : server;
    const Endpoint& dst = side == 0 ? server : client;
    uint8_t* frame = rte_pktmbuf_mtod(packets[k], uint8_t*);
    // The frame as it arrives afresh: a routed run rewrote its MACs and TTL (and SNAT its source).
    static constexpr uint8_t kMacs[12] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    std::memcpy(frame, kMacs, sizeof kMacs);
    frame[14 + 8] = 64;  // TTL
    restamp_ipv4(frame, src, dst);
  }
}

bool store_failed(const PacketStore& store, bool out_of_memory, ProfileResult& result) {
  if (!out_of_memory) return false;
  result.error = "out of packet memory after " + std::to_string(store.size()) + " mbufs (raise -m)";
  return true;
}

}  // namespace

bool SluiceWorker::init(RingRig& rig, uint32_t capacity, bool emit_allowed_flows, std::string& error,
                        const BenchPolicy* resolved) {
  PacketProcessorSetup setup;
  setup.worker_index = 0;
  setup.emit_allowed_flows = emit_allowed_flows;
  if (resolved) {
    std::vector<LearnedAddressTable::Input> inputs;
    const std::string name = allowed_name(0, resolved->style);
    for (const auto& ruleset : resolved->compiled->policies)
      for (int x = 1; x <= 250; ++x)
        for (int y = 1; y <= 250; ++y) {
          IpAddress address;
          address.family = 4;
          const uint8_t v4[4] = {198, 19, uint8_t(x), uint8_t(y)};
          std::memcpy(address.bytes, v4, sizeof v4);
          inputs.push_back({address, ruleset.counter_slot, name, ~0ull});
        }
    const uint64_t consumed[kMaxLearningWorkers] = {};
    bound_table = LearnedAddressTable::build(inputs, consumed);
    bound.store(bound_table.get());
    setup.learned_table = &bound;
  }
  return rig.worker_rig().make_worker(*this, capacity, setup, error);
}

void SluiceWorker::enable_routing(RingRig& rig, const RoutedBench& routed) {
  routing.store(&routed.tables, std::memory_order_release);
  neighbours.store(&routed.neighbours, std::memory_order_release);
  router_setup.tables = &routing;
  router_setup.neighbours = &neighbours;
  router_setup.neighbour_events = nullptr;  // both next hops are in the table: no miss to report
  router_setup.reply_pool = rig.worker_rig().mbufs();
  router_setup.counters = counters.get();
  router = std::make_unique<Router>(router_setup, rte_get_tsc_hz());
}

namespace {
IpAddress bench_address(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.family = 4;
  const uint8_t bytes[4] = {a, b, c, d};
  std::memcpy(address.bytes, bytes, sizeof bytes);
  return address;
}
}  // namespace

std::unique_ptr<RoutedBench> make_routed_bench(bool snat) {
  auto routed = std::make_unique<RoutedBench>();
  routed->snat = snat;
  routed->id_prefix = snat ? "routed_snat_" : "routed_";
  // Every frame of the bench carries 02:00:00:00:00:02 as its destination and :01 as its source
  // (bench/traffic.cc): the appliance's ports and the gateways beyond them.
  const MacAddress own{{0x02, 0, 0, 0, 0, 0x02}}, gateway{{0x02, 0, 0, 0, 0, 0x01}};
  // Own addresses and gateways in 198.19.253.0/24 and 198.19.254.0/24, which no profile's traffic
  // is addressed to (servers are 198.19.0-250.x, the resolver 198.19.255.53).
  for (uint8_t port = 0; port < kSideCount; ++port) {
    RoutedPort description;
    description.present = true;
    description.mac = own;
    description.addresses.push_back({bench_address(198, 19, uint8_t(254 - port), 1), 24});
    routed->tables.set_port(port, description);
    routed->neighbours.add(port, bench_address(198, 19, uint8_t(254 - port), 2), gateway);
  }
  RouteEntry clients;
  clients.prefix = bench_address(198, 18, 0, 0);
  clients.prefix_length = 16;
  clients.port = uint8_t(Side::inside);
  clients.via = bench_address(198, 19, 254, 2);
  routed->tables.add_route(clients);
  RouteEntry internet;
  internet.prefix = bench_address(0, 0, 0, 0);
  internet.prefix_length = 0;
  internet.port = uint8_t(Side::outside);
  internet.via = bench_address(198, 19, 253, 2);
  internet.snat = snat;
  routed->tables.add_route(internet);
  routed->tables.seal();
  routed->neighbours.seal();
  return routed;
}

const char* to_string(NewConnectionKind kind) {
  switch (kind) {
    case NewConnectionKind::tls_typical: return "tls_typical";
    case NewConnectionKind::tls_post_quantum: return "tls_post_quantum";
    case NewConnectionKind::http: return "http";
    case NewConnectionKind::quic: return "quic";
  }
  return "?";
}

Json to_json(const ProfileResult& result) {
  Json json = Json::object();
  json.set("id", result.id).set("group", result.group).set("title", result.title).set("params", result.params);
  json.set("ok", result.error.empty());
  if (!result.error.empty()) json.set("error", result.error);
  json.set("connections_per_run", result.connections_per_run);
  Json sluice = summary_json(result.sluice, result.connections_per_run);
  Json baseline = summary_json(result.baseline, result.connections_per_run);
  Json stateful = summary_json(result.stateful, result.connections_per_run);
  uint64_t misses = 0;
  for (const auto& run : result.stateful) misses += run.lookup_misses;
  stateful.set("flows_in_table", result.stateful_keys).set("bytes_per_flow", result.stateful_bytes_per_flow)
      .set("lookup_misses", misses);
  json.set("sluice", sluice).set("baseline", baseline).set("stateful_baseline", stateful);
  double sluice_mpps = sluice.find("mpps")->find("median")->number();
  double base_mpps = baseline.find("mpps")->find("median")->number();
  // Packets a second against the pass-through's: the harness's own cost.
  json.set("ratio_to_baseline", base_mpps > 0 ? sluice_mpps / base_mpps : 0.0);
  // Cycles a packet against the stateful baseline's: how far above the floor of the job (goal
  // ≤ 1.3 at 1M flows). Medians of each; 0 when either is missing.
  double sluice_cycles = sluice.find("cycles_per_packet")->find("median")->number();
  double floor_cycles = stateful.find("cycles_per_packet")->find("median")->number();
  json.set("cycles_ratio_to_stateful_baseline", floor_cycles > 0 ? sluice_cycles / floor_cycles : 0.0);
  Json runs = Json::object();
  Json sluice_runs = Json::array(), base_runs = Json::array(), stateful_runs = Json::array();
  for (const auto& run : result.sluice) sluice_runs.push(run_json(run));
  for (const auto& run : result.baseline) base_runs.push(run_json(run));
  for (const auto& run : result.stateful) stateful_runs.push(run_json(run).set("lookup_misses", run.lookup_misses));
  runs.set("sluice", sluice_runs).set("baseline", base_runs).set("stateful_baseline", stateful_runs);
  json.set("runs", runs);
  return json;
}

ProfileResult run_established(BenchContext& context, const BenchPolicy& bench_policy, uint32_t flows,
                              uint64_t packets_per_run) {
  const CompiledPolicy& policy = *bench_policy.compiled;
  ProfileResult result;
  const std::string prefix = context.routed ? context.routed->id_prefix : "";
  result.id = prefix + "established_" + std::to_string(flows) + "_flows";
  result.group = context.routed ? "routed" : "established";
  result.title = "established flows, 64-byte packets, " + std::to_string(flows) + " flows" +
                 (context.routed ? (context.routed->snat ? ", routed with SNAT" : ", routed") : "");
  uint32_t capacity = std::max<uint32_t>(65536, next_power_of_two(flows));

  // Even flows send client → server (inside port), odd ones server → client; each side visits
  // its flows in a shuffled order, so flow-table accesses are random.
  auto stamp = std::make_unique<EstablishedStamp>();
  std::mt19937_64 random(kSeed);
  for (uint32_t f = 0; f < flows; ++f) stamp->order[f % 2].push_back(f);
  for (auto& order : stamp->order) std::shuffle(order.begin(), order.end(), random);

  PacketStore store;
  Schedule schedule;
  schedule.cyclic = true;
  schedule.restamp = stamp_established;
  schedule.restamp_context = stamp.get();
  for (int side = 0; side < kSideCount; ++side) {
    size_t buffers = std::min<size_t>(kRecycledBuffers, stamp->order[side].size());
    for (size_t i = 0; i < buffers; ++i) {
      rte_mbuf* mbuf = store.add(tcp_frame({{}, {}, kTcpAck, 100, 200, {}, 0}));  // addresses: stamped
      if (store_failed(store, mbuf == nullptr, result)) return result;
      schedule.streams[side].packets.push_back(mbuf);
    }
    schedule.cyclic_offer[side] = packets_per_run * stamp->order[side].size() / flows;
  }
  // The stateful baseline's table: every flow's 5-tuple, as the stamp writes it (network order).
  schedule.flow_keys.reserve(flows);
  for (uint32_t f = 0; f < flows; ++f) {
    Endpoint client = established_client(f), server = established_server(f);
    schedule.flow_keys.push_back(canonical_five_tuple(rte_cpu_to_be_32(client.ip), rte_cpu_to_be_16(client.port),
                                                      rte_cpu_to_be_32(server.ip), rte_cpu_to_be_16(server.port),
                                                      6));
  }
  result.params.set("flows", flows).set("frame_bytes", 64).set("packets_per_run", packets_per_run)
      .set("flow_table_capacity", capacity).set("recycled_buffers", store.size());

  auto make_worker = [&](std::string& error) -> std::unique_ptr<SluiceWorker> {
    auto worker = std::make_unique<SluiceWorker>();
    if (!worker->init(*context.rig, capacity, false, error)) return nullptr;
    if (context.routed) worker->enable_routing(*context.rig, *context.routed);
    if (!warm_up(*worker, policy, flows, error)) return nullptr;
    return worker;
  };
  repeat(context, schedule, &store, policy, capacity, make_worker, result);
  return result;
}

ProfileResult run_new_connections(BenchContext& context, const BenchPolicy& bench_policy, NewConnectionKind kind,
                                  uint32_t connections) {
  const CompiledPolicy& policy = *bench_policy.compiled;
  const uint32_t domains = bench_policy.domains;
  const bool shared = bench_policy.style == DomainStyle::shared_suffix;
  ProfileResult result;
  std::string kind_name = to_string(kind);
  const std::string prefix = context.routed ? context.routed->id_prefix : "";
  result.id = prefix + "new_" + kind_name + "_" + std::to_string(domains) + "_domains" + (shared ? "_shared_suffix" : "");
  const bool quic = kind == NewConnectionKind::quic;
  result.group = context.routed ? "routed" : kind == NewConnectionKind::http ? "new_http" : quic ? "new_quic" : "new_tls";
  result.title = "new " + std::string(kind == NewConnectionKind::http ? "HTTP" : quic ? "QUIC" : "TLS") + " connections" +
                 (kind == NewConnectionKind::tls_post_quantum ? " (post-quantum ClientHello, 2 segments)" : "") +
                 (quic ? " (post-quantum ClientHello, 2 Initials)" : "") +
                 ", " + std::to_string(domains) + " domains" + (shared ? " under one suffix" : "") +
                 (context.routed ? (context.routed->snat ? ", routed with SNAT" : ", routed") : "");
  // Room for twice the run's connections: a table run to the brim would time its overflow chains.
  uint32_t capacity = std::max<uint32_t>(65536, next_power_of_two(2 * connections));
  result.connections_per_run = connections;

  ScheduleBuilder builder;
  std::mt19937_64 random(kSeed + domains);
  uint64_t allowed = 0;
  size_t payload_bytes = 0, packets_per_connection = 0;
  for (uint32_t c = 0; c < connections; ++c) {
    NewConnection connection = make_connection(c, kind, bench_policy, random);
    allowed += connection.allowed;
    if (quic) {
      if (connection.datagrams.empty()) {
        result.error = "cannot protect a QUIC Initial (libcrypto)";
        return result;
      }
      packets_per_connection = connection.datagrams.size();
      payload_bytes = 0;
      for (const auto& datagram : connection.datagrams) {
        payload_bytes += datagram.size();
        builder.add(Side::inside, double(c) * double(packets_per_connection), datagram);
      }
      continue;
    }
    packets_per_connection = 3 + connection.frames.payload.size();
    payload_bytes = 0;
    for (const auto& part : connection.frames.payload) payload_bytes += part.size();
    // Connections start one after another, 4–5 slots apart, so each stream interleaves SYNs of
    // newer connections with the handshakes and hellos of older ones.
    add_connection(builder, connection.frames, double(c) * double(packets_per_connection));
  }
  result.params.set("kind", kind_name).set("domains", domains).set("domain_style", to_string(bench_policy.style))
      .set("connections_per_run", connections)
      .set("allowed_connections", allowed).set("packets_per_connection", packets_per_connection)
      .set("first_payload_frame_bytes", payload_bytes).set("flow_table_capacity", capacity);
  Schedule schedule = builder.build();

  auto make_worker = [&](std::string& error) -> std::unique_ptr<SluiceWorker> {
    auto worker = std::make_unique<SluiceWorker>();
    if (!worker->init(*context.rig, capacity, false, error, &bench_policy)) return nullptr;
    if (context.routed) worker->enable_routing(*context.rig, *context.routed);
    return worker;
  };
  repeat(context, schedule, nullptr, policy, capacity, make_worker, result);
  return result;
}

ProfileResult run_mix(BenchContext& context, const BenchPolicy& bench_policy, uint64_t packets) {
  const CompiledPolicy& policy = *bench_policy.compiled;
  const uint32_t domains = bench_policy.domains;
  ProfileResult result;
  result.id = "mix_" + std::to_string(domains) + "_domains";
  result.group = "mix";
  result.title = "mix: established IMIX, ~3 % new TLS, ~2 % DNS, " + std::to_string(domains) + " domains";
  constexpr uint32_t kEstablishedFlows = 10000;
  const uint32_t tls_connections = static_cast<uint32_t>(packets * 3 / 100 / 4);
  const uint32_t dns_queries = static_cast<uint32_t>(packets * 2 / 100 / 2);
  const uint64_t established = packets - uint64_t(tls_connections) * 4 - uint64_t(dns_queries) * 2;
  // Every TLS connection and DNS query is a flow of its own: room for twice them all.
  const uint32_t capacity =
      std::max<uint32_t>(65536, next_power_of_two(2 * (kEstablishedFlows + tls_connections + dns_queries)));
  result.connections_per_run = tls_connections;

  ScheduleBuilder builder;
  std::mt19937_64 random(kSeed + 4);
  // IMIX 7:4:1 of 64-, 594- and 1518-byte frames (60, 590 and 1514 without the FCS).
  constexpr size_t kImix[12] = {60, 60, 60, 60, 60, 60, 60, 590, 590, 590, 590, 1514};
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < established; ++i) {
    uint32_t flow = static_cast<uint32_t>(random() % kEstablishedFlows);
    size_t length = kImix[random() % 12];
    bool from_client = random() & 1;
    Endpoint client = established_client(flow), server = established_server(flow);
    Bytes payload(length - 54, 0xab);
    Bytes frame = from_client ? tcp_frame({client, server, kTcpPshAck, 100, 200, payload, 0})
                              : tcp_frame({server, client, kTcpPshAck, 200, 100, payload, 0});
    bytes += frame.size();
    // Sluice reads an established packet's headers only: the rest need not be written.
    builder.add(from_client ? Side::inside : Side::outside, double(i), frame, ScheduleBuilder::kNone, 64);
  }
  std::uniform_real_distribution<double> anywhere(0, double(established));
  for (uint32_t c = 0; c < tls_connections; ++c) {
    NewConnection connection = make_connection(c, NewConnectionKind::tls_typical, bench_policy, random);
    add_connection(builder, connection.frames, anywhere(random));
  }
  for (uint32_t q = 0; q < dns_queries; ++q) {
    std::string name = allowed_name(static_cast<uint32_t>(random() % domains), bench_policy.style);
    double slot = anywhere(random);
    uint32_t query = builder.add(Side::inside, slot,
                                 udp_frame(dns_client(q), resolver(), dns_query(name, static_cast<uint16_t>(q))));
    builder.add(Side::outside, slot + kGateDistance,
                udp_frame(resolver(), dns_client(q), dns_answer(name, static_cast<uint16_t>(q), ipv4(198, 19, 200, 1))),
                query);
  }
  result.params.set("packets_per_run", packets).set("established_flows", kEstablishedFlows)
      .set("established_packets", established).set("established_bytes", bytes)
      .set("new_tls_connections", tls_connections).set("dns_queries", dns_queries).set("domains", domains)
      .set("imix", "7:4:1 of 64/594/1518-byte frames").set("dns_learning", "not built: answers are plain UDP")
      .set("flow_table_capacity", capacity);
  Schedule schedule = builder.build();

  auto make_worker = [&](std::string& error) -> std::unique_ptr<SluiceWorker> {
    auto worker = std::make_unique<SluiceWorker>();
    if (!worker->init(*context.rig, capacity, false, error, &bench_policy) ||
        !warm_up(*worker, policy, kEstablishedFlows, error))
      return nullptr;
    return worker;
  };
  repeat(context, schedule, nullptr, policy, capacity, make_worker, result);
  return result;
}

ProfileResult run_dpi_reference(BenchContext& context, const BenchPolicy& bench_policy, uint32_t connections,
                                const std::string& pcap_path, const std::string& names_path,
                                const std::string& expected_path) {
  const CompiledPolicy& policy = *bench_policy.compiled;
  const uint32_t domains = bench_policy.domains;
  ProfileResult result;
  result.id = "dpi_reference_" + std::to_string(domains) + "_domains";
  result.group = "dpi_reference";
  result.title = "nDPI reference traffic: TLS typical 4/6, TLS post-quantum 1/6, HTTP 1/6";
  result.connections_per_run = connections;

  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dumper = dead ? pcap_dump_open(dead, pcap_path.c_str()) : nullptr;
  if (!dumper) {
    result.error = "cannot write " + pcap_path + (dead ? std::string(": ") + pcap_geterr(dead) : "");
    if (dead) pcap_close(dead);
    return result;
  }
  std::ofstream expected(expected_path);
  ScheduleBuilder builder;
  std::mt19937_64 random(kSeed + 6);
  uint64_t microseconds = 1700000000ull * 1000000;
  uint64_t pcap_packets = 0;
  auto dump = [&](const Bytes& frame) {
    pcap_pkthdr header{};
    header.ts.tv_sec = static_cast<time_t>(microseconds / 1000000);
    header.ts.tv_usec = static_cast<suseconds_t>(microseconds % 1000000);
    header.caplen = header.len = static_cast<bpf_u_int32>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frame.data());
    microseconds += 1;
    ++pcap_packets;
  };
  for (uint32_t c = 0; c < connections; ++c) {
    NewConnectionKind kind = c % 6 == 4 ? NewConnectionKind::tls_post_quantum
                             : c % 6 == 5 ? NewConnectionKind::http
                                          : NewConnectionKind::tls_typical;
    NewConnection connection = make_connection(c, kind, bench_policy, random);
    Endpoint client = new_client(c);
    expected << to_string(kind) << '\t' << (client.ip >> 24) << '.' << (client.ip >> 16 & 255) << '.'
             << (client.ip >> 8 & 255) << '.' << (client.ip & 255) << ':' << client.port << '\t' << connection.name
             << '\n';
    dump(connection.frames.syn);
    dump(connection.frames.syn_ack);
    dump(connection.frames.ack);
    for (const auto& part : connection.frames.payload) dump(part);
    add_connection(builder, connection.frames, double(c) * 4);
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  const uint32_t capacity = std::max<uint32_t>(65536, next_power_of_two(connections));
  result.params.set("domains", domains).set("connections", connections).set("pcap", pcap_path)
      .set("pcap_packets", pcap_packets).set("flow_table_capacity", capacity);
  Schedule schedule = builder.build();

  std::vector<FlowEvent> events;
  events.reserve(size_t(connections) * 2);
  RunOptions options;
  options.keep_events = &events;
  auto make_worker = [&](std::string& error) -> std::unique_ptr<SluiceWorker> {
    events.clear();  // the names of the last repetition are written out
    auto worker = std::make_unique<SluiceWorker>();
    if (!worker->init(*context.rig, capacity, true, error, &bench_policy))
      return nullptr;
    return worker;
  };
  repeat(context, schedule, nullptr, policy, capacity, make_worker, result, options);
  std::ofstream names(names_path);
  for (const auto& event : events)
    names << to_string(event.destination_type) << '\t' << format_ip(event.src) << ':' << event.src_port << '\t'
          << std::string(event.name, event.name_length) << '\t'
          << to_string(event.verdict) << '\t' << to_string(event.reason) << '\n';
  return result;
}

}  // namespace sluice::bench

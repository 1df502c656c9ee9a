// The benchmark harness measures what it says: every packet it offers is accounted for, by the
// pass-through baseline and the stateful baseline (packets in = packets out; the stateful one
// finds every packet's flow in a table holding exactly the profile's flows) and by the real
// worker (forwarded + dropped = offered, its counters equal to the mbufs fed), and each
// profile's traffic gets the verdicts it was built for. Nothing here depends on time.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <rte_eal.h>

#include "bench/domains.h"
#include "bench/profiles.h"
#include "bench/side_measures.h"
#include "bench/stateful_baseline_loop.h"
#include "bench/worker_scaling.h"
#include "dataplane/port/eal.h"

namespace sluice::bench {
namespace {

class HarnessEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::string error;
    // Two lcores, as in the benchmark: the feeder on 0, the measured worker on 1.
    ASSERT_TRUE(init_eal(portable_eal_args("bench-harness-test", "0,1", 1024), error)) << error;
  }
  void TearDown() override { rte_eal_cleanup(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new HarnessEnvironment);

uint64_t reason_count(const std::array<uint64_t, kReasonCount>& counts, Reason reason) {
  return counts[static_cast<int>(reason)];
}

class HarnessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RigConfig config;
    config.reply_pool_size = 8191;
    rig_ = new RingRig(config);
    std::string error;
    ASSERT_TRUE(rig_->init(error)) << error;
    Json figure = measure_compile(100, DomainStyle::distinct, &policy_);
    ASSERT_NE(policy_, nullptr) << figure.dump();
    bench_policy_ = {policy_.get(), 100, DomainStyle::distinct};
  }
  static void TearDownTestSuite() {
    policy_.reset();
    delete rig_;
    rig_ = nullptr;
  }

  BenchContext context() {
    BenchContext context;
    context.rig = rig_;
    context.repetitions = 1;
    return context;
  }

  // Packets in = packets out for both baselines, whatever the profile; the stateful baseline's
  // table holds every flow the traffic carries, so none of its lookups misses.
  static void expect_baseline_passes_everything(const ProfileResult& result) {
    ASSERT_EQ(result.baseline.size(), 1u);
    ASSERT_EQ(result.stateful.size(), 1u);
    for (const RunResult* base : {&result.baseline[0], &result.stateful[0]}) {
      ASSERT_TRUE(base->ok) << base->error;
      EXPECT_GT(base->offered_total(), 0u);
      EXPECT_EQ(base->returned[0] + base->returned[1], base->offered_total());
      EXPECT_EQ(base->worker_rx, base->offered_total());
      EXPECT_EQ(base->worker_forwarded, base->offered_total());
      EXPECT_EQ(base->worker_dropped, 0u);
    }
    EXPECT_EQ(result.stateful[0].lookup_misses, 0u);
    EXPECT_GT(result.stateful_keys, 0u);
  }

  // The real worker: counters equal the mbufs fed, and every packet is forwarded or dropped.
  static const RunResult& expect_worker_accounts_for_everything(const ProfileResult& result) {
    EXPECT_EQ(result.sluice.size(), 1u);
    const RunResult& run = result.sluice.at(0);
    EXPECT_TRUE(run.ok) << run.error;
    EXPECT_EQ(run.worker_rx, run.offered_total());
    EXPECT_EQ(run.worker_forwarded + run.worker_dropped, run.offered_total());
    EXPECT_EQ(run.returned[0] + run.returned[1], run.worker_forwarded + run.resets);
    EXPECT_EQ(run.events_dropped, 0u);
    EXPECT_GT(run.seconds, 0);
    return run;
  }

  static inline RingRig* rig_ = nullptr;
  static inline std::unique_ptr<CompiledPolicy> policy_;
  static inline BenchPolicy bench_policy_;
};

TEST(ScheduleBuilderTest, GatesNameTheOtherStreamsPositionAndNeverDecrease) {
  auto frame = [](uint8_t n) { return Bytes(60, n); };
  ScheduleBuilder builder;
  uint32_t syn = builder.add(Side::inside, 0, frame(1));
  builder.add(Side::inside, 1, frame(2));
  uint32_t syn_ack = builder.add(Side::outside, 5, frame(3), syn);
  builder.add(Side::inside, 9, frame(4), syn_ack);
  builder.add(Side::inside, 10, frame(5));
  Schedule schedule = builder.build();
  ASSERT_EQ(schedule.streams[0].frames.size(), 4u);
  ASSERT_EQ(schedule.streams[1].frames.size(), 1u);
  EXPECT_EQ(schedule.streams[0].gates, (std::vector<uint64_t>{0, 0, 1, 1}));  // after the SYN-ACK
  EXPECT_EQ(schedule.streams[1].gates, (std::vector<uint64_t>{1}));           // after the SYN
  EXPECT_EQ(schedule.offered(), 5u);
  EXPECT_EQ(schedule.arena->data(schedule.streams[0].frames[2])[0], 4);     // the frame, in slot order
  EXPECT_THROW(builder.add(Side::outside, 0, frame(6), syn), std::logic_error);  // not earlier
}

TEST_F(HarnessTest, EstablishedTrafficIsAllForwardedByBothWorkers) {
  auto bench = context();
  ProfileResult result = run_established(bench, bench_policy_, 1000, 50000);
  ASSERT_TRUE(result.error.empty()) << result.error;
  expect_baseline_passes_everything(result);
  const RunResult& run = expect_worker_accounts_for_everything(result);
  EXPECT_EQ(run.offered_total(), 50000u);
  EXPECT_EQ(run.worker_forwarded, 50000u);
  EXPECT_EQ(run.flows_created, 0u);  // every flow was established before the clock
  EXPECT_EQ(result.stateful_keys, 1000u);  // the stateful baseline's table: the profile's flows
}

// Routed mode (with and without SNAT): the same accounting, every packet routed out of the other
// port with the gateway's MAC as its destination, and the profile named apart from bridge mode.
TEST_F(HarnessTest, RoutedEstablishedTrafficIsAllRoutedOut) {
  for (bool snat : {false, true}) {
    auto routed = make_routed_bench(snat);
    auto bench = context();
    bench.routed = routed.get();
    ProfileResult result = run_established(bench, bench_policy_, 1000, 50000);
    ASSERT_TRUE(result.error.empty()) << result.error;
    EXPECT_EQ(result.id, std::string(snat ? "routed_snat_" : "routed_") + "established_1000_flows");
    EXPECT_EQ(result.group, "routed");
    const RunResult& run = expect_worker_accounts_for_everything(result);
    EXPECT_EQ(run.worker_forwarded, 50000u) << "snat " << snat;
    EXPECT_EQ(run.worker_dropped, 0u) << "snat " << snat;
  }
}

TEST_F(HarnessTest, NewTlsConnectionsGetOneVerdictEachAndDeniedOnesAreReset) {
  auto bench = context();
  constexpr uint32_t kConnections = 512;
  ProfileResult result = run_new_connections(bench, bench_policy_, NewConnectionKind::tls_typical, kConnections);
  ASSERT_TRUE(result.error.empty()) << result.error;
  expect_baseline_passes_everything(result);
  const RunResult& run = expect_worker_accounts_for_everything(result);
  auto allowed = static_cast<uint64_t>(result.params.find("allowed_connections")->number());
  uint64_t denied = kConnections - allowed;
  EXPECT_GT(allowed, 0u);
  EXPECT_GT(denied, 0u);
  EXPECT_EQ(run.offered_total(), kConnections * 4u);
  EXPECT_EQ(run.flows_created, kConnections);
  EXPECT_EQ(result.stateful_keys, kConnections);  // one 5-tuple a connection, both directions
  EXPECT_EQ(reason_count(run.verdicts_by_reason, Reason::allowed_domain), allowed);
  EXPECT_EQ(reason_count(run.verdicts_by_reason, Reason::domain_not_allowed), denied);
  EXPECT_EQ(run.worker_dropped, denied);  // each denied ClientHello, nothing else
  // Each denied hello: a reset back to the client and one on to the server, whose SYN-ACK the
  // worker saw before the hello.
  EXPECT_EQ(run.resets, 2 * denied);
  EXPECT_EQ(run.events_seen, denied);     // one record a denied flow
}

TEST_F(HarnessTest, PostQuantumHellosAreMeasuredAsTheDataplaneJudgesThem) {
  auto bench = context();
  constexpr uint32_t kConnections = 256;
  ProfileResult result = run_new_connections(bench, bench_policy_, NewConnectionKind::tls_post_quantum, kConnections);
  ASSERT_TRUE(result.error.empty()) << result.error;
  expect_baseline_passes_everything(result);
  const RunResult& run = expect_worker_accounts_for_everything(result);
  EXPECT_EQ(run.offered_total(), kConnections * 5u);
  // A hello in two segments is reassembled and judged on its SNI like any other.
  uint64_t allowed = reason_count(run.verdicts_by_reason, Reason::allowed_domain);
  uint64_t denied = reason_count(run.verdicts_by_reason, Reason::domain_not_allowed);
  EXPECT_GT(allowed, 0u);
  EXPECT_GT(denied, 0u);
  EXPECT_EQ(allowed + denied, kConnections);
  // The second segment completes the hello. A denied flow's drops are that segment and the
  // first, held until the verdict and freed under the flow's reason (nothing leaves before it).
  EXPECT_EQ(reason_count(run.dropped_by_reason, Reason::domain_not_allowed), 2 * denied);
}

TEST_F(HarnessTest, NewQuicConnectionsAreJudgedOnTheirInitials) {
  auto bench = context();
  constexpr uint32_t kConnections = 256;
  ProfileResult result = run_new_connections(bench, bench_policy_, NewConnectionKind::quic, kConnections);
  ASSERT_TRUE(result.error.empty()) << result.error;
  expect_baseline_passes_everything(result);
  const RunResult& run = expect_worker_accounts_for_everything(result);
  EXPECT_EQ(run.offered_total(), kConnections * 2u);  // two Initials a connection
  EXPECT_EQ(run.flows_created, kConnections);
  uint64_t allowed = reason_count(run.verdicts_by_reason, Reason::allowed_domain);
  uint64_t denied = reason_count(run.verdicts_by_reason, Reason::domain_not_allowed);
  EXPECT_EQ(allowed, static_cast<uint64_t>(result.params.find("allowed_connections")->number()));
  EXPECT_GT(denied, 0u);
  EXPECT_EQ(allowed + denied, kConnections);  // every ClientHello decrypted, joined and judged
  // The second Initial completes the hello. A denied flow's drops are that datagram and the
  // first, held until the verdict and freed under the flow's reason (nothing leaves before it).
  EXPECT_EQ(reason_count(run.dropped_by_reason, Reason::domain_not_allowed), 2 * denied);
  EXPECT_EQ(run.worker_dropped, 2 * denied);
}

TEST_F(HarnessTest, HttpAndMixedTrafficAreAccountedFor) {
  auto bench = context();
  ProfileResult http = run_new_connections(bench, bench_policy_, NewConnectionKind::http, 256);
  ASSERT_TRUE(http.error.empty()) << http.error;
  expect_baseline_passes_everything(http);
  const RunResult& run = expect_worker_accounts_for_everything(http);
  EXPECT_EQ(reason_count(run.verdicts_by_reason, Reason::allowed_domain) +
                reason_count(run.verdicts_by_reason, Reason::domain_not_allowed),
            256u);

  ProfileResult mix = run_mix(bench, bench_policy_, 10000);
  ASSERT_TRUE(mix.error.empty()) << mix.error;
  expect_baseline_passes_everything(mix);
  const RunResult& mixed = expect_worker_accounts_for_everything(mix);
  EXPECT_EQ(mixed.offered_total(), 10000u);
  auto dns = static_cast<uint64_t>(mix.params.find("dns_queries")->number());
  EXPECT_EQ(reason_count(mixed.verdicts_by_reason, Reason::allowed_dns_resolver), dns);
}

TEST_F(HarnessTest, ResultsCarryTheBaselineRatios) {
  auto bench = context();
  ProfileResult result = run_established(bench, bench_policy_, 100, 20000);
  Json json = to_json(result);
  ASSERT_TRUE(json.find("ratio_to_baseline").has_value());
  EXPECT_GT(json.find("ratio_to_baseline")->number(), 0);
  EXPECT_GT(json.find("baseline")->find("mpps")->find("median")->number(), 0);
  ASSERT_TRUE(json.find("cycles_ratio_to_stateful_baseline").has_value());
  EXPECT_GT(json.find("cycles_ratio_to_stateful_baseline")->number(), 0);
  const Json stateful = *json.find("stateful_baseline");
  EXPECT_GT(stateful.find("cycles_per_packet")->find("median")->number(), 0);
  EXPECT_EQ(stateful.find("flows_in_table")->number(), 100);
  EXPECT_EQ(stateful.find("lookup_misses")->number(), 0);
  EXPECT_GT(stateful.find("bytes_per_flow")->number(), 16);  // at least its key
}

// Both directions of a flow make one key; the table holds exactly the keys it was given.
TEST(StatefulBaselineTableTest, HoldsExactlyTheScheduleFlowsOneKeyForBothDirections) {
  const Endpoint client{ipv4(198, 18, 0, 1), 40000}, server{ipv4(198, 19, 0, 1), 443};
  const Endpoint other{ipv4(198, 18, 0, 2), 40000};
  ScheduleBuilder builder;
  builder.add(Side::inside, 0, tcp_frame({client, server, kTcpSyn, 1, 0, {}, 0}));
  builder.add(Side::outside, 1, tcp_frame({server, client, kTcpSynAck, 9, 2, {}, 0}));
  builder.add(Side::inside, 2, udp_frame(other, server, Bytes(20, 1)));
  builder.add(Side::inside, 3, Bytes(60, 0));  // not IPv4: no key
  Schedule schedule = builder.build();
  std::vector<FiveTuple> keys = schedule_keys(schedule);
  ASSERT_EQ(keys.size(), 2u);  // the TCP flow (both directions) and the UDP one

  StatefulBaselineTable table;
  std::string error;
  ASSERT_TRUE(table.build("bench_test_stateful", keys, 1024, error)) << error;
  EXPECT_EQ(table.size(), 2u);
  for (const auto& key : keys) EXPECT_TRUE(table.contains(key));
  FiveTuple forward, reverse, udp_to_other_port;
  Bytes syn = tcp_frame({client, server, kTcpSyn, 1, 0, {}, 0});
  Bytes syn_ack = tcp_frame({server, client, kTcpSynAck, 9, 2, {}, 0});
  Bytes udp = udp_frame(other, {server.ip, 444}, Bytes(20, 1));
  ASSERT_TRUE(five_tuple_of_frame(syn.data(), static_cast<uint32_t>(syn.size()), forward));
  ASSERT_TRUE(five_tuple_of_frame(syn_ack.data(), static_cast<uint32_t>(syn_ack.size()), reverse));
  ASSERT_TRUE(five_tuple_of_frame(udp.data(), static_cast<uint32_t>(udp.size()), udp_to_other_port));
  EXPECT_EQ(forward, reverse);
  EXPECT_TRUE(table.contains(forward));
  EXPECT_FALSE(table.contains(udp_to_other_port));
  EXPECT_GE(table.bytes(), table.capacity() * (sizeof(FiveTuple) + sizeof(uint64_t)));
}

// A packet whose flow is not in the table is counted as a miss and still forwarded: the miss
// count is what tells a table that does not match its traffic.
TEST_F(HarnessTest, StatefulBaselineCountsEveryMissAndStillForwardsEveryPacket) {
  ScheduleBuilder builder;
  std::vector<FiveTuple> half;
  constexpr uint32_t kFlows = 64, kRounds = 8;
  for (uint32_t round = 0; round < kRounds; ++round)
    for (uint32_t flow = 0; flow < kFlows; ++flow) {
      Endpoint client{ipv4(198, 18, 1, static_cast<uint8_t>(flow)), 50000}, server{ipv4(198, 19, 0, 1), 443};
      Bytes frame = tcp_frame({client, server, kTcpAck, 1, 1, {}, 0});
      builder.add(Side::inside, double(round * kFlows + flow), frame);
      FiveTuple key;
      ASSERT_TRUE(five_tuple_of_frame(frame.data(), static_cast<uint32_t>(frame.size()), key));
      if (round == 0 && flow % 2 == 0) half.push_back(key);
    }
  Schedule schedule = builder.build();
  StatefulBaselineTable table;
  std::string error;
  ASSERT_TRUE(table.build("bench_test_stateful_half", half, 1024, error)) << error;
  WorkerSpec spec{WorkerKind::stateful_baseline};
  spec.table = &table;
  RunResult run = rig_->run(schedule, spec);
  ASSERT_TRUE(run.ok) << run.error;
  EXPECT_EQ(run.offered_total(), kFlows * kRounds);
  EXPECT_EQ(run.worker_rx, run.offered_total());
  EXPECT_EQ(run.worker_forwarded, run.offered_total());
  EXPECT_EQ(run.returned[0] + run.returned[1], run.offered_total());
  EXPECT_EQ(run.lookup_misses, kFlows / 2 * kRounds);
  EXPECT_EQ(table.packets_counted(), kFlows / 2 * kRounds);  // each hit counted on its own flow
}

// Several workers on preloaded rings (bench/worker_scaling.h): every frame put on the rx rings
// is forwarded or counted dropped (the workers' counters: forwarded + dropped = offered) and
// every forwarded one is found on a tx ring; with RSS placement no frame crosses between
// workers and none is dropped, steered about half cross and every frame handed over is taken
// over. Both workers judge a share. Nothing is dropped, steered included: the worker loop checks
// the handoff rings' room before each port's burst (worker_loop.cc, an_owner_is_behind), so a
// worker that is behind leaves frames in the rx queue rather than dropping them
// handoff_ring_full (it did, before that check moved into the loop over the ports).
TEST_F(HarnessTest, SeveralWorkersAccountForEveryPreloadedPacket) {
  WorkerScalingOptions options;
  options.flows = 20000;
  options.repetitions = 1;
  std::vector<WorkerScalingRun> runs;
  Json json = run_worker_scaling(*policy_, options, &runs);
  ASSERT_EQ(runs.size(), 3u) << json.dump();  // 1 worker, 2 rss, 2 steered
  for (size_t i = 0; i < runs.size(); ++i) {
    const WorkerScalingRun& run = runs[i];
    SCOPED_TRACE(i);
    ASSERT_TRUE(run.ok) << run.error;
    EXPECT_EQ(run.offered, 2u * options.flows);
    EXPECT_EQ(run.forwarded + run.dropped, run.offered);
    // Established flows to the allowed network: nothing is denied.
    EXPECT_EQ(run.dropped, 0u) << run.drops;
    EXPECT_EQ(run.returned, run.forwarded);
    uint64_t judged = 0;
    for (uint16_t w = 0; w < run.workers; ++w) {
      judged += run.judged[w];
      EXPECT_GT(run.judged[w], run.offered / 4) << "worker " << w;
    }
    EXPECT_EQ(judged, run.offered);
    EXPECT_EQ(run.handed_over, run.taken_over);  // a frame the ring refused is counted dropped, not handed
    EXPECT_GT(run.seconds, 0);
  }
  EXPECT_EQ(runs[0].workers, 1);
  EXPECT_EQ(runs[0].handed_over, 0u);
  EXPECT_EQ(runs[1].handed_over, 0u);  // placed by owner, as RSS places them
  EXPECT_GT(runs[2].handed_over, runs[2].offered / 4);  // placed without regard to flow
  EXPECT_LT(runs[2].handed_over, runs[2].offered * 3 / 4);
  ASSERT_TRUE(json.find("estimate").has_value()) << json.dump();
}

// The command-line harness end to end, in --quick mode: it writes a results file in which every
// profile it ran accounts for its packets (a run that does not is reported as not ok).
TEST(QuickModeTest, WritesResultsForEveryProfileItRuns) {
  const char* binary = std::getenv("SLUICE_BENCH");
  if (!binary) GTEST_SKIP() << "SLUICE_BENCH (the sluice_bench binary) is not set; meson test sets it";
  std::string dir = ::testing::TempDir() + "bench-quick";
  std::string command = std::string(binary) + " --quick --reps 1 --only established_10000,new_tls_typical_100_,mix_,flow_memory,workers" +
                        " --out " + dir + ".json --scratch " + dir + " > " + dir + ".log 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "see " << dir << ".log";
  std::ifstream in(dir + ".json");
  std::stringstream text;
  text << in.rdbuf();
  std::string json = text.str();
  EXPECT_NE(json.find("\"id\": \"established_10000_flows\""), std::string::npos);
  EXPECT_NE(json.find("\"id\": \"new_tls_typical_100_domains\""), std::string::npos);
  EXPECT_NE(json.find("\"id\": \"mix_2500_domains\""), std::string::npos);
  EXPECT_NE(json.find("\"bytes_per_flow\""), std::string::npos);
  EXPECT_NE(json.find("\"cycles_ratio_to_stateful_baseline\""), std::string::npos);
  EXPECT_NE(json.find("\"bytes_per_flow_beyond_key\""), std::string::npos);
  EXPECT_NE(json.find("\"id\": \"workers_established_100000_flows\""), std::string::npos);
  EXPECT_NE(json.find("\"scaling_ratio_rss\""), std::string::npos);
  EXPECT_EQ(json.find("\"ok\": false"), std::string::npos);
  std::filesystem::remove_all(dir);
  std::filesystem::remove(dir + ".json");
  std::filesystem::remove(dir + ".log");
}

}  // namespace
}  // namespace sluice::bench

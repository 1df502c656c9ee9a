// DNS learning across workers: the answer passes on worker A (its client↔resolver pair hashes
// there), the client's SYN to the learned address lands on worker B right after, before the
// control thread publishes its table: allowed, because A's recent answers are on the board every
// worker reads (recent_answers.h). Without the shared board the same SYN is refused.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <rte_mbuf.h>

#include "dataplane/policy/recent_answers.h"
#include "dataplane/worker/worker_rig.h"
#include "tests/unit/frame_builder.h"
#include "tests/unit/policy_fixture.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;

constexpr const char* kResolver = "198.19.255.53";
constexpr const char* kName = "files.pypi.org.blob.core.windows.net";

Bytes labels(const std::string& name) {
  Bytes encoded;
  for (size_t start = 0; start < name.size();) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    encoded.push_back(uint8_t(dot - start));
    encoded.insert(encoded.end(), name.begin() + long(start), name.begin() + long(dot));
    start = dot + 1;
  }
  encoded.push_back(0);
  return encoded;
}

Bytes query_frame() {
  Bytes message{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  const Bytes name = labels(kName);
  message.insert(message.end(), name.begin(), name.end());
  message.insert(message.end(), {0, 1, 0, 1});
  return test::tcp4_frame(Tcp4{.dst = kResolver, .src_port = 5353, .dst_port = 53, .payload = message}, 17);
}

// The answer: one A record, 198.19.50.5.
Bytes answer_frame() {
  Bytes message{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
  const Bytes name = labels(kName);
  message.insert(message.end(), name.begin(), name.end());
  message.insert(message.end(), {0, 1, 0, 1, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 198, 19, 50, 5});
  return test::tcp4_frame(Tcp4{.src = kResolver, .dst = "198.18.1.10", .src_port = 53, .dst_port = 5353,
                               .payload = message}, 17);
}

Bytes syn_frame() {
  return test::tcp4_frame(Tcp4{.dst = "198.19.50.5", .src_port = 40100, .dst_port = 9000, .flags = 0x02, .seq = 1, .ack = 0});
}

class Worker {
 public:
  Worker(uint16_t index, RecentAnswerBoard* board, std::atomic<const LearnedAddressTable*>& table) {
    WorkerRigOptions options;
    options.name = "xw";
    options.mbuf_count = 63;
    options.mbuf_cache = 0;
    options.event_ring_size = 64;
    options.learned_ring_size = 64;
    options.flow_capacity = 64;
    PacketProcessorSetup settings;
    settings.worker_index = index;
    settings.learned_table = &table;
    settings.recent_answers = board;
    settings.dns_learning = {.min_ttl = 30, .max_ttl = 3600, .grace = 0};
    std::string error;
    EXPECT_TRUE(rig_.init(options, settings, error)) << error;
  }
  ~Worker() { release(); }

  // One frame received on `side`; the number of frames it forwards.
  uint16_t receive(const CompiledPolicy& policy, Side side, const Bytes& frame) {
    release();
    rte_mbuf* packet = rte_pktmbuf_alloc(rig_.mbufs());
    std::memcpy(rte_pktmbuf_append(packet, uint16_t(frame.size())), frame.data(), frame.size());
    rig_.processor().process_burst(policy, side, &packet, 1, out_);
    return out_.forward_count;
  }
  uint64_t verdicts(Reason reason) { return read(rig_.counters().flow_verdicts[static_cast<int>(reason)]); }

 private:
  void release() {
    for (uint16_t i = 0; i < out_.forward_count; ++i) rte_pktmbuf_free(out_.forward[i]);
    for (uint16_t i = 0; i < out_.reply_count; ++i) rte_pktmbuf_free(out_.replies[i]);
    out_.forward_count = out_.reply_count = 0;
  }
  WorkerRig rig_;
  BurstOutput out_;
};

// Worker A (its own thread) forwards the query and learns from the answer, then tells worker B
// (another thread), which judges the SYN at once. The control thread publishes nothing meanwhile.
struct Outcome {
  uint16_t answer_forwarded = 0;
  uint16_t syn_forwarded = 0;
  uint64_t allowed_learned = 0;
  uint64_t ip_not_allowed = 0;
};

Outcome answer_on_a_syn_on_b(bool shared_board) {
  auto policy = test::compile_text(test::kTestPolicy, 1, 2);
  std::atomic<const LearnedAddressTable*> table{nullptr};  // nothing published yet
  auto board = std::make_unique<RecentAnswerBoard>();
  Worker a(0, shared_board ? board.get() : nullptr, table);
  Worker b(1, shared_board ? board.get() : nullptr, table);
  Outcome outcome;
  std::atomic<bool> answered{false};
  std::thread worker_b([&] {
    while (!answered.load(std::memory_order_acquire)) std::this_thread::yield();
    outcome.syn_forwarded = b.receive(*policy, Side::inside, syn_frame());
  });
  std::thread worker_a([&] {
    a.receive(*policy, Side::inside, query_frame());
    outcome.answer_forwarded = a.receive(*policy, Side::outside, answer_frame());
    answered.store(true, std::memory_order_release);  // the client has its answer: it sends the SYN
  });
  worker_a.join();
  worker_b.join();
  outcome.allowed_learned = b.verdicts(Reason::allowed_dns_learned);
  outcome.ip_not_allowed = b.verdicts(Reason::ip_not_allowed);
  return outcome;
}

TEST(CrossWorkerLearning, AnAnswerOnOneWorkerAllowsTheSynOnAnotherAtOnce) {
  const Outcome outcome = answer_on_a_syn_on_b(true);
  EXPECT_EQ(outcome.answer_forwarded, 1);
  EXPECT_EQ(outcome.syn_forwarded, 1);
  EXPECT_EQ(outcome.allowed_learned, 1u);
}

// The control: each worker with only its own answers, B has not seen A's.
TEST(CrossWorkerLearning, WithoutTheSharedBoardTheSynIsRefused) {
  const Outcome outcome = answer_on_a_syn_on_b(false);
  EXPECT_EQ(outcome.answer_forwarded, 1);
  EXPECT_EQ(outcome.syn_forwarded, 0);
  EXPECT_EQ(outcome.ip_not_allowed, 1u);
}

}  // namespace
}  // namespace sluice

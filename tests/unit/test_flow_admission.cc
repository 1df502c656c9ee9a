// Which packets may open, reopen or be counted against a flow: a flow refused for a full table
// counts once however often its client retries, and a packet from the wrong side changes no
// flow before it is dropped.
#include <gtest/gtest.h>

#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/worker/packet_processor.h"
#include "tests/unit/frame_builder.h"
#include "tests/unit/policy_fixture.h"
#include "tests/unit/worker_fixture.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;

constexpr uint8_t kSyn = 0x02, kAck = 0x10;

class FlowAdmissionTest : public test::WorkerFixture {};

class FullTableTest : public FlowAdmissionTest {
 protected:
  FullTableTest() { capacity_ = 8; }

  void fill_table() {
    std::vector<Bytes> syns;
    for (uint16_t port = 1; port <= 8; ++port)
      syns.push_back(test::tcp4_frame(Tcp4{.dst = "198.19.0.7", .src_port = port, .dst_port = 5432, .flags = kSyn}));
    burst(Side::inside, syns);
    ASSERT_EQ(out_.forward_count, 8);
  }
};

TEST_F(FullTableTest, ARefusedConnectionCountsOnceHoweverOftenItsSynIsRetried) {
  fill_table();
  Tcp4 refused{.dst = "198.19.0.7", .src_port = 9, .dst_port = 5432, .flags = kSyn};
  for (int attempt = 0; attempt < 3; ++attempt) burst(Side::inside, {test::tcp4_frame(refused)});  // SYN + 2 retries
  EXPECT_EQ(dropped(Reason::flow_table_full), 3u);  // every packet dropped under its reason
  EXPECT_EQ(read(counters_->flows_refused_table_full), 1u);

  Tcp4 another{.dst = "198.19.0.7", .src_port = 10, .dst_port = 5432, .flags = kSyn};
  burst(Side::inside, {test::tcp4_frame(another), test::tcp4_frame(another)});
  EXPECT_EQ(dropped(Reason::flow_table_full), 5u);
  EXPECT_EQ(read(counters_->flows_refused_table_full), 2u);
}

// A denied connection to 198.19.0.7:22 (no rule allows it): one DROP record, the flow closed.
class SpoofedSynTest : public FlowAdmissionTest {
 protected:
  void deny_ssh() {
    burst(Side::inside, {test::tcp4_frame(client_syn())});
    auto recorded = events();
    ASSERT_EQ(recorded.size(), 1u);
    EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_enforced);
    EXPECT_EQ(recorded[0].reason, Reason::ip_not_allowed);
  }

  // The client carries on (its ACK, as a stack that missed the reset would): still part of the
  // denied flow, and no second record.
  void client_carries_on() {
    Tcp4 ack{.dst = "198.19.0.7", .src_port = 40001, .dst_port = 22, .flags = kAck, .seq = 1001};
    burst(Side::inside, {test::tcp4_frame(ack)});
    EXPECT_EQ(out_.forward_count, 0);
    EXPECT_TRUE(events().empty()) << "a second DROP record for one denied flow";
    EXPECT_EQ(read(counters_->flows_created), 1u);
  }

  static Tcp4 client_syn() { return {.dst = "198.19.0.7", .src_port = 40001, .dst_port = 22, .flags = kSyn, .seq = 1000}; }
};

TEST_F(SpoofedSynTest, OutsideSynInTheInsideHostsNameDoesNotReopenTheDeniedFlow) {
  deny_ssh();
  Tcp4 spoofed = client_syn();
  spoofed.seq = 777000;  // a new initial sequence number: would read as a new connection
  burst(Side::outside, {test::tcp4_frame(spoofed)});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(dropped(Reason::unsolicited_inbound), 1u);
  client_carries_on();
  EXPECT_EQ(dropped(Reason::flow_denied), 1u);
}

TEST_F(SpoofedSynTest, OutsideSynFromTheServerSideDoesNotReopenTheDeniedFlow) {
  deny_ssh();
  Tcp4 from_server{.src = "198.19.0.7", .dst = "198.18.1.10", .src_port = 22, .dst_port = 40001, .flags = kSyn,
                   .seq = 777000};
  burst(Side::outside, {test::tcp4_frame(from_server)});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(out_.reply_count, 0);
  EXPECT_EQ(dropped(Reason::flow_denied), 1u);  // the responder's packets of a denied flow
  client_carries_on();
}

}  // namespace
}  // namespace sluice

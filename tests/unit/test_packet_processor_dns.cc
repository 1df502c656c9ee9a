// DNS on the worker's packet path: every query to an allowed resolver judged on its name,
// message by message (answered NXDOMAIN by the appliance when denied, and recorded as a DNS
// denial), and learning only from the answer to a query the worker forwarded, from outside.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/dns_query_parser.h"
#include "dataplane/worker/packet_processor.h"
#include "tests/unit/frame_builder.h"
#include "tests/unit/policy_fixture.h"
#include "tests/unit/worker_fixture.h"

namespace sluice {
namespace {

using test::Bytes;
using test::Tcp4;

constexpr uint8_t kUdp = 17;
constexpr uint16_t kTypeA = 1, kTypeTxt = 16;
constexpr const char* kResolver = "198.19.255.53";

Bytes labels(const std::string& name) {
  Bytes encoded;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    encoded.push_back(uint8_t(dot - start));
    encoded.insert(encoded.end(), name.begin() + long(start), name.begin() + long(dot));
    start = dot + 1;
  }
  encoded.push_back(0);
  return encoded;
}

Bytes dns_query(const std::string& name, uint16_t id = 0x1234, uint16_t type = kTypeA) {
  Bytes message{uint8_t(id >> 8), uint8_t(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  Bytes encoded = labels(name);
  message.insert(message.end(), encoded.begin(), encoded.end());
  message.insert(message.end(), {uint8_t(type >> 8), uint8_t(type), 0, 1});
  return message;
}

// A response for `name` (type A) with one A record `address` and TTL `ttl`; `owner` (when set)
// is reached from the question through a CNAME.
Bytes dns_answer(const std::string& name, std::array<uint8_t, 4> address, uint32_t ttl, uint16_t id = 0x1234,
                 const std::string& cname = "") {
  Bytes message{uint8_t(id >> 8), uint8_t(id), 0x81, 0x80, 0, 1, 0, uint8_t(cname.empty() ? 1 : 2), 0, 0, 0, 0};
  Bytes encoded = labels(name);
  message.insert(message.end(), encoded.begin(), encoded.end());
  message.insert(message.end(), {0, 1, 0, 1});
  const uint8_t t[4] = {uint8_t(ttl >> 24), uint8_t(ttl >> 16), uint8_t(ttl >> 8), uint8_t(ttl)};
  if (!cname.empty()) {
    Bytes target = labels(cname);
    message.insert(message.end(), {0xc0, 0x0c, 0, 5, 0, 1, t[0], t[1], t[2], t[3], 0, uint8_t(target.size())});
    message.insert(message.end(), target.begin(), target.end());
    message.insert(message.end(), target.begin(), target.end());  // the A record's owner, uncompressed
  } else {
    message.insert(message.end(), {0xc0, 0x0c});
  }
  message.insert(message.end(), {0, 1, 0, 1, t[0], t[1], t[2], t[3], 0, 4});
  message.insert(message.end(), address.begin(), address.end());
  return message;
}

Bytes udp_query(const Bytes& message, uint16_t port = 5353, const char* src = "198.18.1.10") {
  return test::tcp4_frame(Tcp4{.src = src, .dst = kResolver, .src_port = port, .dst_port = 53, .payload = message},
                          kUdp);
}

Bytes udp_answer(const Bytes& message, uint16_t port = 5353, const char* dst = "198.18.1.10") {
  return test::tcp4_frame(Tcp4{.src = kResolver, .dst = dst, .src_port = 53, .dst_port = port, .payload = message},
                          kUdp);
}

class DnsTest : public test::WorkerFixture {
 protected:
  void SetUp() override {
    learned_ring_ = rte_ring_create_elem(("learned_" + std::to_string(instance_ + 1)).c_str(),
                                         sizeof(LearnedAddressEvent), 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_NE(learned_ring_, nullptr);
    WorkerFixture::SetUp();
  }
  void TearDown() override {
    WorkerFixture::TearDown();
    rte_ring_free(learned_ring_);
  }
  void adjust(PacketProcessorSetup& setup) override {
    setup.learned = learned_ring_;
    setup.learned_table = &table_;
    setup.dns_learning = {.min_ttl = 30, .max_ttl = 3600, .grace = 0};
  }
  std::vector<LearnedAddressEvent> learned() {
    std::vector<LearnedAddressEvent> taken(16);
    unsigned count = rte_ring_sc_dequeue_burst_elem(learned_ring_, taken.data(), sizeof(LearnedAddressEvent), 16, nullptr);
    taken.resize(count);
    return taken;
  }
  Bytes reply_bytes(int index) const {
    auto* data = rte_pktmbuf_mtod(out_.replies[index], const uint8_t*);
    return Bytes(data, data + rte_pktmbuf_data_len(out_.replies[index]));
  }
  rte_ring* learned_ring_ = nullptr;
  std::atomic<const LearnedAddressTable*> table_{nullptr};
};

TEST_F(DnsTest, QueryForAnAllowedNamePasses) {
  burst(Side::inside, {udp_query(dns_query("files.pypi.org.blob.core.windows.net"))});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(read(counters_->dns_queries_allowed), 1u);
  EXPECT_TRUE(events().empty());
}

TEST_F(DnsTest, ResolvableNamePassesButGrantsNoTraffic) {
  burst(Side::inside, {udp_query(dns_query("db.internal.example"))});
  EXPECT_EQ(out_.forward_count, 1);
  burst(Side::outside, {udp_answer(dns_answer("db.internal.example", {198, 19, 50, 7}, 300))});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_TRUE(learned().empty());
  EXPECT_EQ(read(counters_->dns_answers_name_not_allowed), 1u);
}

TEST_F(DnsTest, TunnelQueriesAreEachAnsweredNxdomainAndRecorded) {
  const std::string names[] = {"4d41524b45522d31.x.attacker.example", "4d41524b45522d32.x.attacker.example"};
  for (const auto& name : names) {
    const Bytes query = dns_query(name, 0x4242, kTypeTxt);
    burst(Side::inside, {udp_query(query)});
    EXPECT_EQ(out_.forward_count, 0);
    ASSERT_EQ(out_.reply_count, 1);
    ParsedPacket reply;
    const Bytes frame = reply_bytes(0);
    ASSERT_EQ(parse_packet(frame, reply), PacketParseError::none);
    EXPECT_EQ(format_ip(reply.src), kResolver);
    EXPECT_EQ(reply.src_port, 53);
    EXPECT_EQ(format_ip(reply.dst), "198.18.1.10");
    EXPECT_EQ(reply.dst_port, 5353);
    const uint8_t* dns = frame.data() + reply.payload_offset;
    ASSERT_EQ(reply.payload_length, query.size());  // header and the question echoed, nothing more
    EXPECT_EQ(load_be16(dns), 0x4242);
    EXPECT_EQ(load_be16(dns + 2), 0x8183);  // QR, RD, RA, NXDOMAIN
    EXPECT_TRUE(std::equal(query.begin() + 12, query.end(), dns + 12));

    auto recorded = events();
    ASSERT_EQ(recorded.size(), 1u);
    EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_enforced);
    EXPECT_EQ(recorded[0].reason, Reason::dns_name_not_allowed);
    EXPECT_EQ(recorded[0].destination_type, DestinationType::dns);
    EXPECT_TRUE(recorded[0].dns_query);
    EXPECT_EQ(recorded[0].dns_rcode, 3);
    EXPECT_EQ(std::string(recorded[0].name, recorded[0].name_length), name);
  }
  EXPECT_EQ(dropped(Reason::dns_name_not_allowed), 2u);
  EXPECT_EQ(read(counters_->dns_refusals_sent), 2u);
  // The same 5-tuple still carries queries for allowed names.
  burst(Side::inside, {udp_query(dns_query("pypi.org"))});
  EXPECT_EQ(out_.forward_count, 1);
}

TEST_F(DnsTest, DryRunPassesAndRecordsTheDenial) {
  burst(Side::inside, {udp_query(dns_query("x.attacker.example", 1, kTypeTxt), 5353, "198.18.2.10")});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(out_.reply_count, 0);
  auto recorded = events();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].verdict, FlowVerdict::denied_dry_run);
  EXPECT_EQ(recorded[0].dns_rcode, 3);  // what ENFORCE would have answered
}

TEST_F(DnsTest, MalformedQueriesAreDeniedByNamedReasons) {
  Bytes two_questions = dns_query("pypi.org");
  two_questions[5] = 2;
  Bytes trailing = dns_query("pypi.org");
  trailing.insert(trailing.end(), {'M', 'A', 'R', 'K'});
  Bytes bad_byte = dns_query("a.pypi.org");
  bad_byte[13] = 0x01;
  burst(Side::inside, {udp_query(two_questions), udp_query(trailing), udp_query(bad_byte), udp_query(Bytes(12, 0))});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(out_.reply_count, 0);  // no question to answer: dropped
  EXPECT_EQ(dropped(Reason::dns_query_not_one_question), 2u);
  EXPECT_EQ(dropped(Reason::dns_query_malformed), 1u);
  EXPECT_EQ(dropped(Reason::dns_query_invalid_name), 1u);
  EXPECT_EQ(events().size(), 4u);
}

TEST_F(DnsTest, DeniedTcpQueryResetsTheConnection) {
  Bytes stream{0, 0};
  const Bytes query = dns_query("x.attacker.example", 7, kTypeTxt);
  stream[1] = uint8_t(query.size());
  stream.insert(stream.end(), query.begin(), query.end());
  Tcp4 syn{.dst = kResolver, .src_port = 41000, .dst_port = 53, .flags = 0x02, .seq = 999, .ack = 0};
  Tcp4 data{.dst = kResolver, .src_port = 41000, .dst_port = 53, .payload = stream};
  burst(Side::inside, {test::tcp4_frame(syn), test::tcp4_frame(data)});
  EXPECT_EQ(out_.forward_count, 1);  // the SYN
  EXPECT_EQ(out_.reply_count, 1);    // the reset
  EXPECT_EQ(dropped(Reason::dns_name_not_allowed), 1u);
  Tcp4 split{.dst = kResolver, .src_port = 41001, .dst_port = 53, .payload = Bytes{0, 40, 0x12}};
  burst(Side::inside, {test::tcp4_frame(split)});
  EXPECT_EQ(dropped(Reason::dns_tcp_message_split), 1u);
}

TEST_F(DnsTest, AnswerToAForwardedQueryTeachesItsAddressAtOnce) {
  burst(Side::inside, {udp_query(dns_query("files.pypi.org.blob.core.windows.net"))});
  burst(Side::outside, {udp_answer(dns_answer("files.pypi.org.blob.core.windows.net", {198, 19, 50, 5}, 5))});
  EXPECT_EQ(out_.forward_count, 1);
  auto taught = learned();
  ASSERT_EQ(taught.size(), 1u);
  EXPECT_EQ(std::string(taught[0].name, taught[0].name_length), "files.pypi.org.blob.core.windows.net");
  EXPECT_EQ(taught[0].ttl_seconds, 30u);  // 5 s raised to min_ttl
  Tcp4 syn{.dst = "198.19.50.5", .src_port = 40100, .dst_port = 9000, .flags = 0x02, .seq = 1, .ack = 0};
  burst(Side::inside, {test::tcp4_frame(syn)});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(read(counters_->flow_verdicts[static_cast<int>(Reason::allowed_dns_learned)]), 1u);
  // The same answer again answers nothing: the query was answered.
  burst(Side::outside, {udp_answer(dns_answer("files.pypi.org.blob.core.windows.net", {198, 19, 50, 5}, 5))});
  EXPECT_EQ(read(counters_->dns_answers_unsolicited), 1u);
}

TEST_F(DnsTest, UnsolicitedMismatchedAndForgedAnswersTeachNothing) {
  burst(Side::inside, {udp_query(dns_query("pypi.org", 0x1111))});
  // Another id, another question, and the right answer forged from the inside.
  burst(Side::outside, {udp_answer(dns_answer("pypi.org", {198, 19, 50, 8}, 300, 0x2222))});
  burst(Side::outside, {udp_answer(dns_answer("api.github.com", {198, 19, 50, 8}, 300, 0x1111))});
  burst(Side::inside, {udp_answer(dns_answer("pypi.org", {198, 19, 50, 8}, 300, 0x1111))});
  EXPECT_EQ(read(counters_->dns_answers_unsolicited), 1u);
  EXPECT_EQ(read(counters_->dns_answers_question_mismatch), 1u);
  EXPECT_EQ(read(counters_->dns_answers_from_inside), 1u);
  EXPECT_EQ(dropped(Reason::dns_answer_from_inside), 1u);
  EXPECT_EQ(out_.forward_count, 0);  // the forgery does not leave either
  EXPECT_TRUE(learned().empty());
  // An answer to a query never sent on another port.
  burst(Side::inside, {udp_query(dns_query("pypi.org", 1), 5400)});
  burst(Side::outside, {udp_answer(dns_answer("pypi.org", {198, 19, 50, 8}, 300, 1), 5401)});
  EXPECT_EQ(dropped(Reason::unsolicited_inbound), 1u);
  EXPECT_TRUE(learned().empty());
}

TEST_F(DnsTest, AnswerWithABoundaryByteInItsCnameChainTeachesNothing) {
  burst(Side::inside, {udp_query(dns_query("pypi.org"))});
  Bytes answer = dns_answer("pypi.org", {198, 19, 50, 9}, 300, 0x1234, "edge.cdn.example");
  // "edge" -> "ed\x01e" in both copies of the CNAME target.
  for (size_t i = 0; i + 4 <= answer.size(); ++i)
    if (std::equal(answer.begin() + long(i), answer.begin() + long(i) + 4, std::string("edge").begin())) answer[i + 2] = 0x01;
  burst(Side::outside, {udp_answer(answer)});
  EXPECT_EQ(read(counters_->dns_answers_bad_name), 1u);
  EXPECT_TRUE(learned().empty());
}

TEST_F(DnsTest, MalformedAnswerIsCountedAndStillPasses) {
  burst(Side::inside, {udp_query(dns_query("pypi.org"))});
  burst(Side::outside, {udp_answer(Bytes{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 63})});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(read(counters_->dns_answers_unparsed), 1u);
  EXPECT_TRUE(learned().empty());
}

}  // namespace
}  // namespace sluice

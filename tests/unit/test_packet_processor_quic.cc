// QUIC flows through the worker's packet path: UDP to a QUIC port is judged on the SNI of the
// ClientHello in the client's Initial packets (docs/QUIC.md), on real mbufs, rte_hash and
// Hyperscan. Initials are protected by tests/unit/quic_initial_builder.h.
#include <gtest/gtest.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <string>

#include "dataplane/worker/packet_processor.h"
#include "tests/unit/frame_builder.h"
#include "tests/unit/policy_fixture.h"
#include "tests/unit/worker_fixture.h"
#include "tests/unit/quic_initial_builder.h"

namespace sluice {
namespace {

using test::Bytes;
using test::QuicBytes;
using test::Tcp4;
using test::operator+;

constexpr uint8_t kUdp = 17;

struct HelloSpec {
  std::vector<std::string> names;  // host_name entries (none: no server_name extension)
  bool ech = false;                // an encrypted_client_hello extension
  size_t filler = 0;               // bytes of a padding extension, to make the message longer
};

// A bare TLS 1.3 ClientHello handshake message, as QUIC's CRYPTO stream carries it (no record).
QuicBytes hello_message(const HelloSpec& spec) {
  Bytes extensions;
  if (!spec.names.empty()) {
    Bytes list;
    for (const auto& name : spec.names) {
      list.push_back(0);  // host_name
      put16(list, uint16_t(name.size()));
      list.insert(list.end(), name.begin(), name.end());
    }
    put16(extensions, 0);  // server_name
    put16(extensions, uint16_t(list.size() + 2));
    put16(extensions, uint16_t(list.size()));
    extensions.insert(extensions.end(), list.begin(), list.end());
  }
  put16(extensions, 16);  // ALPN: h3
  put16(extensions, 5);
  put16(extensions, 3);
  extensions.push_back(2);
  extensions.push_back('h');
  extensions.push_back('3');
  put16(extensions, 43);  // supported_versions: TLS 1.3
  put16(extensions, 3);
  extensions.push_back(2);
  put16(extensions, 0x0304);
  if (spec.ech) {
    put16(extensions, 0xfe0d);
    put16(extensions, 4);
    put32(extensions, 0x00000100);
  }
  if (spec.filler) {
    put16(extensions, 21);  // padding
    put16(extensions, uint16_t(spec.filler));
    extensions.insert(extensions.end(), spec.filler, 0);
  }
  Bytes body;
  put16(body, 0x0303);
  body.insert(body.end(), 32, 0x22);  // random
  body.push_back(0);                  // session id
  put16(body, 2);
  put16(body, 0x1301);
  body.push_back(1);
  body.push_back(0);
  put16(body, uint16_t(extensions.size()));
  body.insert(body.end(), extensions.begin(), extensions.end());
  QuicBytes message = {1};
  put24(message, uint32_t(body.size()));
  message.insert(message.end(), body.begin(), body.end());
  return message;
}

QuicBytes slice(const QuicBytes& bytes, size_t from, size_t to) {
  return QuicBytes(bytes.begin() + long(from), bytes.begin() + long(std::min(to, bytes.size())));
}

const QuicBytes kDcid = {0x51, 0x75, 0x69, 0x63, 0x44, 0x63, 0x69, 0x64, 0x01};

class QuicFlowTest : public test::WorkerFixture {
 protected:
  void adjust(PacketProcessorSetup& setup) override {
    setup.emit_allowed_flows = true;  // every verdict is an event, allowed ones too
    setup.quic_slots = 4;
  }

  // One Initial packet (protected) carrying `frames`, padded with PADDING frames to `pad_to`
  // bytes of packet (the whole datagram when it is the only packet).
  QuicBytes initial(const QuicBytes& frames, size_t pad_to = 1200, const QuicBytes& dcid = kDcid,
                    uint32_t version = kQuicVersion1, uint32_t packet_number = 0) {
    test::InitialSpec spec;
    spec.version = version;
    spec.dcid = dcid;
    spec.scid = {0xc1, 0x1e, 0x47};
    spec.packet_number = packet_number;
    spec.frames = frames;
    const size_t overhead = 1 + 4 + 1 + dcid.size() + 1 + spec.scid.size() + 1 + 2 + 4 + 16;
    if (overhead + frames.size() < pad_to) spec.frames = frames + test::padding_frames(pad_to - overhead - frames.size());
    return test::protect_initial(keys_, spec);
  }

  // The message cut at `cuts` into CRYPTO frames, each in its own Initial datagram.
  std::vector<QuicBytes> split(const QuicBytes& message, std::vector<size_t> cuts, const QuicBytes& dcid = kDcid) {
    std::vector<QuicBytes> datagrams;
    cuts.insert(cuts.begin(), 0);
    cuts.push_back(message.size());
    for (size_t i = 0; i + 1 < cuts.size(); ++i)
      datagrams.push_back(initial(test::crypto_frame(cuts[i], slice(message, cuts[i], cuts[i + 1])), 1200, dcid,
                                  kQuicVersion1, uint32_t(i)));
    return datagrams;
  }

  static Bytes udp_out(const QuicBytes& payload, const char* src = "198.18.1.10", uint16_t src_port = 40000) {
    Tcp4 spec{.src = src, .src_port = src_port, .payload = Bytes(payload.begin(), payload.end())};
    return test::tcp4_frame(spec, kUdp);
  }
  static Bytes udp_back(const QuicBytes& payload, const char* to = "198.18.1.10", uint16_t to_port = 40000) {
    Tcp4 spec{.src = "198.19.0.80", .dst = to, .src_port = 443, .dst_port = to_port,
              .payload = Bytes(payload.begin(), payload.end())};
    return test::tcp4_frame(spec, kUdp);
  }

  // One datagram from the inside host; true when it was forwarded (alone: nothing held before it).
  bool send(const QuicBytes& payload, const char* src = "198.18.1.10") {
    burst(Side::inside, {udp_out(payload, src)});
    return out_.forward_count == 1;
  }
  // One datagram from the inside host; how many datagrams left (held ones released with it).
  uint16_t sent(const QuicBytes& payload, const char* src = "198.18.1.10", uint16_t src_port = 40000) {
    burst(Side::inside, {udp_out(payload, src, src_port)});
    return out_.forward_count;
  }
  // The UDP payload of the `index`th forwarded frame (the test frames' IPv4 and UDP headers).
  QuicBytes forwarded_payload(int index) const {
    const Bytes frame = forwarded_bytes(index);
    return QuicBytes(frame.begin() + 14 + 20 + 8, frame.end());
  }

  // The one event so far, checked to be a QUIC_SNI verdict.
  FlowEvent only_event() {
    auto recorded = events();
    EXPECT_EQ(recorded.size(), 1u);
    if (recorded.empty()) return FlowEvent{};
    EXPECT_EQ(recorded[0].destination_type, DestinationType::quic_sni);
    EXPECT_EQ(recorded[0].protocol, kUdp);
    EXPECT_EQ(recorded[0].dst_port, 443);
    return recorded[0];
  }
  static std::string name_of(const FlowEvent& event) { return std::string(event.name, event.name_length); }

  QuicInitialDecryptor keys_;  // the sender's keys, for the builder
};

TEST_F(QuicFlowTest, AllowedSniIsForwardedWithItsInitialAndRecordedAsQuicSni) {
  const QuicBytes datagram = initial(test::crypto_frame(0, hello_message({.names = {"pypi.org"}})));
  ASSERT_GE(datagram.size(), 1200u);
  burst(Side::inside, {udp_out(datagram)});
  ASSERT_EQ(out_.forward_count, 1);
  EXPECT_EQ(out_.reply_count, 0);
  const FlowEvent event = only_event();
  EXPECT_EQ(event.verdict, FlowVerdict::allowed);
  EXPECT_EQ(event.reason, Reason::allowed_domain);
  EXPECT_EQ(name_of(event), "pypi.org");
  EXPECT_EQ(std::string(event.tls_alpn, event.tls_alpn_length), "h3");
  EXPECT_EQ(event.tls_version, 0x0304);
}

TEST_F(QuicFlowTest, TrafficAfterAnAllowedVerdictPassesBothWays) {
  ASSERT_TRUE(send(initial(test::crypto_frame(0, hello_message({.names = {"pypi.org"}})))));
  events();
  EXPECT_TRUE(send(QuicBytes{0x41, 1, 2, 3, 4, 5, 6, 7, 8, 9}));  // a short-header (1-RTT) packet
  burst(Side::outside, {udp_back(QuicBytes{0x42, 9, 8, 7, 6, 5})});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_TRUE(events().empty());
}

TEST_F(QuicFlowTest, DeniedSniInEnforceIsDroppedAnsweredWithIcmpAndRecorded) {
  burst(Side::inside, {udp_out(initial(test::crypto_frame(0, hello_message({.names = {"exfil.example.net"}}))))});
  EXPECT_EQ(out_.forward_count, 0);
  ASSERT_EQ(out_.reply_count, 1);
  const uint8_t* icmp = rte_pktmbuf_mtod(out_.replies[0], const uint8_t*);
  EXPECT_EQ(icmp[14 + 9], 1);        // ICMP
  EXPECT_EQ(icmp[14 + 20], 3);       // destination unreachable
  EXPECT_EQ(icmp[14 + 20 + 1], 13);  // administratively prohibited
  EXPECT_EQ(dropped(Reason::domain_not_allowed), 1u);
  const FlowEvent event = only_event();
  EXPECT_EQ(event.verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(event.reason, Reason::domain_not_allowed);
  EXPECT_EQ(name_of(event), "exfil.example.net");

  EXPECT_FALSE(send(initial(test::crypto_frame(0, hello_message({.names = {"exfil.example.net"}})))));
  EXPECT_EQ(dropped(Reason::flow_denied), 1u);  // the retry: the flow is denied
}

TEST_F(QuicFlowTest, DryRunPassesTheDeniedInitialAndRecordsIt) {
  EXPECT_TRUE(send(initial(test::crypto_frame(0, hello_message({.names = {"exfil.example.net"}}))), "198.18.2.10"));
  const FlowEvent event = only_event();
  EXPECT_EQ(event.verdict, FlowVerdict::denied_dry_run);
  EXPECT_EQ(name_of(event), "exfil.example.net");
}

TEST_F(QuicFlowTest, ClientHelloOverThreeInitialsIsJudgedInEveryOrder) {
  uint16_t port = 41000;  // a flow of its own for every name and order
  for (const char* name : {"pypi.org", "exfil.example.net"}) {
    const QuicBytes message = hello_message({.names = {name}, .filler = 600});
    std::vector<QuicBytes> parts = split(message, {message.size() / 3, message.size() * 2 / 3});
    std::vector<int> order = {0, 1, 2};
    do {
      SCOPED_TRACE(std::string(name) + " order " + std::to_string(order[0]) + std::to_string(order[1]) +
                   std::to_string(order[2]));
      ++port;
      for (int k = 0; k < 2; ++k) {
        burst(Side::inside, {udp_out(parts[size_t(order[size_t(k)])], "198.18.1.10", port)});
        EXPECT_EQ(out_.forward_count, 0) << "an Initial of an undecided flow waits for the verdict";
      }
      EXPECT_TRUE(events().empty());
      burst(Side::inside, {udp_out(parts[size_t(order[2])], "198.18.1.10", port)});
      const bool allowed = std::string(name) == "pypi.org";
      ASSERT_EQ(out_.forward_count, allowed ? 3 : 0);
      for (int k = 0; allowed && k < 3; ++k)  // in arrival order, the deciding one last
        EXPECT_EQ(forwarded_payload(k), parts[size_t(order[size_t(k)])]) << k;
      const FlowEvent event = only_event();
      EXPECT_EQ(event.reason, allowed ? Reason::allowed_domain : Reason::domain_not_allowed);
      EXPECT_EQ(name_of(event), name);
    } while (std::next_permutation(order.begin(), order.end()));
  }
}

TEST_F(QuicFlowTest, CoalescedInitialsInOneDatagramAreJoined) {
  const QuicBytes message = hello_message({.names = {"pypi.org"}});
  // The second half first, in a packet of its own, then the first half with PING and PADDING.
  const size_t half = message.size() / 2;
  const QuicBytes second = initial(test::crypto_frame(half, slice(message, half, message.size())), 0, kDcid,
                                   kQuicVersion1, 1);
  const QuicBytes first = initial(QuicBytes{0x01} + test::crypto_frame(0, slice(message, 0, half)),
                                  1200 - second.size(), kDcid, kQuicVersion1, 0);
  EXPECT_TRUE(send(second + first));
  const FlowEvent event = only_event();
  EXPECT_EQ(event.reason, Reason::allowed_domain);
  EXPECT_EQ(name_of(event), "pypi.org");
}

TEST_F(QuicFlowTest, ClientHelloRulesAreThoseOfTls) {
  struct Case {
    HelloSpec hello;
    Reason reason;
    const char* name;
  };
  const Case cases[] = {
      {{.names = {}}, Reason::tls_no_sni, ""},
      {{.names = {"pypi.org"}, .ech = true}, Reason::tls_ech, "pypi.org"},
      {{.names = {"pypi.org", "exfil.example.net"}}, Reason::tls_multiple_sni, "pypi.org"},
      {{.names = {"bad name!.org"}}, Reason::tls_invalid_sni, "bad name!.org"},
  };
  uint16_t port = 42000;
  for (const auto& c : cases) {
    SCOPED_TRACE(to_string(c.reason));
    burst(Side::inside, {udp_out(initial(test::crypto_frame(0, hello_message(c.hello))), "198.18.1.10", ++port)});
    EXPECT_EQ(out_.forward_count, 0);
    EXPECT_EQ(out_.reply_count, 1);
    const FlowEvent event = only_event();
    EXPECT_EQ(event.reason, c.reason);
    EXPECT_EQ(name_of(event), c.name);
  }
}

TEST_F(QuicFlowTest, TlsExceptionsApplyToQuicToo) {
  std::string text = test::kTestPolicy;
  const std::string from = R"(dns_resolvers: "198.19.255.53")";
  text.replace(text.find(from), from.size(), from + " tls_exceptions { ech_judge_outer_sni: true }");
  policy_.reset();  // LPM names carry the generation: one at a time
  policy_ = test::compile_text(text, 2);
  ASSERT_NE(policy_, nullptr);
  EXPECT_TRUE(send(initial(test::crypto_frame(0, hello_message({.names = {"pypi.org"}, .ech = true})))));
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);
}

TEST_F(QuicFlowTest, UnreadableFirstDatagramsAreDeniedByTheirOwnReasons) {
  QuicBytes undecryptable = initial(test::crypto_frame(0, hello_message({.names = {"pypi.org"}})));
  undecryptable[undecryptable.size() - 3] ^= 0x01;  // in the AEAD tag
  QuicBytes unknown_version = initial(test::crypto_frame(0, hello_message({.names = {"pypi.org"}})));
  unknown_version[1] = 0x0a;
  unknown_version[4] = 0x1a;  // 0x0a00001a: a version we do not read
  QuicBytes short_dcid = initial(test::crypto_frame(0, hello_message({.names = {"pypi.org"}})), 1200,
                                 QuicBytes{1, 2, 3, 4});
  QuicBytes small = initial(test::crypto_frame(0, hello_message({.names = {"pypi.org"}})), 600);
  struct Case {
    QuicBytes datagram;
    Reason reason;
  };
  const Case cases[] = {
      {undecryptable, Reason::quic_undecryptable},
      {unknown_version, Reason::quic_unknown_version},
      {short_dcid, Reason::quic_malformed},
      {small, Reason::quic_initial_too_small},
      {QuicBytes(1200, 0x41), Reason::quic_not_initial},  // a short header first: no connection start
      {QuicBytes{}, Reason::quic_malformed},  // an empty datagram
  };
  uint16_t port = 43000;
  for (const auto& c : cases) {
    SCOPED_TRACE(to_string(c.reason));
    const uint64_t before = dropped(c.reason);
    burst(Side::inside, {udp_out(c.datagram, "198.18.1.10", ++port)});
    EXPECT_EQ(out_.forward_count, 0);
    EXPECT_EQ(out_.reply_count, 1);  // ENFORCE: the client hears at once and falls back to TCP
    EXPECT_EQ(dropped(c.reason), before + 1);
    const FlowEvent event = only_event();
    EXPECT_EQ(event.reason, c.reason);
    EXPECT_EQ(event.verdict, FlowVerdict::denied_enforced);
  }
}

TEST_F(QuicFlowTest, NonInitialDatagramOfAnUndecidedFlowIsDroppedAndTheFlowWaits) {
  const QuicBytes message = hello_message({.names = {"pypi.org"}, .filler = 300});
  auto parts = split(message, {200});
  EXPECT_FALSE(send(parts[0]));  // held
  EXPECT_FALSE(send(QuicBytes{0x41, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));  // 1-RTT data before the verdict
  EXPECT_EQ(dropped(Reason::quic_not_initial), 1u);
  // A 0-RTT packet (long header, type 1) before the verdict: dropped too.
  EXPECT_FALSE(send(QuicBytes{0xd0, 0, 0, 0, 1, 9, 0x51, 0x75, 0x69, 0x63, 0x44, 0x63, 0x69, 0x64, 0x01, 0, 40} +
                    QuicBytes(40, 0x5a)));
  EXPECT_EQ(dropped(Reason::quic_not_initial), 2u);
  EXPECT_TRUE(events().empty());
  ASSERT_EQ(sent(parts[1]), 2);
  EXPECT_EQ(forwarded_payload(0), parts[0]);
  EXPECT_EQ(forwarded_payload(1), parts[1]);
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);
}

TEST_F(QuicFlowTest, DryRunLetsANonInitialDatagramOfAnUndecidedFlowPass) {
  auto parts = split(hello_message({.names = {"pypi.org"}, .filler = 300}), {200});
  EXPECT_FALSE(send(parts[0], "198.18.2.10"));  // held until the verdict, as in ENFORCE
  EXPECT_TRUE(send(QuicBytes{0x41, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, "198.18.2.10"));
  EXPECT_EQ(dropped(Reason::quic_not_initial), 0u);
  EXPECT_EQ(sent(parts[1], "198.18.2.10"), 2);
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);
}

TEST_F(QuicFlowTest, ChangedDcidOrConflictingCryptoDataDeniesTheFlow) {
  const QuicBytes message = hello_message({.names = {"pypi.org"}, .filler = 300});
  auto parts = split(message, {200});
  EXPECT_FALSE(send(parts[0]));
  auto other = split(message, {200}, QuicBytes{9, 9, 9, 9, 9, 9, 9, 9});
  EXPECT_FALSE(send(other[1]));
  EXPECT_EQ(only_event().reason, Reason::quic_malformed);
  EXPECT_EQ(dropped(Reason::quic_malformed), 2u) << "the held Initial and the deciding one";

  QuicBytes changed = message;
  changed[100] ^= 0xff;
  burst(Side::inside, {udp_out(split(message, {200})[0], "198.18.1.10", 44000)});
  burst(Side::inside, {udp_out(split(changed, {150})[0], "198.18.1.10", 44000)});
  EXPECT_EQ(out_.forward_count, 0);
  EXPECT_EQ(only_event().reason, Reason::quic_crypto_conflict);
}

const QuicBytes kClientScid = {0xc1, 0x1e, 0x47};  // what QuicFlowTest::initial() sends as SCID

TEST_F(QuicFlowTest, RetryMovesTheFlowToTheServersConnectionId) {
  const QuicBytes message = hello_message({.names = {"pypi.org"}, .filler = 300});
  EXPECT_FALSE(send(split(message, {200})[0]));  // held
  // A v1 Retry (RFC 9000 17.2.5): DCID = the client's SCID, SCID = the new DCID, a token, the
  // integrity tag over the client's original DCID (RFC 9001 5.8).
  const QuicBytes new_dcid = {0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  burst(Side::outside, {udp_back(test::retry_packet(kQuicVersion1, kClientScid, new_dcid, {0x74, 0x6b}, kDcid))});
  EXPECT_EQ(out_.forward_count, 1) << "the Retry reaches the client";
  EXPECT_EQ(dropped(Reason::held_segment_discarded), 1u) << "the Initial of the attempt the Retry ended";
  // The client starts again: its ClientHello from offset 0, to the new DCID (shorter than 8: a
  // Retry's may be), with keys from it. Only this attempt's Initials leave, with the verdict.
  const auto parts = split(message, {250}, new_dcid);
  EXPECT_EQ(sent(parts[0]), 0);
  ASSERT_EQ(sent(parts[1]), 2);
  EXPECT_EQ(forwarded_payload(0), parts[0]);
  EXPECT_EQ(forwarded_payload(1), parts[1]);
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);
}

// Retries a client discards (RFC 9000 17.2.5.2, RFC 9001 5.8) leave the flow where it was: the
// client goes on with its first DCID and the rest of its ClientHello, which completes the verdict.
struct DiscardedRetry {
  const char* what;
  QuicBytes (*make)(const QuicBytes& new_dcid);
};

class QuicDiscardedRetryTest : public QuicFlowTest, public ::testing::WithParamInterface<DiscardedRetry> {};

TEST_P(QuicDiscardedRetryTest, LeavesTheFlowOnItsFirstDcid) {
  const QuicBytes message = hello_message({.names = {"pypi.org"}, .filler = 300});
  const auto parts = split(message, {200});
  EXPECT_FALSE(send(parts[0]));
  burst(Side::outside, {udp_back(GetParam().make({0xaa, 0xbb, 0xcc, 0xdd, 0xee}))});
  EXPECT_EQ(out_.forward_count, 1) << "it reaches the client, which discards it";
  EXPECT_EQ(sent(parts[1]), 2) << "the held Initial stays the flow's";
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc9000, QuicDiscardedRetryTest,
    ::testing::Values(
        DiscardedRetry{"bad_tag",
                       [](const QuicBytes& d) { return test::retry_packet(kQuicVersion1, kClientScid, d, {1}, kDcid, true); }},
        DiscardedRetry{"tag_over_another_dcid",
                       [](const QuicBytes& d) { return test::retry_packet(kQuicVersion1, kClientScid, d, {1}, QuicBytes(8, 3)); }},
        DiscardedRetry{"empty_token",
                       [](const QuicBytes& d) { return test::retry_packet(kQuicVersion1, kClientScid, d, {}, kDcid); }},
        DiscardedRetry{"not_to_the_client",
                       [](const QuicBytes& d) { return test::retry_packet(kQuicVersion1, {9, 9, 9}, d, {1}, kDcid); }},
        DiscardedRetry{"scid_is_the_clients_dcid",
                       [](const QuicBytes&) { return test::retry_packet(kQuicVersion1, kClientScid, kDcid, {1}, kDcid); }},
        DiscardedRetry{"other_version",
                       [](const QuicBytes& d) { return test::retry_packet(kQuicVersion2, kClientScid, d, {1}, kDcid); }}),
    [](const auto& info) { return std::string(info.param.what); });

TEST_F(QuicFlowTest, OnlyTheFirstRetryAndNoneAfterAServerInitialCounts) {
  const QuicBytes message = hello_message({.names = {"pypi.org"}, .filler = 300});
  EXPECT_FALSE(send(split(message, {200})[0]));
  const QuicBytes first = {0xaa, 0xbb, 0xcc, 0xdd, 0xee}, second = {1, 2, 3, 4, 5, 6, 7, 8};
  burst(Side::outside, {udp_back(test::retry_packet(kQuicVersion1, kClientScid, first, {1}, kDcid))});
  // A second Retry (valid for the new DCID too) is discarded: the flow waits on `first`.
  burst(Side::outside, {udp_back(test::retry_packet(kQuicVersion1, kClientScid, second, {1}, first))});
  const auto parts = split(message, {250}, first);
  EXPECT_EQ(sent(parts[0]), 0);
  EXPECT_EQ(sent(parts[1]), 2);
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);

  // A server Initial (any long header of the client's version to its SCID) first: a Retry after it
  // is discarded.
  burst(Side::inside, {udp_out(split(message, {200})[0], "198.18.1.10", 44100)});
  QuicBytes server_initial = {0xc0, 0, 0, 0, 1, uint8_t(kClientScid.size())};
  server_initial = server_initial + kClientScid + QuicBytes{4, 1, 2, 3, 4, 0, 0x41, 0x00} + QuicBytes(256, 0x55);
  burst(Side::outside, {udp_back(server_initial, "198.18.1.10", 44100),
                        udp_back(test::retry_packet(kQuicVersion1, kClientScid, first, {1}, kDcid), "198.18.1.10", 44100)});
  burst(Side::inside, {udp_out(split(message, {200})[1], "198.18.1.10", 44100)});
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);
}

TEST_F(QuicFlowTest, VersionNegotiationReachesTheClientWhichMayStartAgain) {
  const QuicBytes message = hello_message({.names = {"pypi.org"}, .filler = 300});
  EXPECT_FALSE(send(split(message, {200})[0]));
  burst(Side::outside, {udp_back(test::version_negotiation_packet(kClientScid, kDcid, {kQuicVersion2}))});
  EXPECT_EQ(out_.forward_count, 1);
  EXPECT_EQ(dropped(Reason::held_segment_discarded), 1u) << "the v1 attempt's Initial";
  // The client starts again in v2 with a new DCID, its ClientHello from offset 0.
  const QuicBytes fresh = {7, 6, 5, 4, 3, 2, 1, 0};
  burst(Side::inside, {udp_out(initial(test::crypto_frame(0, slice(message, 0, 100)), 1200, fresh, kQuicVersion2))});
  burst(Side::inside,
        {udp_out(initial(test::crypto_frame(100, slice(message, 100, message.size())), 1200, fresh, kQuicVersion2, 1))});
  EXPECT_EQ(out_.forward_count, 2) << "the v2 attempt's two Initials";
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);
}

// Version Negotiations a client discards (RFC 9000 6.2, 17.2.1) leave the flow where it was.
TEST_F(QuicFlowTest, DiscardedVersionNegotiationLeavesTheFlowAsItWas) {
  const QuicBytes message = hello_message({.names = {"pypi.org"}, .filler = 300});
  const std::vector<QuicBytes> discarded = {
      test::version_negotiation_packet(kClientScid, kDcid, {0x1a2a3a4a, kQuicVersion1}),  // lists the client's version
      test::version_negotiation_packet({9, 9, 9}, kDcid, {kQuicVersion2}),                 // not to the client's SCID
      test::version_negotiation_packet(kClientScid, QuicBytes(8, 1), {kQuicVersion2}),     // does not echo the DCID
      test::version_negotiation_packet(kClientScid, kDcid, {}),                            // an empty list
  };
  uint16_t port = 44200;
  for (const auto& negotiation : discarded) {
    const auto parts = split(message, {200});
    burst(Side::inside, {udp_out(parts[0], "198.18.1.10", port)});
    burst(Side::outside, {udp_back(negotiation, "198.18.1.10", port)});
    burst(Side::inside, {udp_out(parts[1], "198.18.1.10", port)});
    EXPECT_EQ(only_event().reason, Reason::allowed_domain) << "port " << port;
    ++port;
  }
  // A second Version Negotiation after one that was acted on is discarded too.
  burst(Side::inside, {udp_out(split(message, {200})[0], "198.18.1.10", port)});
  burst(Side::outside, {udp_back(test::version_negotiation_packet(kClientScid, kDcid, {kQuicVersion2}), "198.18.1.10", port)});
  const QuicBytes fresh = {7, 6, 5, 4, 3, 2, 1, 0};
  const auto parts = split(message, {200}, fresh);
  burst(Side::inside, {udp_out(parts[0], "198.18.1.10", port)});
  burst(Side::outside, {udp_back(test::version_negotiation_packet(kClientScid, fresh, {kQuicVersion2}), "198.18.1.10", port)});
  burst(Side::inside, {udp_out(parts[1], "198.18.1.10", port)});
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);
}

TEST_F(QuicFlowTest, FullAccessAndAllowedNetworksDecideBeforeInspection) {
  EXPECT_TRUE(send(QuicBytes{1, 2, 3}, "198.18.4.10"));  // FULL: nothing is read
  EXPECT_EQ(events()[0].reason, Reason::allowed_full_access);
}

TEST_F(QuicFlowTest, EveryBufferInUseDeniesNewQuicFlows) {
  const QuicBytes message = hello_message({.names = {"pypi.org"}, .filler = 300});
  auto parts = split(message, {200});
  for (uint16_t port = 45000; port < 45004; ++port) burst(Side::inside, {udp_out(parts[0], "198.18.1.10", port)});
  EXPECT_TRUE(events().empty());
  EXPECT_FALSE(send(parts[0]));  // a fifth: setup.quic_slots is 4
  EXPECT_EQ(only_event().reason, Reason::quic_capacity_exhausted);
  burst(Side::inside, {udp_out(parts[1], "198.18.1.10", 45000)});  // one completes, its slot frees
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);
  burst(Side::inside, {udp_out(parts[0], "198.18.1.10", 45100)});
  EXPECT_EQ(out_.forward_count, 0) << "held: the flow has a slot";
  EXPECT_TRUE(events().empty());
  EXPECT_EQ(dropped(Reason::quic_capacity_exhausted), 1u);
}

// Nothing of an undecided QUIC flow leaves before its verdict: the Initials of a ClientHello still
// incomplete are held (their CRYPTO data and padding would reach a server the policy then denies),
// released in arrival order ahead of the deciding one on an allow, freed on a deny.
class QuicHeldInitialsTest : public QuicFlowTest {
 protected:
  void adjust(PacketProcessorSetup& setup) override {
    QuicFlowTest::adjust(setup);
    setup.external_clock = true;
    setup.timeouts.tcp_handshake = 5;  // the pending deadline
  }
  void SetUp() override {
    QuicFlowTest::SetUp();
    at_seconds(0);
    free_before_ = rte_mempool_avail_count(pool_);
  }
  void at_seconds(double seconds) { processor_->set_clock(uint64_t((seconds + 1) * double(rte_get_tsc_hz()))); }
  uint32_t sweep() { return processor_->expire_idle(flows_.position_count(), policy_.get()); }
  // Mbufs of the pool taken and not given back since SetUp (out_ released first).
  unsigned taken() {
    release();
    return free_before_ - rte_mempool_avail_count(pool_);
  }
  // A post-quantum-sized ClientHello in two Initials.
  std::vector<QuicBytes> two_initials(const char* name) {
    const QuicBytes message = hello_message({.names = {name}, .filler = 1400});
    return split(message, {message.size() / 2});
  }
  unsigned free_before_ = 0;
};

TEST_F(QuicHeldInitialsTest, AnAllowedHellosInitialsLeaveTogetherInArrivalOrder) {
  const auto parts = two_initials("pypi.org");
  EXPECT_EQ(sent(parts[0]), 0) << "held: the ClientHello is incomplete";
  EXPECT_EQ(taken(), 1u);
  ASSERT_EQ(sent(parts[1]), 2);
  EXPECT_EQ(forwarded_payload(0), parts[0]);
  EXPECT_EQ(forwarded_payload(1), parts[1]);
  EXPECT_EQ(only_event().reason, Reason::allowed_domain);
  EXPECT_EQ(taken(), 0u);
}

TEST_F(QuicHeldInitialsTest, ADeniedHellosInitialsNeverLeave) {
  const auto parts = two_initials("exfil.example.net");
  EXPECT_EQ(sent(parts[0]), 0);
  EXPECT_EQ(sent(parts[1]), 0);
  EXPECT_EQ(out_.reply_count, 1);  // ICMP to the client
  EXPECT_EQ(dropped(Reason::domain_not_allowed), 2u) << "the held Initial and the deciding one";
  const FlowEvent event = only_event();
  EXPECT_EQ(event.verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(name_of(event), "exfil.example.net");
  EXPECT_EQ(taken(), 0u);
}

TEST_F(QuicHeldInitialsTest, DryRunReleasesTheHeldInitialsWithTheDenial) {
  const auto parts = two_initials("exfil.example.net");
  EXPECT_EQ(sent(parts[0], "198.18.2.10"), 0);
  ASSERT_EQ(sent(parts[1], "198.18.2.10"), 2);
  EXPECT_EQ(forwarded_payload(0), parts[0]);
  EXPECT_EQ(forwarded_payload(1), parts[1]);
  EXPECT_EQ(only_event().verdict, FlowVerdict::denied_dry_run);
  EXPECT_EQ(dropped(Reason::domain_not_allowed), 0u);
}

TEST_F(QuicHeldInitialsTest, MoreInitialsThanTheHoldTakesDenyTheFlow) {
  const auto parts = two_initials("pypi.org");
  // The same first half again and again (a retransmitting client, or one pinning buffers).
  for (int i = 0; i < kMaxHeldSegments; ++i) EXPECT_EQ(sent(parts[0]), 0) << i;
  EXPECT_TRUE(events().empty());
  EXPECT_EQ(taken(), unsigned(kMaxHeldSegments));
  EXPECT_EQ(sent(parts[0]), 0);
  EXPECT_EQ(dropped(Reason::quic_held_datagrams_full), unsigned(kMaxHeldSegments) + 1);
  const FlowEvent event = only_event();
  EXPECT_EQ(event.reason, Reason::quic_held_datagrams_full);
  EXPECT_EQ(event.verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(sent(parts[1]), 0) << "the flow is denied";
  EXPECT_EQ(taken(), 0u);
}

TEST_F(QuicHeldInitialsTest, AHeldFlowPastItsDeadlineIsDeniedByTheSweepAndFreesItsInitials) {
  const auto parts = two_initials("pypi.org");
  EXPECT_EQ(sent(parts[0]), 0);
  at_seconds(4);
  EXPECT_EQ(sweep(), 0u);
  EXPECT_EQ(taken(), 1u);
  at_seconds(7);  // past the 5 s deadline
  sweep();
  EXPECT_EQ(dropped(Reason::pending_deadline), 1u) << "the held Initial";
  EXPECT_EQ(taken(), 0u);
  const FlowEvent event = only_event();
  EXPECT_EQ(event.reason, Reason::pending_deadline);
  EXPECT_EQ(event.verdict, FlowVerdict::denied_enforced);
  EXPECT_EQ(sent(parts[1]), 0) << "the rest comes too late";
  // The denied flow idles out: nothing of it is left behind.
  at_seconds(200);
  EXPECT_EQ(sweep(), 1u);
  EXPECT_EQ(taken(), 0u);
}

TEST_F(QuicHeldInitialsTest, AnInitialAfterTheDeadlineDeniesTheFlowAndFreesWhatItHeld) {
  const auto parts = two_initials("pypi.org");
  EXPECT_EQ(sent(parts[0]), 0);
  at_seconds(4);
  EXPECT_EQ(sent(parts[0]), 0) << "a retransmission, held too; it does not move the deadline";
  at_seconds(7);  // past the deadline from the first datagram, not idle since the last
  EXPECT_EQ(sent(parts[1]), 0);
  EXPECT_EQ(dropped(Reason::pending_deadline), 3u) << "the two held Initials and the late one";
  EXPECT_EQ(only_event().reason, Reason::pending_deadline);
  EXPECT_EQ(taken(), 0u);
}

TEST_F(QuicHeldInitialsTest, AWorkerGoingAwayFreesWhatItHolds) {
  const auto parts = two_initials("pypi.org");
  EXPECT_EQ(sent(parts[0]), 0);
  EXPECT_EQ(sent(parts[0], "198.18.1.10", 40001), 0);
  EXPECT_EQ(taken(), 2u);
  processor_->discard_held();
  EXPECT_EQ(taken(), 0u);
  EXPECT_EQ(dropped(Reason::held_segment_discarded), 2u);
}

}  // namespace
}  // namespace sluice

// Reading a client's QUIC Initial: the RFC 9001 and RFC 9369 published samples, packets built here
// in every shape the reader must handle or refuse, and the allocations of the packet path.
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "dataplane/parse/tls_client_hello_parser.h"
#include "dataplane/quic/quic_crypto_stream.h"
#include "dataplane/quic/quic_initial_decryptor.h"
#include "dataplane/quic/quic_initial_frames.h"
#include "dataplane/quic/quic_initial_reader.h"
#include "dataplane/quic/quic_hmac_sha256.h"
#include "dataplane/quic/quic_packet_header.h"
#include "tests/unit/quic_initial_builder.h"

// GCC sees the replaced operator delete call free() on memory from operator new, which is exactly
// what the replacement below pairs it with.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Every heap allocation of this binary, counted: operator new for ours, libcrypto's own hooks for
// OpenSSL's (installed before OpenSSL allocates anything, from a static initialiser).
namespace {
std::atomic<size_t> new_calls{0};
std::atomic<size_t> crypto_allocations{0};
std::atomic<size_t> crypto_frees{0};

void* counting_malloc(size_t n, const char*, int) {
  ++crypto_allocations;
  return std::malloc(n);
}
void* counting_realloc(void* p, size_t n, const char*, int) {
  ++crypto_allocations;
  return std::realloc(p, n);
}
void counting_free(void* p, const char*, int) {
  if (p != nullptr) ++crypto_frees;
  std::free(p);
}
const bool crypto_hooks_installed = CRYPTO_set_mem_functions(counting_malloc, counting_realloc, counting_free) == 1;
}  // namespace

void* operator new(size_t n) {
  ++new_calls;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace sluice {
namespace {

using test::crypto_frame;
using test::InitialSpec;
using test::padding_frames;
using test::protect_initial;
using test::QuicBytes;

QuicBytes from_hex(const std::string& hex) {
  QuicBytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(uint8_t(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

QuicBytes load_hex(const std::string& name) {
  std::ifstream in(std::string(SLUICE_TEST_DATA) + "/quic/" + name);
  std::string hex;
  in >> hex;
  return from_hex(hex);
}

QuicBytes operator+(QuicBytes a, const QuicBytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

QuicBytes slice(const QuicBytes& bytes, size_t begin, size_t end) { return QuicBytes(bytes.begin() + begin, bytes.begin() + end); }

// The ClientHello of RFC 9001 A.2: its CRYPTO frame is 06 00 40f1 followed by the 241-byte message.
QuicBytes rfc_client_hello() {
  const QuicBytes frame = load_hex("rfc9001_a2_client_crypto_frame.hex");
  return slice(frame, 4, frame.size());
}

constexpr size_t kCapacity = 4096;

class QuicInitialTest : public ::testing::Test {
 protected:
  QuicInitialDecryptor decryptor;
  uint8_t data[kCapacity];
  uint8_t present[QuicCryptoStream::present_bytes_for(kCapacity)];
  QuicCryptoStream stream{data, present};
  QuicDatagramInfo info;

  QuicStatus read(const QuicBytes& datagram) { return read_client_initial_datagram(decryptor, datagram, stream, info); }

  // The SNI the stream's ClientHello names, or why there is none.
  std::string server_name() {
    const auto message = stream.first_handshake_message();
    if (message.empty()) return "<incomplete>";
    ClientHelloInfo hello;
    const auto status = parse_client_hello_message(message, hello);
    if (status != ClientHelloStatus::ok) return std::string("<") + to_string(status) + ">";
    return std::string(hello.server_name);
  }

  // A full-size Initial (RFC 9000 14.1 asks for 1200-byte datagrams) holding `frames`.
  QuicBytes initial(QuicBytes frames, uint32_t packet_number, uint32_t version = kQuicVersion1) {
    InitialSpec spec;
    spec.version = version;
    spec.packet_number = packet_number;
    if (frames.size() < 1100) frames = frames + padding_frames(1100 - frames.size());
    spec.frames = frames;
    return protect_initial(decryptor, spec);
  }
};

TEST_F(QuicInitialTest, DecryptorIsReady) { ASSERT_TRUE(decryptor.ready()); }

TEST_F(QuicInitialTest, KeysMatchRfc9001AppendixA1) {
  QuicInitialKeys keys;
  ASSERT_EQ(decryptor.derive_client_keys(kQuicVersion1, from_hex("8394c8f03e515708"), keys), QuicStatus::ok);
  EXPECT_EQ(QuicBytes(keys.client_initial_secret.begin(), keys.client_initial_secret.end()),
            from_hex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"));
  EXPECT_EQ(QuicBytes(keys.key.begin(), keys.key.end()), from_hex("1f369613dd76d5467730efcbe3b1a22d"));
  EXPECT_EQ(QuicBytes(keys.iv.begin(), keys.iv.end()), from_hex("fa044b2f42a3fd3b46fb255c"));
  EXPECT_EQ(QuicBytes(keys.hp.begin(), keys.hp.end()), from_hex("9f50449e04a0e810283a1e9933adedd2"));
}

TEST_F(QuicInitialTest, KeysMatchRfc9369AppendixA1) {
  QuicInitialKeys keys;
  ASSERT_EQ(decryptor.derive_client_keys(kQuicVersion2, from_hex("8394c8f03e515708"), keys), QuicStatus::ok);
  EXPECT_EQ(QuicBytes(keys.client_initial_secret.begin(), keys.client_initial_secret.end()),
            from_hex("14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b"));
  EXPECT_EQ(QuicBytes(keys.key.begin(), keys.key.end()), from_hex("8b1a0bc121284290a29e0971b5cd045d"));
  EXPECT_EQ(QuicBytes(keys.iv.begin(), keys.iv.end()), from_hex("91f73e2351d8fa91660e909f"));
  EXPECT_EQ(QuicBytes(keys.hp.begin(), keys.hp.end()), from_hex("45b95e15235d6f45a6b19cbcb0294ba9"));
}

TEST_F(QuicInitialTest, UnknownVersionDerivesNothing) {
  QuicInitialKeys keys;
  EXPECT_EQ(decryptor.derive_client_keys(0xff00001d, from_hex("8394c8f03e515708"), keys), QuicStatus::unknown_version);
}

struct PublishedSample {
  const char* file;
  uint32_t version;
  const char* unprotected_header;
};

class PublishedSampleTest : public QuicInitialTest, public ::testing::WithParamInterface<PublishedSample> {};

TEST_P(PublishedSampleTest, DecryptsToThePublishedCryptoFrameAndPadding) {
  const QuicBytes packet = load_hex(GetParam().file);
  ASSERT_EQ(packet.size(), 1200u);
  QuicLongHeader header;
  ASSERT_EQ(parse_quic_long_header(packet, header), QuicStatus::ok);
  EXPECT_EQ(header.version, GetParam().version);
  EXPECT_EQ(header.type, QuicPacketType::initial);
  EXPECT_EQ(QuicBytes(header.destination_connection_id.begin(), header.destination_connection_id.end()),
            from_hex("8394c8f03e515708"));
  EXPECT_TRUE(header.source_connection_id.empty());
  EXPECT_TRUE(header.token.empty());
  EXPECT_EQ(header.packet_number_offset, 18u);
  EXPECT_EQ(header.packet_length, 1200u);

  QuicOpenedPacket opened;
  ASSERT_EQ(decryptor.open(packet, header, opened), QuicStatus::ok);
  EXPECT_EQ(opened.packet_number, 2u);
  EXPECT_EQ(QuicBytes(opened.header.begin(), opened.header.end()), from_hex(GetParam().unprotected_header));
  ASSERT_EQ(opened.payload.size(), 1162u);
  const QuicBytes frame = load_hex("rfc9001_a2_client_crypto_frame.hex");
  const QuicBytes payload(opened.payload.begin(), opened.payload.end());
  EXPECT_EQ(slice(payload, 0, frame.size()), frame);
  EXPECT_EQ(slice(payload, frame.size(), payload.size()), padding_frames(1162 - frame.size()));
}

TEST_P(PublishedSampleTest, ItsClientHelloNamesExampleCom) {
  ASSERT_EQ(read(load_hex(GetParam().file)), QuicStatus::ok);
  EXPECT_EQ(info.version, GetParam().version);
  EXPECT_EQ(QuicBytes(info.dcid().begin(), info.dcid().end()), from_hex("8394c8f03e515708"));
  EXPECT_EQ(info.initial_packets, 1u);
  EXPECT_EQ(info.frames.crypto, 1u);
  EXPECT_EQ(info.frames.padding_bytes, 1162u - 245u);
  EXPECT_EQ(stream.first_handshake_message().size(), 245u - 4u);
  ClientHelloInfo hello;
  ASSERT_EQ(parse_client_hello_message(stream.first_handshake_message(), hello), ClientHelloStatus::ok);
  EXPECT_EQ(hello.server_name, "example.com");
  EXPECT_EQ(hello.server_name_count, 1u);
  EXPECT_EQ(hello.first_alpn, "alpn");
  EXPECT_EQ(hello.highest_supported_version, 0x0304u);
  EXPECT_EQ(hello.stream_bytes_used, 241u);
}

INSTANTIATE_TEST_SUITE_P(Rfc, PublishedSampleTest,
                         ::testing::Values(PublishedSample{"rfc9001_a2_client_initial.hex", kQuicVersion1,
                                                           "c300000001088394c8f03e5157080000449e00000002"},
                                           PublishedSample{"rfc9369_a2_client_initial.hex", kQuicVersion2,
                                                           "d36b3343cf088394c8f03e5157080000449e00000002"}));

TEST_F(QuicInitialTest, AnotherDestinationConnectionIdIsDecryptFailed) {
  QuicBytes packet = load_hex("rfc9001_a2_client_initial.hex");
  packet[6] ^= 0x01;  // the DCID's first byte: other keys, and another AAD
  EXPECT_EQ(read(packet), QuicStatus::decrypt_failed);
}

TEST_F(QuicInitialTest, ChangedTagOrCiphertextIsDecryptFailed) {
  for (size_t at : {size_t(1199), size_t(1184), size_t(600), size_t(22)}) {
    QuicBytes packet = load_hex("rfc9001_a2_client_initial.hex");
    packet[at] ^= 0x80;
    EXPECT_EQ(read(packet), QuicStatus::decrypt_failed) << "byte " << at;
  }
}

TEST_F(QuicInitialTest, AV1PacketLabelledV2IsDecryptFailed) {
  QuicBytes packet = load_hex("rfc9001_a2_client_initial.hex");
  // The v2 Initial type bits, so that only the version's salt and labels are wrong.
  packet[0] ^= 0x10;
  packet[1] = 0x6b, packet[2] = 0x33, packet[3] = 0x43, packet[4] = 0xcf;
  EXPECT_EQ(read(packet), QuicStatus::decrypt_failed);
}

TEST_F(QuicInitialTest, OtherVersionsAreNamed) {
  QuicBytes packet = load_hex("rfc9001_a2_client_initial.hex");
  packet[1] = 0xff, packet[2] = 0x00, packet[3] = 0x00, packet[4] = 0x1d;  // draft-29
  EXPECT_EQ(read(packet), QuicStatus::unknown_version);
  EXPECT_EQ(info.version, 0xff00001du);
  packet[1] = packet[2] = packet[3] = packet[4] = 0;
  EXPECT_EQ(read(packet), QuicStatus::version_negotiation);
}

TEST_F(QuicInitialTest, EveryTruncationIsTruncated) {
  const QuicBytes packet = load_hex("rfc9001_a2_client_initial.hex");
  for (size_t length = 0; length < packet.size(); ++length) {
    EXPECT_EQ(read(slice(packet, 0, length)), QuicStatus::truncated) << "first " << length << " bytes";
  }
}

TEST_F(QuicInitialTest, MalformedHeadersAreNamed) {
  EXPECT_EQ(read({0x40, 0x01, 0x02}), QuicStatus::not_long_header);
  QuicBytes long_dcid = {0xc0, 0x00, 0x00, 0x00, 0x01, 21};
  long_dcid.resize(long_dcid.size() + 21 + 1 + 1 + 2, 0);
  EXPECT_EQ(read(long_dcid), QuicStatus::connection_id_too_long);
  QuicBytes handshake = load_hex("rfc9001_a2_client_initial.hex");
  handshake[0] = 0xe0;  // v1 Handshake
  EXPECT_EQ(read(handshake), QuicStatus::not_initial);
  handshake[0] = 0xf0;  // v1 Retry
  EXPECT_EQ(read(handshake), QuicStatus::not_initial);
}

TEST_F(QuicInitialTest, PacketTooShortToSampleIsNamed) {
  InitialSpec spec;
  spec.packet_number_length = 1;
  spec.frames = {0x01};  // one PING: 1 + 1 + 16 bytes after the header, the sample needs 20
  EXPECT_EQ(read(protect_initial(decryptor, spec)), QuicStatus::packet_too_short);
}

TEST_F(QuicInitialTest, APacketLongerThanAnyDatagramIsRefusedBeforeDecryption) {
  InitialSpec spec;
  spec.frames = padding_frames(kQuicMaxDatagramSize);
  QuicBytes packet = test::initial_header(spec, spec.frames.size());
  // A four-byte Length (the builder writes two): past what a UDP payload can hold.
  const size_t length = 4 + spec.frames.size() + 16;
  packet.resize(packet.size() - 2);
  for (int i = 3; i >= 0; --i) packet.push_back(uint8_t((i == 3 ? 0x80 : 0) | uint8_t(length >> (8 * i))));
  packet.resize(packet.size() + length, 0);
  EXPECT_EQ(read(packet), QuicStatus::packet_too_long);
}

TEST_F(QuicInitialTest, ReservedBitsAfterDecryptionAreNamed) {
  InitialSpec spec;
  spec.reserved_bits = 0x02;
  spec.frames = crypto_frame(0, rfc_client_hello()) + padding_frames(900);
  EXPECT_EQ(read(protect_initial(decryptor, spec)), QuicStatus::reserved_bits_set);
}

TEST_F(QuicInitialTest, EveryPacketNumberLengthOpens) {
  for (size_t length = 1; length <= 4; ++length) {
    InitialSpec spec;
    spec.packet_number_length = length;
    spec.packet_number = 0x5a;
    spec.frames = crypto_frame(0, rfc_client_hello()) + padding_frames(900);
    stream.reset();
    ASSERT_EQ(read(protect_initial(decryptor, spec)), QuicStatus::ok) << length;
    EXPECT_EQ(server_name(), "example.com");
  }
}

TEST_F(QuicInitialTest, FramesAnInitialMayNotCarryAreRefused) {
  for (const QuicBytes& frame : {QuicBytes{0x08, 0x00, 0x01, 0x41},  // STREAM
                                 QuicBytes{0x1d, 0x00, 0x00},       // application CONNECTION_CLOSE
                                 QuicBytes{0x1e},                   // HANDSHAKE_DONE
                                 QuicBytes{0x40, 0x06, 0x00, 0x00}}) {  // CRYPTO's type in two bytes
    EXPECT_EQ(read(initial(QuicBytes{0x01} + frame, 0)), QuicStatus::frame_not_allowed);
  }
}

TEST_F(QuicInitialTest, MalformedFramesAreRefused) {
  // A CRYPTO frame longer than the payload, and an ACK cut off, each at the end of the packet.
  InitialSpec spec;
  spec.frames = padding_frames(1100) + QuicBytes{0x06, 0x00, 0x44, 0x00, 0xaa};
  EXPECT_EQ(read(protect_initial(decryptor, spec)), QuicStatus::frame_malformed);
  spec.frames = padding_frames(1100) + QuicBytes{0x02, 0x05, 0x00, 0x10};
  EXPECT_EQ(read(protect_initial(decryptor, spec)), QuicStatus::frame_malformed);
  spec.frames = padding_frames(1100) + QuicBytes{0x1c, 0x0a, 0x00, 0x05, 'a'};
  EXPECT_EQ(read(protect_initial(decryptor, spec)), QuicStatus::frame_malformed);
}

TEST_F(QuicInitialTest, AckPingPaddingAndConnectionCloseAreReadAndCounted) {
  const QuicBytes hello = rfc_client_hello();
  const QuicBytes frames = QuicBytes{0x01, 0x00, 0x00} + crypto_frame(0, slice(hello, 0, 50)) +
                           QuicBytes{0x03, 0x07, 0x00, 0x01, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00} +  // ACK_ECN
                           QuicBytes{0x01} + crypto_frame(50, slice(hello, 50, hello.size())) +
                           QuicBytes{0x02, 0x00, 0x00, 0x00, 0x00} +                          // ACK
                           QuicBytes{0x1c, 0x00, 0x00, 0x02, 'o', 'k'};                       // CONNECTION_CLOSE
  ASSERT_EQ(read(initial(frames, 0)), QuicStatus::ok);
  EXPECT_EQ(info.frames.crypto, 2u);
  EXPECT_EQ(info.frames.ping, 2u);
  EXPECT_EQ(info.frames.ack, 2u);
  EXPECT_EQ(info.frames.connection_close, 1u);
  EXPECT_EQ(server_name(), "example.com");
}

// Chromium's way: the hello cut into CRYPTO frames over two Initials, out of order inside each,
// with PING and PADDING between them.
struct SplitHello {
  QuicBytes first;   // bytes [0, 100) and a PING
  QuicBytes second;  // bytes [150, end), then [100, 150)
};

SplitHello split_hello(QuicInitialTest& test, QuicBytes (QuicInitialTest::*make)(QuicBytes, uint32_t, uint32_t),
                       uint32_t version) {
  const QuicBytes hello = rfc_client_hello();
  return {(test.*make)(QuicBytes{0x01} + crypto_frame(0, slice(hello, 0, 100)) + padding_frames(7), 0, version),
          (test.*make)(padding_frames(3) + crypto_frame(150, slice(hello, 150, hello.size())) + QuicBytes{0x01} +
                           padding_frames(2) + crypto_frame(100, slice(hello, 100, 150)),
                       1, version)};
}

class SplitHelloTest : public QuicInitialTest {
 public:
  using QuicInitialTest::initial;
};

TEST_F(SplitHelloTest, JoinsInOrder) {
  for (uint32_t version : {kQuicVersion1, kQuicVersion2}) {
    stream.reset();
    const SplitHello split = split_hello(*this, &SplitHelloTest::initial, version);
    ASSERT_EQ(read(split.first), QuicStatus::ok);
    EXPECT_EQ(stream.contiguous(), 100u);
    EXPECT_EQ(server_name(), "<incomplete>");
    ASSERT_EQ(read(split.second), QuicStatus::ok);
    EXPECT_EQ(server_name(), "example.com");
  }
}

TEST_F(SplitHelloTest, JoinsOutOfOrder) {
  for (uint32_t version : {kQuicVersion1, kQuicVersion2}) {
    stream.reset();
    const SplitHello split = split_hello(*this, &SplitHelloTest::initial, version);
    ASSERT_EQ(read(split.second), QuicStatus::ok);
    EXPECT_EQ(stream.contiguous(), 0u);
    EXPECT_EQ(server_name(), "<incomplete>");
    ASSERT_EQ(read(split.first), QuicStatus::ok);
    EXPECT_EQ(server_name(), "example.com");
  }
}

TEST_F(SplitHelloTest, JoinsCoalescedInOneDatagram) {
  const SplitHello split = split_hello(*this, &SplitHelloTest::initial, kQuicVersion1);
  ASSERT_EQ(read(split.second + split.first), QuicStatus::ok);
  EXPECT_EQ(info.initial_packets, 2u);
  EXPECT_EQ(server_name(), "example.com");
}

TEST_F(SplitHelloTest, ARetransmissionIsHarmlessAndAConflictIsNamed) {
  const QuicBytes hello = rfc_client_hello();
  ASSERT_EQ(read(initial(crypto_frame(0, slice(hello, 0, 100)), 0)), QuicStatus::ok);
  ASSERT_EQ(read(initial(crypto_frame(50, slice(hello, 50, 100)), 1)), QuicStatus::ok);
  QuicBytes changed = slice(hello, 80, 120);
  changed[5] ^= 0x20;  // byte 85, received before
  EXPECT_EQ(read(initial(crypto_frame(80, changed), 2)), QuicStatus::crypto_conflict);
  // The refused frame left nothing behind: the honest rest still completes the hello.
  ASSERT_EQ(read(initial(crypto_frame(100, slice(hello, 100, hello.size())), 3)), QuicStatus::ok);
  EXPECT_EQ(server_name(), "example.com");
}

TEST_F(QuicInitialTest, CoalescedPacketsOfOtherTypesOrConnectionsAreSkipped) {
  const QuicBytes first = initial(crypto_frame(0, rfc_client_hello()), 0);
  // A 0-RTT packet (v1 type 0b01): its payload is not ours to read, its Length is.
  QuicBytes zero_rtt = {0xd0, 0x00, 0x00, 0x00, 0x01, 0x08, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0x00, 0x40, 0x20};
  zero_rtt.resize(zero_rtt.size() + 0x20, 0x77);
  InitialSpec other;
  other.dcid = {1, 2, 3, 4, 5, 6, 7, 8};
  other.frames = QuicBytes{0x08, 0x00} + padding_frames(40);  // never read: another connection's
  const QuicBytes short_header = {0x40, 0x11, 0x22, 0x33};
  ASSERT_EQ(read(first + zero_rtt + protect_initial(decryptor, other) + short_header), QuicStatus::ok);
  EXPECT_EQ(info.initial_packets, 1u);
  EXPECT_EQ(info.skipped_packets, 2u);
  EXPECT_EQ(server_name(), "example.com");
}

TEST_F(QuicInitialTest, AFailingCoalescedPacketFailsTheDatagram) {
  QuicBytes second = initial(crypto_frame(0, rfc_client_hello()), 1);
  second[second.size() - 1] ^= 1;
  EXPECT_EQ(read(initial({0x01}, 0) + second), QuicStatus::decrypt_failed);
  EXPECT_EQ(read(initial({0x01}, 0) + QuicBytes{0xc0, 0x00}), QuicStatus::truncated);
}

TEST(QuicCryptoStream, BoundsAreNamed) {
  uint8_t data[64];
  uint8_t present[QuicCryptoStream::present_bytes_for(64)];
  QuicCryptoStream stream(data, present);
  const QuicBytes ten(10, 0xab);
  EXPECT_EQ(stream.add(60, ten), QuicStatus::crypto_too_large);
  EXPECT_EQ(stream.add(uint64_t(1) << 40, ten), QuicStatus::crypto_too_large);
  EXPECT_EQ(stream.contiguous(), 0u);
  EXPECT_EQ(stream.add(54, ten), QuicStatus::ok);
  // A handshake header that declares more than fits can never complete.
  EXPECT_EQ(stream.add(0, QuicBytes{0x01, 0x00, 0x01, 0x00}), QuicStatus::ok);
  EXPECT_TRUE(stream.first_handshake_message_too_large());
  EXPECT_TRUE(stream.first_handshake_message().empty());
}

TEST(QuicCryptoStream, ACompleteMessageIsReportedOnlyFromOffsetZero) {
  uint8_t data[64];
  uint8_t present[QuicCryptoStream::present_bytes_for(64)];
  QuicCryptoStream stream(data, present);
  EXPECT_EQ(stream.add(4, QuicBytes{0xaa, 0xbb}), QuicStatus::ok);
  EXPECT_TRUE(stream.first_handshake_message().empty());
  EXPECT_EQ(stream.add(0, QuicBytes{0x01, 0x00, 0x00, 0x02}), QuicStatus::ok);
  EXPECT_EQ(QuicBytes(stream.first_handshake_message().begin(), stream.first_handshake_message().end()),
            (QuicBytes{0x01, 0x00, 0x00, 0x02, 0xaa, 0xbb}));
  EXPECT_FALSE(stream.first_handshake_message_too_large());
}

// Overlapping pieces at every alignment, in shuffled order: the stream always ends up with the
// hello whole, reports it only once every byte from 0 has come, and a changed byte always conflicts.
TEST(QuicCryptoStream, ShuffledOverlappingPiecesJoin) {
  const QuicBytes hello = rfc_client_hello();
  std::mt19937 random(14);
  for (int round = 0; round < 300; ++round) {
    uint8_t data[512];
    uint8_t present[QuicCryptoStream::present_bytes_for(512)];
    QuicCryptoStream stream(data, present);
    std::vector<std::pair<size_t, size_t>> pieces;  // [begin, end)
    for (size_t at = 0; at < hello.size();) {
      const size_t end = std::min(hello.size(), at + 1 + random() % 40);
      const size_t back = std::min<size_t>(at, random() % 12);  // overlap the piece before
      pieces.emplace_back(at - back, end);
      at = end;
    }
    std::shuffle(pieces.begin(), pieces.end(), random);
    for (size_t i = 0; i < pieces.size(); ++i) {
      // Pieces overlap, so the hello may be whole before the last one comes; never before then.
      ASSERT_EQ(stream.first_handshake_message().empty(), stream.contiguous() < hello.size());
      const auto [begin, end] = pieces[i];
      if (i == pieces.size() / 2 && stream.contiguous() > 0) {
        QuicBytes changed = slice(hello, 0, stream.contiguous());
        changed[random() % changed.size()] ^= 0x01;
        ASSERT_EQ(stream.add(0, changed), QuicStatus::crypto_conflict);
      }
      ASSERT_EQ(stream.add(begin, slice(hello, begin, end)), QuicStatus::ok);
    }
    ASSERT_EQ(stream.contiguous(), hello.size());
    const auto message = stream.first_handshake_message();
    ASSERT_EQ(QuicBytes(message.begin(), message.end()), hello);
  }
}

TEST(ClientHelloMessage, BareHandshakeMessagesReadLikeRecords) {
  const QuicBytes hello = rfc_client_hello();
  ClientHelloInfo info;
  EXPECT_EQ(parse_client_hello_message(hello, info), ClientHelloStatus::ok);
  EXPECT_EQ(info.server_name, "example.com");
  // The same hello in a TLS record reads the same through the TCP entry point.
  QuicBytes record = {0x16, 0x03, 0x01, uint8_t(hello.size() >> 8), uint8_t(hello.size())};
  record = record + hello;
  ClientHelloInfo over_tcp;
  ASSERT_EQ(parse_client_hello(record, over_tcp), ClientHelloStatus::ok);
  EXPECT_EQ(over_tcp.server_name, info.server_name);
  EXPECT_EQ(over_tcp.first_alpn, info.first_alpn);
  EXPECT_EQ(over_tcp.stream_bytes_used, info.stream_bytes_used + 5);

  EXPECT_EQ(parse_client_hello_message(slice(hello, 0, 100), info), ClientHelloStatus::incomplete);
  EXPECT_EQ(parse_client_hello_message(slice(hello, 0, 3), info), ClientHelloStatus::incomplete);
  EXPECT_EQ(parse_client_hello_message({}, info), ClientHelloStatus::incomplete);
  EXPECT_EQ(parse_client_hello_message(hello + QuicBytes{0x00}, info), ClientHelloStatus::malformed);
  QuicBytes server_hello = hello;
  server_hello[0] = 0x02;
  EXPECT_EQ(parse_client_hello_message(server_hello, info), ClientHelloStatus::not_client_hello);
}

TEST(QuicStatusNames, EveryStatusHasAName) {
  for (int i = 0; i <= int(QuicStatus::crypto_too_large); ++i) {
    EXPECT_STRNE(to_string(QuicStatus(i)), "unknown") << i;
  }
}

// The packet path: with the connection's keys derived (its first Initial), reading more Initials
// allocates nothing, neither in our code nor inside libcrypto.
TEST_F(QuicInitialTest, ReadingInitialsAllocatesNothingOnceKeysAreDerived) {
  ASSERT_TRUE(crypto_hooks_installed) << "libcrypto allocated before the test could count";
  const QuicBytes packet = load_hex("rfc9001_a2_client_initial.hex");
  ASSERT_EQ(read(packet), QuicStatus::ok);  // derives this DCID's keys

  const size_t news_before = new_calls, allocations_before = crypto_allocations;
  for (int i = 0; i < 100; ++i) {
    stream.reset();
    ASSERT_EQ(read(packet), QuicStatus::ok);
    ClientHelloInfo hello;
    ASSERT_EQ(parse_client_hello_message(stream.first_handshake_message(), hello), ClientHelloStatus::ok);
  }
  EXPECT_EQ(new_calls - news_before, 0u);
  EXPECT_EQ(crypto_allocations - allocations_before, 0u);
}

// A new connection's first Initial: its keys derived (five HMACs over libcrypto's SHA-256), the
// AES contexts re-keyed, the packet opened. Nothing is allocated, in our code or in libcrypto
// (OpenSSL 3.0's EVP_MAC HMAC allocated 25 times a derivation).
TEST_F(QuicInitialTest, ANewConnectionsFirstInitialAllocatesNothing) {
  ASSERT_TRUE(crypto_hooks_installed) << "libcrypto allocated before the test could count";
  ASSERT_EQ(read(load_hex("rfc9001_a2_client_initial.hex")), QuicStatus::ok);
  std::vector<QuicBytes> packets;
  for (uint8_t i = 0; i < 16; ++i) {
    InitialSpec spec;
    spec.dcid = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, i};
    spec.version = i % 2 ? kQuicVersion2 : kQuicVersion1;
    spec.frames = crypto_frame(0, rfc_client_hello()) + padding_frames(900);
    packets.push_back(protect_initial(decryptor, spec));
  }
  QuicInitialKeys keys;
  const QuicBytes rfc_dcid = from_hex("8394c8f03e515708");
  const size_t news_before = new_calls, allocations_before = crypto_allocations;
  for (const auto& packet : packets) {
    stream.reset();
    ASSERT_EQ(read(packet), QuicStatus::ok);
  }
  ASSERT_EQ(decryptor.derive_client_keys(kQuicVersion1, rfc_dcid, keys), QuicStatus::ok);
  EXPECT_EQ(new_calls - news_before, 0u);
  EXPECT_EQ(crypto_allocations - allocations_before, 0u);
}

// The HMAC the key derivation uses equals libcrypto's EVP_MAC HMAC-SHA256, for keys shorter than,
// as long as and longer than a block, and data in one or two pieces.
TEST_F(QuicInitialTest, HmacSha256EqualsLibcryptos) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  ASSERT_NE(mac, nullptr);
  for (size_t key_length : {0, 1, 20, 32, 63, 64, 65, 200}) {
    for (size_t data_length : {0, 1, 55, 56, 64, 300}) {
      QuicBytes key(key_length), data(data_length);
      for (size_t i = 0; i < key_length; ++i) key[i] = uint8_t(i * 7 + key_length);
      for (size_t i = 0; i < data_length; ++i) data[i] = uint8_t(i * 13 + 1);
      uint8_t expected[32];
      size_t written = 0;
      char digest[] = "SHA256";
      const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
      EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
      ASSERT_EQ(EVP_MAC_init(ctx, key.empty() ? (const uint8_t*)"" : key.data(), key.size(), params), 1);
      ASSERT_EQ(EVP_MAC_update(ctx, data.data(), data.size()), 1);
      ASSERT_EQ(EVP_MAC_final(ctx, expected, &written, sizeof(expected)), 1);
      EVP_MAC_CTX_free(ctx);
      HmacSha256Key padded;
      ASSERT_TRUE(hmac_sha256_key(key, padded));
      uint8_t whole[32], pieces[32];
      const size_t half = data_length / 2;
      ASSERT_TRUE(hmac_sha256(padded, data, {}, whole));
      ASSERT_TRUE(hmac_sha256(padded, {data.data(), half}, {data.data() + half, data_length - half}, pieces));
      EXPECT_EQ(QuicBytes(whole, whole + 32), QuicBytes(expected, expected + 32)) << key_length << " " << data_length;
      EXPECT_EQ(QuicBytes(pieces, pieces + 32), QuicBytes(expected, expected + 32)) << key_length << " " << data_length;
    }
  }
  EVP_MAC_free(mac);
}

// --- a server's Retry and Version Negotiation (RFC 9000 17.2.1, 17.2.5; RFC 9001 5.8) ----------

const QuicBytes kRfcOriginalDcid = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};

class RetrySampleTest : public QuicInitialTest, public ::testing::WithParamInterface<PublishedSample> {};

TEST_P(RetrySampleTest, PublishedRetryVerifiesAndNamesItsToken) {
  const QuicBytes packet = load_hex(GetParam().file);
  QuicLongHeader header;
  ASSERT_EQ(parse_quic_long_header(packet, header), QuicStatus::ok);
  EXPECT_EQ(header.version, GetParam().version);
  EXPECT_EQ(header.type, QuicPacketType::retry);
  EXPECT_EQ(std::string(header.token.begin(), header.token.end()), "token");
  EXPECT_EQ(QuicBytes(header.source_connection_id.begin(), header.source_connection_id.end()),
            (QuicBytes{0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5}));
  EXPECT_EQ(decryptor.verify_retry(packet, header, kRfcOriginalDcid), QuicStatus::ok);
}

TEST_P(RetrySampleTest, AnyChangedByteOrAnotherOriginalDcidFailsTheTag) {
  const QuicBytes packet = load_hex(GetParam().file);
  for (size_t i = 1; i < packet.size(); ++i) {  // byte 0's low bits are unused in a Retry
    QuicBytes changed = packet;
    changed[i] ^= 0x01;
    QuicLongHeader header;
    if (parse_quic_long_header(changed, header) != QuicStatus::ok || header.type != QuicPacketType::retry) continue;
    EXPECT_EQ(decryptor.verify_retry(changed, header, kRfcOriginalDcid), QuicStatus::decrypt_failed) << "byte " << i;
  }
  QuicLongHeader header;
  ASSERT_EQ(parse_quic_long_header(packet, header), QuicStatus::ok);
  QuicBytes other_dcid = kRfcOriginalDcid;
  other_dcid[0] ^= 0xff;
  EXPECT_EQ(decryptor.verify_retry(packet, header, other_dcid), QuicStatus::decrypt_failed);
  EXPECT_EQ(decryptor.verify_retry(packet, header, QuicBytes{}), QuicStatus::decrypt_failed);
}

INSTANTIATE_TEST_SUITE_P(Rfc, RetrySampleTest,
                         ::testing::Values(PublishedSample{"rfc9001_a4_retry.hex", kQuicVersion1},
                                           PublishedSample{"rfc9369_a4_retry.hex", kQuicVersion2}));

TEST_F(QuicInitialTest, BuiltRetryVerifiesAndRetryWithoutRoomForItsTagIsTruncated) {
  const QuicBytes retry = test::retry_packet(kQuicVersion1, {1, 2, 3}, {9, 8, 7, 6, 5}, {0x74, 0x6b}, kRfcOriginalDcid);
  QuicLongHeader header;
  ASSERT_EQ(parse_quic_long_header(retry, header), QuicStatus::ok);
  EXPECT_EQ(header.token.size(), 2u);
  EXPECT_EQ(decryptor.verify_retry(retry, header, kRfcOriginalDcid), QuicStatus::ok);
  const QuicBytes broken = test::retry_packet(kQuicVersion1, {1, 2, 3}, {9, 8, 7, 6, 5}, {0x74, 0x6b}, kRfcOriginalDcid, true);
  ASSERT_EQ(parse_quic_long_header(broken, header), QuicStatus::ok);
  EXPECT_EQ(decryptor.verify_retry(broken, header, kRfcOriginalDcid), QuicStatus::decrypt_failed);
  // An empty token still leaves the tag; fewer than 16 bytes after the SCID cannot hold it.
  const QuicBytes no_token = test::retry_packet(kQuicVersion1, {1}, {2}, {}, kRfcOriginalDcid);
  ASSERT_EQ(parse_quic_long_header(no_token, header), QuicStatus::ok);
  EXPECT_TRUE(header.token.empty());
  EXPECT_EQ(parse_quic_long_header(slice(no_token, 0, no_token.size() - 1), header), QuicStatus::truncated);
}

TEST_F(QuicInitialTest, VersionNegotiationListIsRead) {
  const QuicBytes scid = {1, 2, 3}, dcid = {4, 5, 6, 7, 8, 9, 10, 11};
  const QuicBytes negotiation = test::version_negotiation_packet(scid, dcid, {0x1a2a3a4a, kQuicVersion2});
  QuicLongHeader header;
  ASSERT_EQ(parse_quic_long_header(negotiation, header), QuicStatus::version_negotiation);
  bool lists = false;
  EXPECT_EQ(read_version_negotiation(negotiation, header, kQuicVersion2, lists), QuicStatus::ok);
  EXPECT_TRUE(lists);
  EXPECT_EQ(read_version_negotiation(negotiation, header, kQuicVersion1, lists), QuicStatus::ok);
  EXPECT_FALSE(lists);
  // An empty list, or one that is not whole versions, is malformed (RFC 9000 17.2.1).
  const QuicBytes empty = test::version_negotiation_packet(scid, dcid, {});
  ASSERT_EQ(parse_quic_long_header(empty, header), QuicStatus::version_negotiation);
  EXPECT_EQ(read_version_negotiation(empty, header, kQuicVersion1, lists), QuicStatus::truncated);
  const QuicBytes ragged = slice(negotiation, 0, negotiation.size() - 1);
  ASSERT_EQ(parse_quic_long_header(ragged, header), QuicStatus::version_negotiation);
  EXPECT_EQ(read_version_negotiation(ragged, header, kQuicVersion1, lists), QuicStatus::truncated);
}

}  // namespace
}  // namespace sluice

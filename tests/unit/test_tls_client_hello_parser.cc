#include "dataplane/parse/tls_client_hello_parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;
using test::put16;
using test::operator+;

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes extension(uint16_t type, const Bytes& body) {
  Bytes b;
  put16(b, type);
  put16(b, uint16_t(body.size()));
  return b + body;
}

Bytes server_name_extension(const std::vector<std::string>& names, uint8_t name_type = 0) {
  Bytes list;
  for (const auto& name : names) {
    list.push_back(name_type);
    put16(list, uint16_t(name.size()));
    list = list + text(name);
  }
  Bytes body;
  put16(body, uint16_t(list.size()));
  return extension(0, body + list);
}

Bytes alpn_extension(const std::vector<std::string>& protocols) {
  Bytes list;
  for (const auto& protocol : protocols) {
    list.push_back(uint8_t(protocol.size()));
    list = list + text(protocol);
  }
  Bytes body;
  put16(body, uint16_t(list.size()));
  return extension(16, body + list);
}

Bytes supported_versions_extension(const std::vector<uint16_t>& versions) {
  Bytes body = {uint8_t(versions.size() * 2)};
  for (uint16_t version : versions) put16(body, version);
  return extension(43, body);
}

Bytes ech_extension() { return extension(0xfe0d, Bytes(40, 0x5a)); }
Bytes padding_extension(size_t length) { return extension(21, Bytes(length, 0)); }

// legacy_version 0x0303, random, a 32-byte session id, four suites, null compression, then the
// extensions block (left out entirely when `with_extensions` is false).
Bytes client_hello_body(const Bytes& extensions, bool with_extensions = true) {
  Bytes b = {0x03, 0x03};
  b.resize(b.size() + 32, 0x11);
  b.push_back(32);
  b.resize(b.size() + 32, 0x22);
  b = b + Bytes{0x00, 0x08, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f, 0x00, 0xff, 0x01, 0x00};
  if (!with_extensions) return b;
  put16(b, uint16_t(extensions.size()));
  return b + extensions;
}

Bytes handshake(uint8_t type, const Bytes& body) {
  Bytes b = {type, uint8_t(body.size() >> 16), uint8_t(body.size() >> 8), uint8_t(body.size())};
  return b + body;
}

Bytes record(const Bytes& fragment, uint8_t content_type = 22) {
  Bytes b = {content_type, 0x03, 0x01};
  put16(b, uint16_t(fragment.size()));
  return b + fragment;
}

Bytes client_hello(const Bytes& extensions) { return record(handshake(1, client_hello_body(extensions))); }

// Where the fixed fields of client_hello() sit in the stream, for tests that corrupt one of them.
constexpr size_t kHandshakeLengthAt = 6;
constexpr size_t kSessionIdLengthAt = 43;
constexpr size_t kCipherSuitesLengthAt = 76;
constexpr size_t kCompressionLengthAt = 86;
constexpr size_t kExtensionsLengthAt = 88;

// The views in `info` point into `stream`: keep it alive while reading them.
ClientHelloStatus parse(const Bytes& stream, ClientHelloInfo& info) { return parse_client_hello(stream, info); }

Bytes modern_hello() {
  return client_hello(server_name_extension({"Example.com"}) + alpn_extension({"h2", "http/1.1"}) +
                      supported_versions_extension({0x2a2a, 0x0304, 0x0303}) + padding_extension(20));
}

TEST(ClientHelloParser, FieldOffsetsOfTheBuilder) {
  Bytes hello = modern_hello();
  EXPECT_EQ(hello[kHandshakeLengthAt - 1], 1);
  EXPECT_EQ(hello[kSessionIdLengthAt], 32);
  EXPECT_EQ(hello[kCipherSuitesLengthAt + 1], 8);
  EXPECT_EQ(hello[kCompressionLengthAt], 1);
  EXPECT_EQ(size_t(hello[kExtensionsLengthAt] << 8 | hello[kExtensionsLengthAt + 1]), hello.size() - 90);
}

TEST(ClientHelloParser, ModernHello) {
  Bytes stream = modern_hello();
  ClientHelloInfo info;
  ASSERT_EQ(parse(stream, info), ClientHelloStatus::ok);
  EXPECT_EQ(info.legacy_version, 0x0303);
  EXPECT_EQ(info.server_name, "Example.com");  // raw: normalising is not the parser's job
  EXPECT_EQ(info.server_name_count, 1);
  EXPECT_TRUE(info.has_server_name_extension);
  EXPECT_FALSE(info.has_encrypted_client_hello);
  EXPECT_EQ(info.first_alpn, "h2");
  EXPECT_EQ(info.supported_versions_count, 2);  // the GREASE value is not counted
  EXPECT_EQ(info.highest_supported_version, 0x0304);
  // Views point into the stream itself.
  const char* begin = reinterpret_cast<const char*>(stream.data());
  EXPECT_GE(info.server_name.data(), begin);
  EXPECT_LE(info.server_name.data() + info.server_name.size(), begin + stream.size());
}

TEST(ClientHelloParser, SniOnlyTls12) {
  const Bytes stream = client_hello(server_name_extension({"example.org"}));
  ClientHelloInfo info;
  ASSERT_EQ(parse(stream, info), ClientHelloStatus::ok);
  EXPECT_EQ(info.server_name, "example.org");
  EXPECT_TRUE(info.first_alpn.empty());
  EXPECT_EQ(info.supported_versions_count, 0);
  EXPECT_EQ(info.highest_supported_version, 0x0303);  // falls back to legacy_version
}

TEST(ClientHelloParser, EncryptedClientHello) {
  const Bytes stream = client_hello(server_name_extension({"public.example"}) + ech_extension());
  ClientHelloInfo info;
  ASSERT_EQ(parse(stream, info), ClientHelloStatus::ok);
  EXPECT_TRUE(info.has_encrypted_client_hello);
  EXPECT_EQ(info.server_name, "public.example");
}

TEST(ClientHelloParser, TwoHostNames) {
  const Bytes stream = client_hello(server_name_extension({"first.example", "second.example"}));
  ClientHelloInfo info;
  ASSERT_EQ(parse(stream, info), ClientHelloStatus::ok);
  EXPECT_EQ(info.server_name_count, 2);
  EXPECT_EQ(info.server_name, "first.example");
}

TEST(ClientHelloParser, HostNameCountSaturates) {
  ClientHelloInfo info;
  ASSERT_EQ(parse(client_hello(server_name_extension(std::vector<std::string>(300, "a"))), info),
            ClientHelloStatus::ok);
  EXPECT_EQ(info.server_name_count, 255);
}

TEST(ClientHelloParser, NoServerName) {
  ClientHelloInfo info;
  ASSERT_EQ(parse(client_hello(alpn_extension({"http/1.1"})), info), ClientHelloStatus::ok);
  EXPECT_FALSE(info.has_server_name_extension);
  EXPECT_EQ(info.server_name_count, 0);
  EXPECT_TRUE(info.server_name.empty());

  // An entry of another name_type is not a host name.
  ASSERT_EQ(parse(client_hello(server_name_extension({"opaque"}, 7)), info), ClientHelloStatus::ok);
  EXPECT_TRUE(info.has_server_name_extension);
  EXPECT_EQ(info.server_name_count, 0);
}

TEST(ClientHelloParser, NoExtensionsAtAll) {
  ClientHelloInfo info;
  ASSERT_EQ(parse(record(handshake(1, client_hello_body({}, false))), info), ClientHelloStatus::ok);
  EXPECT_FALSE(info.has_server_name_extension);
  EXPECT_EQ(info.highest_supported_version, 0x0303);
  // An empty extensions block is fine too.
  EXPECT_EQ(parse(client_hello({}), info), ClientHelloStatus::ok);
}

TEST(ClientHelloParser, OnlyGreaseVersions) {
  ClientHelloInfo info;
  ASSERT_EQ(parse(client_hello(supported_versions_extension({0x1a1a, 0xfafa})), info), ClientHelloStatus::ok);
  EXPECT_EQ(info.supported_versions_count, 0);
  EXPECT_EQ(info.highest_supported_version, 0x0303);
}

TEST(ClientHelloParser, NotTls) {
  ClientHelloInfo info;
  EXPECT_EQ(parse(text("GET / HTTP/1.1\r\n\r\n"), info), ClientHelloStatus::not_tls);
  EXPECT_EQ(parse({'G'}, info), ClientHelloStatus::not_tls);
  EXPECT_EQ(parse({0x16, 0x02}, info), ClientHelloStatus::not_tls);
  EXPECT_EQ(parse(record(Bytes{2, 40}, 21), info), ClientHelloStatus::not_tls);  // an alert
  EXPECT_EQ(parse(record(handshake(2, Bytes(40, 0))), info), ClientHelloStatus::not_client_hello);
  Bytes server_hello_cut = record(handshake(2, Bytes(40, 0)));
  server_hello_cut.resize(6);
  EXPECT_EQ(parse(server_hello_cut, info), ClientHelloStatus::not_client_hello);
}

TEST(ClientHelloParser, ShortPrefixesWait) {
  ClientHelloInfo info;
  EXPECT_EQ(parse({}, info), ClientHelloStatus::incomplete);
  EXPECT_EQ(parse({0x16}, info), ClientHelloStatus::incomplete);
  EXPECT_EQ(parse({0x16, 0x03, 0x01, 0x02}, info), ClientHelloStatus::incomplete);
  EXPECT_EQ(parse({0x16, 0x03, 0x01, 0x02, 0x00}, info), ClientHelloStatus::incomplete);
  EXPECT_EQ(parse({0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00}, info), ClientHelloStatus::incomplete);
}

// Every cut of a valid hello is a valid prefix: "incomplete", never "malformed", never a read past it.
TEST(ClientHelloParser, EveryPrefixIsIncomplete) {
  for (const Bytes& sample : {modern_hello(), client_hello(server_name_extension({"a.example"}) + ech_extension()),
                              record(handshake(1, client_hello_body({}, false)))}) {
    ClientHelloInfo info;
    ASSERT_EQ(parse(sample, info), ClientHelloStatus::ok);
    for (size_t length = 0; length < sample.size(); ++length) {
      Bytes prefix(sample.begin(), sample.begin() + long(length));  // exact size: ASan sees over-reads
      EXPECT_EQ(parse(prefix, info), ClientHelloStatus::incomplete) << "prefix length " << length;
    }
  }
}

TEST(ClientHelloParser, LargeHelloSpanningSegments) {
  Bytes stream = client_hello(server_name_extension({"big.example"}) + padding_extension(2000));
  ASSERT_GT(stream.size(), 2048u);
  ClientHelloInfo info;
  ASSERT_EQ(parse(stream, info), ClientHelloStatus::ok);
  EXPECT_EQ(info.server_name, "big.example");
  Bytes first_segment(stream.begin(), stream.begin() + 1460);
  EXPECT_EQ(parse(first_segment, info), ClientHelloStatus::incomplete);
}

TEST(ClientHelloParser, HelloSpanningRecordsIsIncomplete) {
  Bytes message = handshake(1, client_hello_body(server_name_extension({"split.example"}) + padding_extension(600)));
  Bytes first(message.begin(), message.begin() + 300);
  Bytes rest(message.begin() + 300, message.end());
  // Both records have fully arrived, but only the first is read.
  Bytes stream = record(first) + record(rest);
  ClientHelloInfo info;
  EXPECT_EQ(parse(stream, info), ClientHelloStatus::incomplete);
  // A split that cuts a length already shown to contradict is still malformed.
  Bytes bad = message;
  bad[kSessionIdLengthAt - 5] = 33;
  EXPECT_EQ(parse(record(Bytes(bad.begin(), bad.begin() + 300)), info), ClientHelloStatus::malformed);
}

TEST(ClientHelloParser, RecordLengths) {
  ClientHelloInfo info;
  Bytes overlong = {0x16, 0x03, 0x01, 0x41, 0x01, 0x01};  // 16641 bytes announced
  EXPECT_EQ(parse(overlong, info), ClientHelloStatus::malformed);
  EXPECT_EQ(parse({0x16, 0x03, 0x01, 0x00, 0x03, 0x01, 0x00, 0x00}, info), ClientHelloStatus::malformed);
  EXPECT_EQ(parse({0x16, 0x03, 0x01, 0x00, 0x00}, info), ClientHelloStatus::malformed);
  // Bytes after the ClientHello inside its record contradict the handshake length.
  Bytes trailing = record(handshake(1, client_hello_body(server_name_extension({"a.example"}))) + Bytes{0, 0});
  EXPECT_EQ(parse(trailing, info), ClientHelloStatus::malformed);
  // A second record after a complete first one is not read.
  EXPECT_EQ(parse(modern_hello() + Bytes{0x17, 0x03, 0x03, 0xff}, info), ClientHelloStatus::ok);
}

TEST(ClientHelloParser, CorruptedFixedFields) {
  struct Case {
    const char* what;
    size_t at;
    uint8_t value;
  };
  const Case cases[] = {
      {"session id over 32", kSessionIdLengthAt, 33},
      {"odd cipher suites length", kCipherSuitesLengthAt + 1, 7},
      {"no cipher suites", kCipherSuitesLengthAt + 1, 0},
      {"no compression methods", kCompressionLengthAt, 0},
  };
  const Bytes good = modern_hello();
  for (const auto& c : cases) {
    Bytes stream = good;
    stream[c.at] = c.value;
    ClientHelloInfo info;
    EXPECT_EQ(parse(stream, info), ClientHelloStatus::malformed) << c.what;
  }
}

TEST(ClientHelloParser, HandshakeLengthMustMatchRecord) {
  const Bytes good = modern_hello();
  for (int delta : {-1, 1}) {
    Bytes stream = good;
    const uint32_t length = (uint32_t(good[kHandshakeLengthAt]) << 16) | (uint32_t(good[kHandshakeLengthAt + 1]) << 8) |
                            good[kHandshakeLengthAt + 2];
    const uint32_t changed = uint32_t(int64_t(length) + delta);
    stream[kHandshakeLengthAt] = uint8_t(changed >> 16);
    stream[kHandshakeLengthAt + 1] = uint8_t(changed >> 8);
    stream[kHandshakeLengthAt + 2] = uint8_t(changed);
    ClientHelloInfo info;
    // Shorter: the record holds bytes after the hello. Longer: the hello would continue in a next
    // record, but its extensions block, the last field, already says where it ends.
    EXPECT_EQ(parse(stream, info), ClientHelloStatus::malformed) << delta;
  }
}

TEST(ClientHelloParser, ExtensionsLengthMustMatch) {
  const Bytes good = modern_hello();
  for (int delta : {-1, 1}) {
    Bytes stream = good;
    stream[kExtensionsLengthAt + 1] = uint8_t(stream[kExtensionsLengthAt + 1] + delta);
    ClientHelloInfo info;
    EXPECT_EQ(parse(stream, info), ClientHelloStatus::malformed) << delta;
  }
  // An extension whose own length runs past the extensions block.
  Bytes overrun = extension(21, Bytes(4, 0));
  overrun[3] = 9;
  ClientHelloInfo info;
  EXPECT_EQ(parse(client_hello(overrun), info), ClientHelloStatus::malformed);
  // Extensions block too short for an extension header.
  EXPECT_EQ(parse(client_hello({0x00, 0x15, 0x00}), info), ClientHelloStatus::malformed);
}

TEST(ClientHelloParser, MalformedServerName) {
  ClientHelloInfo info;
  EXPECT_EQ(parse(client_hello(server_name_extension({""})), info), ClientHelloStatus::malformed);
  EXPECT_EQ(parse(client_hello(extension(0, {})), info), ClientHelloStatus::malformed);
  EXPECT_EQ(parse(client_hello(extension(0, {0x00, 0x00})), info), ClientHelloStatus::malformed);
  // list length one more than the extension holds, and one less
  EXPECT_EQ(parse(client_hello(extension(0, {0x00, 0x07, 0x00, 0x00, 0x03, 'a', 'b', 'c'})), info),
            ClientHelloStatus::malformed);
  EXPECT_EQ(parse(client_hello(extension(0, {0x00, 0x05, 0x00, 0x00, 0x03, 'a', 'b', 'c'})), info),
            ClientHelloStatus::malformed);
  // name length past the list
  EXPECT_EQ(parse(client_hello(extension(0, {0x00, 0x06, 0x00, 0x00, 0x04, 'a', 'b', 'c'})), info),
            ClientHelloStatus::malformed);
  // two server_name extensions would let the firewall and the server read different names
  EXPECT_EQ(parse(client_hello(server_name_extension({"a.example"}) + server_name_extension({"b.example"})), info),
            ClientHelloStatus::malformed);
}

TEST(ClientHelloParser, MalformedAlpnAndVersions) {
  ClientHelloInfo info;
  EXPECT_EQ(parse(client_hello(alpn_extension({""})), info), ClientHelloStatus::malformed);
  EXPECT_EQ(parse(client_hello(extension(16, {0x00, 0x00})), info), ClientHelloStatus::malformed);
  EXPECT_EQ(parse(client_hello(extension(16, {0x00, 0x04, 0x05, 'h', '2', 'x'})), info), ClientHelloStatus::malformed);
  EXPECT_EQ(parse(client_hello(extension(43, {0x03, 0x03, 0x04, 0x03})), info), ClientHelloStatus::malformed);
  EXPECT_EQ(parse(client_hello(extension(43, {0x00})), info), ClientHelloStatus::malformed);
  EXPECT_EQ(parse(client_hello(extension(43, {0x04, 0x03, 0x04})), info), ClientHelloStatus::malformed);
}

// Random corruption: no read past the stream, and what is accepted points into it.
TEST(ClientHelloParser, CorruptedStreamsStayInBounds) {
  const Bytes sample = modern_hello();
  std::mt19937 random(4242);
  int accepted = 0;
  for (int round = 0; round < 50000; ++round) {
    Bytes stream = sample;
    const int flips = 1 + int(random() % 3);
    for (int i = 0; i < flips; ++i) stream[random() % stream.size()] = uint8_t(random());
    if (random() % 2) stream.resize(random() % (stream.size() + 1));
    ClientHelloInfo info;
    if (parse(stream, info) != ClientHelloStatus::ok) continue;
    ++accepted;
    const char* begin = reinterpret_cast<const char*>(stream.data());
    const char* end = begin + stream.size();
    for (std::string_view view : {info.server_name, info.first_alpn}) {
      if (view.empty()) continue;
      ASSERT_GE(view.data(), begin);
      ASSERT_LE(view.data() + view.size(), end);
    }
  }
  EXPECT_GT(accepted, 0);  // flips inside the random or padding keep the hello valid
}

// ---- Hellos cut into several records (RFC 8446 5.1) -------------------------------------------

constexpr uint16_t kGroupX25519MlKem768 = 0x11ec;  // a hybrid post-quantum key share: 1216 bytes
constexpr uint16_t kGroupX25519 = 0x001d;

Bytes key_share_extension() {
  Bytes shares;
  put16(shares, kGroupX25519MlKem768);
  put16(shares, 1216);
  for (int i = 0; i < 1216; ++i) shares.push_back(uint8_t(i * 7));
  put16(shares, kGroupX25519);
  put16(shares, 32);
  shares.resize(shares.size() + 32, 0x33);
  Bytes body;
  put16(body, uint16_t(shares.size()));
  return extension(51, body + shares);
}

Bytes supported_groups_extension() {
  Bytes body;
  put16(body, 6);
  for (uint16_t group : {kGroupX25519MlKem768, kGroupX25519, uint16_t(0x0017)}) put16(body, group);
  return extension(10, body);
}

// A handshake message shaped like a browser's today: about 2 KB, most of it the hybrid key share,
// which is what pushes hellos past one TCP segment and tempts clients to cut records.
Bytes post_quantum_message() {
  Bytes extensions = server_name_extension({"split.example"}) + supported_groups_extension() +
                     alpn_extension({"h2", "http/1.1"}) + supported_versions_extension({0x0304, 0x0303}) +
                     key_share_extension();
  // Padded as clients do, here to a round 2000 bytes (4: the padding extension's own header).
  const size_t unpadded = handshake(1, client_hello_body(extensions)).size();
  return handshake(1, client_hello_body(extensions + padding_extension(2000 - unpadded - 4)));
}

// `message` cut at `cuts` (increasing offsets inside it), one record a piece.
Bytes records_cut_at(const Bytes& message, const std::vector<size_t>& cuts) {
  Bytes stream;
  size_t start = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    const size_t end = i < cuts.size() ? cuts[i] : message.size();
    stream = stream + record(Bytes(message.begin() + long(start), message.begin() + long(end)));
    start = end;
  }
  return stream;
}

Bytes records_of(const Bytes& message, size_t piece) {
  std::vector<size_t> cuts;
  for (size_t at = piece; at < message.size(); at += piece) cuts.push_back(at);
  return records_cut_at(message, cuts);
}

struct Scratch {
  std::vector<uint8_t> memory = std::vector<uint8_t>(16384);
  std::span<uint8_t> span() { return memory; }
};

bool view_inside(std::string_view view, const uint8_t* begin, size_t size) {
  const char* b = reinterpret_cast<const char*>(begin);
  return view.data() >= b && view.data() + view.size() <= b + size;
}

// The fields every way of cutting post_quantum_message() must give.
void expect_post_quantum_fields(const ClientHelloInfo& info, const Bytes& stream, Scratch& scratch) {
  EXPECT_EQ(info.server_name, "split.example");
  EXPECT_EQ(info.first_alpn, "h2");
  EXPECT_EQ(info.supported_versions_count, 2);
  EXPECT_EQ(info.highest_supported_version, 0x0304);
  EXPECT_EQ(info.stream_bytes_used, stream.size());
  for (std::string_view view : {info.server_name, info.first_alpn}) {
    EXPECT_TRUE(view_inside(view, stream.data(), stream.size()) ||
                view_inside(view, scratch.memory.data(), scratch.memory.size()));
  }
}

TEST(ClientHelloParserRecords, PostQuantumHelloIsRealSized) {
  const Bytes message = post_quantum_message();
  EXPECT_EQ(message.size(), 2000u);
  Scratch scratch;
  ClientHelloInfo info;
  const Bytes stream = record(message);
  ASSERT_EQ(parse_client_hello(stream, scratch.span(), info), ClientHelloStatus::ok);
  expect_post_quantum_fields(info, stream, scratch);
  // In one record it is read in place: the views point into the stream.
  EXPECT_TRUE(view_inside(info.server_name, stream.data(), stream.size()));
  ASSERT_EQ(parse_client_hello(stream, info), ClientHelloStatus::ok);
  EXPECT_EQ(info.stream_bytes_used, stream.size());
}

TEST(ClientHelloParserRecords, TwoRecordsCutAtEveryOffset) {
  const Bytes message = post_quantum_message();
  Scratch scratch;
  for (size_t cut = 1; cut < message.size(); ++cut) {
    const Bytes stream = records_cut_at(message, {cut});
    ClientHelloInfo info;
    ASSERT_EQ(parse_client_hello(stream, scratch.span(), info), ClientHelloStatus::ok) << "cut at " << cut;
    expect_post_quantum_fields(info, stream, scratch);
    EXPECT_TRUE(view_inside(info.server_name, scratch.memory.data(), scratch.memory.size()));
    // Without scratch the same stream can only wait (or, with the header cut, never be read).
    const auto alone = parse_client_hello(stream, info);
    EXPECT_EQ(alone, cut < 4 ? ClientHelloStatus::malformed : ClientHelloStatus::incomplete) << cut;
  }
}

TEST(ClientHelloParserRecords, ThreeRecords) {
  const Bytes message = post_quantum_message();
  Scratch scratch;
  for (size_t first = 1; first < message.size(); first += 13) {
    for (size_t second = first + 1; second < message.size(); second += 89) {
      const Bytes stream = records_cut_at(message, {first, second});
      ClientHelloInfo info;
      ASSERT_EQ(parse_client_hello(stream, scratch.span(), info), ClientHelloStatus::ok) << first << "," << second;
      expect_post_quantum_fields(info, stream, scratch);
    }
  }
}

TEST(ClientHelloParserRecords, ManyRecords) {
  const Bytes message = post_quantum_message();
  Scratch scratch;
  for (size_t piece : {1, 2, 3, 5, 64, 500, 1999}) {
    const Bytes stream = records_of(message, piece);
    ClientHelloInfo info;
    ASSERT_EQ(parse_client_hello(stream, scratch.span(), info), ClientHelloStatus::ok) << piece;
    expect_post_quantum_fields(info, stream, scratch);
  }
}

// Every cut of the stream, inside a record or between two, is a valid prefix: "incomplete".
TEST(ClientHelloParserRecords, EveryPrefixIsIncomplete) {
  const Bytes message = post_quantum_message();
  Scratch scratch;
  for (const Bytes& stream : {records_cut_at(message, {3, 700, 1500}), records_of(message, 7)}) {
    ClientHelloInfo info;
    ASSERT_EQ(parse_client_hello(stream, scratch.span(), info), ClientHelloStatus::ok);
    for (size_t length = 0; length < stream.size(); ++length) {
      Bytes prefix(stream.begin(), stream.begin() + long(length));  // exact size: ASan sees over-reads
      ASSERT_EQ(parse_client_hello(prefix, scratch.span(), info), ClientHelloStatus::incomplete) << length;
      EXPECT_EQ(info.stream_bytes_used, 0u);
    }
  }
}

TEST(ClientHelloParserRecords, BytesAfterTheHelloAreNotCounted) {
  const Bytes message = post_quantum_message();
  const Bytes hello = records_cut_at(message, {1000});
  // A client may send its ChangeCipherSpec or early data right after the hello.
  const Bytes stream = hello + Bytes{20, 3, 3, 0, 1, 1} + Bytes{23, 3, 3, 0, 2};
  Scratch scratch;
  ClientHelloInfo info;
  ASSERT_EQ(parse_client_hello(stream, scratch.span(), info), ClientHelloStatus::ok);
  EXPECT_EQ(info.stream_bytes_used, hello.size());
  EXPECT_EQ(info.server_name, "split.example");
}

TEST(ClientHelloParserRecords, LaterRecordMustBeHandshake) {
  const Bytes message = post_quantum_message();
  const Bytes first = record(Bytes(message.begin(), message.begin() + 1000));
  const Bytes rest(message.begin() + 1000, message.end());
  Scratch scratch;
  ClientHelloInfo info;
  for (uint8_t content_type : {20, 21, 23, 0}) {
    EXPECT_EQ(parse_client_hello(first + record(rest, content_type), scratch.span(), info),
              ClientHelloStatus::malformed)
        << int(content_type);
    // Judged as soon as the type byte arrives.
    EXPECT_EQ(parse_client_hello(first + Bytes{content_type}, scratch.span(), info), ClientHelloStatus::malformed);
  }
  Bytes bad_version = first + record(rest);
  bad_version[first.size() + 1] = 2;
  EXPECT_EQ(parse_client_hello(bad_version, scratch.span(), info), ClientHelloStatus::malformed);
}

TEST(ClientHelloParserRecords, LengthsMustAgree) {
  const Bytes message = post_quantum_message();
  const Bytes first = record(Bytes(message.begin(), message.begin() + 1000));
  const Bytes rest(message.begin() + 1000, message.end());
  Scratch scratch;
  ClientHelloInfo info;
  // The last record runs past the end of the handshake message, even before its bytes arrive.
  Bytes longer = first + record(rest + Bytes{0, 0});
  EXPECT_EQ(parse_client_hello(longer, scratch.span(), info), ClientHelloStatus::malformed);
  longer.resize(first.size() + 5);
  EXPECT_EQ(parse_client_hello(longer, scratch.span(), info), ClientHelloStatus::malformed);
  // A handshake record may not be empty.
  EXPECT_EQ(parse_client_hello(first + record({}) + record(rest), scratch.span(), info), ClientHelloStatus::malformed);
  EXPECT_EQ(parse_client_hello(record({}) + record(message), scratch.span(), info), ClientHelloStatus::malformed);
  // A contradiction in the part joined so far is seen before the rest arrives.
  Bytes bad = message;
  bad[kSessionIdLengthAt - 5] = 33;
  EXPECT_EQ(parse_client_hello(records_cut_at(Bytes(bad.begin(), bad.begin() + 300), {2, 100}), scratch.span(), info),
            ClientHelloStatus::malformed);
  // The handshake header, joined from tiny records, must still name a ClientHello.
  Bytes server_hello = message;
  server_hello[0] = 2;
  EXPECT_EQ(parse_client_hello(records_of(server_hello, 1), scratch.span(), info), ClientHelloStatus::not_client_hello);
}

TEST(ClientHelloParserRecords, TooLarge) {
  const Bytes message = post_quantum_message();
  const Bytes stream = records_cut_at(message, {1000});
  ClientHelloInfo info;
  std::vector<uint8_t> exact(message.size());
  EXPECT_EQ(parse_client_hello(stream, exact, info), ClientHelloStatus::ok);
  std::vector<uint8_t> one_short(message.size() - 1);
  EXPECT_EQ(parse_client_hello(stream, one_short, info), ClientHelloStatus::too_large);
  // Known from the first record's handshake header, before the rest arrives.
  EXPECT_EQ(parse_client_hello(Bytes(stream.begin(), stream.begin() + 20), one_short, info),
            ClientHelloStatus::too_large);
  // ... and from a header joined from tiny records.
  EXPECT_EQ(parse_client_hello(records_of(message, 1), one_short, info), ClientHelloStatus::too_large);
  // A hello in one record is read in place, whatever the scratch.
  EXPECT_EQ(parse_client_hello(record(message), one_short, info), ClientHelloStatus::ok);
  // Longer than any scratch a caller gives: 20 000 bytes in two records.
  Bytes huge = handshake(1, client_hello_body(server_name_extension({"huge.example"}) + padding_extension(19800)));
  Scratch scratch;
  EXPECT_EQ(parse_client_hello(records_cut_at(huge, {16000}), scratch.span(), info), ClientHelloStatus::too_large);
}

TEST(ClientHelloParserRecords, EmptyScratchIsTheOldParser) {
  const Bytes stream = records_cut_at(post_quantum_message(), {1000});
  ClientHelloInfo info;
  EXPECT_EQ(parse_client_hello(stream, std::span<uint8_t>(), info), ClientHelloStatus::incomplete);
  EXPECT_EQ(parse_client_hello(stream, info), ClientHelloStatus::incomplete);
  EXPECT_EQ(parse_client_hello(modern_hello(), std::span<uint8_t>(), info), ClientHelloStatus::ok);
  EXPECT_EQ(info.stream_bytes_used, modern_hello().size());
}

TEST(ClientHelloParser, StatusNames) {
  EXPECT_STREQ(to_string(ClientHelloStatus::ok), "ok");
  EXPECT_STREQ(to_string(ClientHelloStatus::not_client_hello), "not_client_hello");
  EXPECT_STREQ(to_string(ClientHelloStatus::malformed), "malformed");
  EXPECT_STREQ(to_string(ClientHelloStatus::too_large), "too_large");
}

}  // namespace
}  // namespace sluice

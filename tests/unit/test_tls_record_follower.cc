// The TLS record follower: record headers over any split of the bytes, later ClientHellos found
// (whole, fragmented before ChangeCipherSpec, exact-length after it), non-TLS bytes refused.
#include "dataplane/flow/tls_record_follower.h"

#include <gtest/gtest.h>

#include <vector>

namespace sluice {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes record(uint8_t type, const Bytes& body, uint8_t minor = 3) {
  Bytes out = {type, 3, minor, uint8_t(body.size() >> 8), uint8_t(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Bytes handshake(uint8_t type, uint32_t declared, size_t actual) {
  Bytes out = {type, uint8_t(declared >> 16), uint8_t(declared >> 8), uint8_t(declared)};
  out.resize(4 + actual, 0xab);
  return out;
}

Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Result {
  TlsRecordStatus status = TlsRecordStatus::more;
  size_t consumed = 0;
  TlsRecordState state;
};

Result follow(const Bytes& stream, size_t piece, TlsRecordState state = {}) {
  Result result;
  result.state = state;
  while (result.consumed < stream.size()) {
    const size_t length = std::min(piece, stream.size() - result.consumed);
    size_t used = 0;
    result.status = follow_tls_records(result.state, {stream.data() + result.consumed, length}, used);
    result.consumed += used;
    if (result.status != TlsRecordStatus::more) return result;
  }
  return result;
}

TEST(TlsRecordFollower, SkipsApplicationDataInAnySplit) {
  const Bytes stream = record(23, Bytes(300, 1)) + record(21, {1, 0}) + record(23, {}) + record(24, Bytes(20, 2));
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    const Result result = follow(stream, piece);
    EXPECT_EQ(result.status, TlsRecordStatus::more) << piece;
    EXPECT_EQ(result.consumed, stream.size()) << piece;
    EXPECT_EQ(result.state.prefix_bytes, 0);
    EXPECT_EQ(result.state.body_remaining, 0);
  }
}

TEST(TlsRecordFollower, FindsASecondClientHelloInAnySplit) {
  const Bytes before = record(20, {1}) + record(23, Bytes(50, 3));
  const Bytes hello = record(22, handshake(1, 200, 200));
  for (size_t piece = 1; piece <= before.size() + hello.size(); ++piece) {
    const Result result = follow(before + hello, piece);
    EXPECT_EQ(result.status, TlsRecordStatus::client_hello) << piece;
    EXPECT_EQ(result.consumed, before.size() + 9) << piece;  // the hello's record header and handshake header
    EXPECT_TRUE(result.state.change_cipher_spec_seen);
  }
}

TEST(TlsRecordFollower, AFragmentedHelloIsFoundOnlyWhileTheHandshakeIsPlaintext) {
  const Bytes fragment = record(22, handshake(1, 500, 100));
  EXPECT_EQ(follow(fragment, 1000).status, TlsRecordStatus::client_hello);
  TlsRecordState encrypted;
  encrypted.change_cipher_spec_seen = true;
  // After ChangeCipherSpec, a handshake record is TLS 1.2 ciphertext unless its length is exact.
  EXPECT_EQ(follow(fragment, 1000, encrypted).status, TlsRecordStatus::more);
  EXPECT_EQ(follow(record(22, handshake(1, 100, 100)), 1000, encrypted).status, TlsRecordStatus::client_hello);
}

TEST(TlsRecordFollower, OtherHandshakeMessagesAreSkipped) {
  const Bytes stream = record(22, handshake(16, 70, 70)) + record(22, handshake(20, 12, 12));
  const Result result = follow(stream, 7);
  EXPECT_EQ(result.status, TlsRecordStatus::more);
  EXPECT_EQ(result.consumed, stream.size());
}

TEST(TlsRecordFollower, BytesThatAreNoTlsAreRefused) {
  const Bytes http = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P'};
  EXPECT_EQ(follow(http, 3).status, TlsRecordStatus::not_tls);
  EXPECT_EQ(follow(record(25, {1}), 3).status, TlsRecordStatus::not_tls);            // unknown content type
  EXPECT_EQ(follow(record(23, {1}, 5), 3).status, TlsRecordStatus::not_tls);         // version 3.5
  EXPECT_EQ(follow(record(21, {}), 3).status, TlsRecordStatus::not_tls);             // empty alert
  Bytes too_long = {23, 3, 3, 0x48, 0x01};                                          // 2^14 + 2049 bytes
  EXPECT_EQ(follow(too_long, 5).status, TlsRecordStatus::not_tls);
  EXPECT_EQ(follow(record(23, Bytes(10, 0)) + Bytes{0x80, 1, 2}, 4).status, TlsRecordStatus::not_tls);
}

TEST(TlsRecordFollower, APlaintextHandshakeRecordTooShortForAHeaderIsUnreadable) {
  EXPECT_EQ(follow(record(22, {1, 0}), 10).status, TlsRecordStatus::handshake_unreadable);
  TlsRecordState encrypted;
  encrypted.change_cipher_spec_seen = true;
  EXPECT_EQ(follow(record(22, {1, 0}), 10, encrypted).status, TlsRecordStatus::more);
}

}  // namespace
}  // namespace sluice

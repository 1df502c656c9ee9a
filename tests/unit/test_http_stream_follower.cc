// The HTTP stream follower: head framing (Content-Length, chunked, what is refused) and body
// following over any split of the bytes, including malformed chunked bodies.
#include "dataplane/flow/http_stream_follower.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <string_view>

namespace sluice {
namespace {

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

HttpFraming framing_of(std::string_view headers) {
  const std::string head = "POST /upload HTTP/1.1\r\nHost: pypi.org\r\n" + std::string(headers) + "\r\n";
  return read_http_framing(as_bytes(head));
}

// Feeds `body` to a state begun for `framing`, `piece` bytes a call; returns the bytes consumed
// in total when the body ends (or the status that stopped it) and what is left after it.
struct BodyResult {
  HttpBodyStatus status = HttpBodyStatus::more;
  size_t consumed = 0;
};
BodyResult follow_in_pieces(const HttpFraming& framing, std::string_view body, size_t piece) {
  HttpBodyState state;
  begin_http_body(state, framing);
  BodyResult result;
  if (state.phase == HttpBodyPhase::head) {
    result.status = HttpBodyStatus::done;
    return result;
  }
  while (result.consumed < body.size()) {
    const auto bytes = as_bytes(body.substr(result.consumed, piece));
    size_t used = 0;
    result.status = follow_http_body(state, bytes, used);
    result.consumed += used;
    if (result.status != HttpBodyStatus::more) return result;
    EXPECT_EQ(used, bytes.size());
  }
  return result;
}

TEST(HttpFraming, NoBodyWithoutLengthOrEncoding) {
  const HttpFraming framing = framing_of("Accept: */*\r\n");
  EXPECT_EQ(framing.status, HttpFramingStatus::ok);
  EXPECT_FALSE(framing.chunked);
  EXPECT_EQ(framing.content_length, 0u);
}

TEST(HttpFraming, ContentLengthIsRead) {
  const HttpFraming framing = framing_of("Content-Length: 1234\r\n");
  EXPECT_EQ(framing.status, HttpFramingStatus::ok);
  EXPECT_EQ(framing.content_length, 1234u);
}

TEST(HttpFraming, ChunkedIsReadCaseInsensitively) {
  const HttpFraming framing = framing_of("transfer-encoding:  Chunked \r\n");
  EXPECT_EQ(framing.status, HttpFramingStatus::ok);
  EXPECT_TRUE(framing.chunked);
}

TEST(HttpFraming, WhatAServerCouldReadTwoWaysIsAmbiguous) {
  EXPECT_EQ(framing_of("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n").status, HttpFramingStatus::ambiguous);
  EXPECT_EQ(framing_of("Content-Length: 5\r\nContent-Length: 5\r\n").status, HttpFramingStatus::ambiguous);
  EXPECT_EQ(framing_of("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n").status,
            HttpFramingStatus::ambiguous);
}

TEST(HttpFraming, ContentLengthMustBeAPlainNumber) {
  for (const char* value : {"", "-1", "5, 5", "0x10", "1 2", "1234567890123456789"}) {
    EXPECT_EQ(framing_of(std::string("Content-Length: ") + value + "\r\n").status,
              HttpFramingStatus::content_length_invalid)
        << value;
  }
}

TEST(HttpFraming, EncodingsOtherThanChunkedAreRefused) {
  for (const char* value : {"gzip", "gzip, chunked", "chunked, gzip", "identity", "chunked;q=1", "xchunked"}) {
    EXPECT_EQ(framing_of(std::string("Transfer-Encoding: ") + value + "\r\n").status,
              HttpFramingStatus::transfer_encoding_unsupported)
        << value;
  }
}

TEST(HttpFraming, UpgradeAndConnectAreNoticed) {
  EXPECT_TRUE(framing_of("Upgrade: websocket\r\nConnection: Upgrade\r\n").upgrade);
  const std::string connect = "CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n";
  EXPECT_TRUE(read_http_framing(as_bytes(connect)).connect);
}

TEST(HttpHeadLength, FindsTheEndOfTheFirstHead) {
  EXPECT_EQ(http_head_length(as_bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET")), 27u);
  EXPECT_EQ(http_head_length(as_bytes("GET / HTTP/1.1\r\nHost: a\r\n")), 0u);
}

TEST(HttpBody, ContentLengthEndsExactlyInAnySplit) {
  HttpFraming framing;
  framing.content_length = 10;
  const std::string stream = "0123456789GET /next";
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    const BodyResult result = follow_in_pieces(framing, stream, piece);
    EXPECT_EQ(result.status, HttpBodyStatus::done) << piece;
    EXPECT_EQ(result.consumed, 10u) << piece;
  }
}

TEST(HttpBody, ChunkedEndsAfterTheLastChunkAndTrailersInAnySplit) {
  HttpFraming framing;
  framing.chunked = true;
  const std::string body = "5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";
  const std::string stream = body + "GET /next HTTP/1.1\r\n";
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    const BodyResult result = follow_in_pieces(framing, stream, piece);
    EXPECT_EQ(result.status, HttpBodyStatus::done) << piece;
    EXPECT_EQ(result.consumed, body.size()) << piece;
  }
}

// A request head inside chunk data is data: the body ends where the chunks say, not at the head.
TEST(HttpBody, ARequestHeadInsideAChunkIsData) {
  HttpFraming framing;
  framing.chunked = true;
  const std::string hidden = "GET /x HTTP/1.1\r\nHost: exfil.example\r\n\r\n";
  char size[8];
  snprintf(size, sizeof size, "%zx", hidden.size());
  const std::string body = std::string(size) + "\r\n" + hidden + "\r\n0\r\n\r\n";
  const BodyResult result = follow_in_pieces(framing, body + "tail", 7);
  EXPECT_EQ(result.status, HttpBodyStatus::done);
  EXPECT_EQ(result.consumed, body.size());
}

TEST(HttpBody, MalformedChunkedBodiesAreRefused) {
  HttpFraming framing;
  framing.chunked = true;
  const std::string long_extension = "1;" + std::string(2000, 'a') + "\r\nx\r\n0\r\n\r\n";
  for (const std::string& body : {
           std::string("\r\n"),                       // no size
           std::string("g\r\n"),                      // not hex
           std::string("5x\r\nhello\r\n0\r\n\r\n"),   // junk after the size
           std::string("5\nhello\r\n0\r\n\r\n"),      // bare LF after the size
           std::string("5\r\nhelloX\r\n0\r\n\r\n"),   // chunk longer than its size
           std::string("5\r\nhello\n0\r\n\r\n"),      // bare LF after the data
           std::string("1000000000000000\r\n"),       // 16 digits
           std::string("0\r\n X: folded\r\n\r\n"),    // obs-fold in a trailer
           std::string("0\r\n\r\r\n"),                // CR CR
           std::string("0\r\nX: 1\n\r\n"),            // bare LF in a trailer
           long_extension,
       }) {
    EXPECT_EQ(follow_in_pieces(framing, body, 3).status, HttpBodyStatus::chunk_malformed) << body;
  }
}

TEST(HttpBody, AnUnfinishedBodyAsksForMore) {
  HttpFraming framing;
  framing.chunked = true;
  EXPECT_EQ(follow_in_pieces(framing, "5\r\nhel", 2).status, HttpBodyStatus::more);
  framing = HttpFraming{};
  framing.content_length = 1u << 30;
  EXPECT_EQ(follow_in_pieces(framing, std::string(5000, 'x'), 1460).status, HttpBodyStatus::more);
}

}  // namespace
}  // namespace sluice

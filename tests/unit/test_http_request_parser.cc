#include "dataplane/parse/http_request_parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace sluice {
namespace {

// `head` must outlive `info`: the returned views are rebased onto it.
HttpRequestStatus parse(std::string_view head, HttpRequestInfo& info) {
  // A copy of exactly the right size, so that ASan would see a read past the end.
  std::vector<uint8_t> bytes(head.begin(), head.end());
  HttpRequestStatus status = parse_http_request(bytes, info);
  if (status == HttpRequestStatus::ok) {
    // The views point into `bytes`, which is about to go: rebase them onto `head` for the caller.
    for (std::string_view* view : {&info.method, &info.target, &info.host, &info.path}) {
      if (view->empty()) continue;
      const auto offset = size_t(reinterpret_cast<const uint8_t*>(view->data()) - bytes.data());
      EXPECT_LE(offset + view->size(), bytes.size());
      *view = head.substr(offset, view->size());
    }
  }
  return status;
}

HttpRequestStatus status_of(std::string_view head) {
  HttpRequestInfo info;
  return parse(head, info);
}

TEST(HttpRequestParser, OriginForm) {
  HttpRequestInfo info;
  ASSERT_EQ(parse("GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n", info),
            HttpRequestStatus::ok);
  EXPECT_EQ(info.method, "GET");
  EXPECT_EQ(info.target, "/index.html");
  EXPECT_EQ(info.host, "example.com");
  EXPECT_EQ(info.port, 0);
}

TEST(HttpRequestParser, HostHeaderForms) {
  HttpRequestInfo info;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nhOsT:\t Example.COM:8080 \t\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "Example.COM");  // not normalised here
  EXPECT_EQ(info.port, 8080);

  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "2001:db8::1");
  EXPECT_EQ(info.port, 8080);

  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "2001:db8::1");
  EXPECT_EQ(info.port, 0);

  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: 198.18.0.1:65535\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "198.18.0.1");
  EXPECT_EQ(info.port, 65535);
}

TEST(HttpRequestParser, BadPortsAndLiterals) {
  for (const char* host : {"example.com:0", "example.com:65536", "example.com:80a", "example.com:", ":80",
                           "example.com:+80", "example.com:123456", "2001:db8::1", "[2001:db8::1", "[]:80",
                           "[2001:db8::1]x", "[example.com]", "[2001:db8::1]:", "a:80:90"}) {
    EXPECT_EQ(status_of(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n"), HttpRequestStatus::malformed)
        << host;
  }
}

TEST(HttpRequestParser, AbsoluteForm) {
  HttpRequestInfo info;
  ASSERT_EQ(parse("GET HTTP://Example.com:8080/path?q HTTP/1.1\r\nHost: example.COM:8080\r\n\r\n", info),
            HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "Example.com");  // the target's host wins
  EXPECT_EQ(info.port, 8080);
  EXPECT_EQ(info.target, "HTTP://Example.com:8080/path?q");

  ASSERT_EQ(parse("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "example.com");
  EXPECT_EQ(info.port, 0);

  ASSERT_EQ(parse("GET http://[2001:db8::2]:81/ HTTP/1.1\r\nHost: [2001:DB8::2]:81\r\n\r\n", info),
            HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "2001:db8::2");
  EXPECT_EQ(info.port, 81);
}

TEST(HttpRequestParser, HostMismatch) {
  EXPECT_EQ(status_of("GET http://allowed.example/ HTTP/1.1\r\nHost: other.example\r\n\r\n"),
            HttpRequestStatus::host_mismatch);
  EXPECT_EQ(status_of("GET http://allowed.example/ HTTP/1.1\r\nHost:\r\n\r\n"), HttpRequestStatus::host_mismatch);
  EXPECT_EQ(status_of("CONNECT allowed.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n"),
            HttpRequestStatus::host_mismatch);
  // userinfo in the target is refused outright rather than guessed at
  EXPECT_EQ(status_of("GET http://allowed.example@other.example/ HTTP/1.1\r\nHost: other.example\r\n\r\n"),
            HttpRequestStatus::malformed);
  EXPECT_EQ(status_of("GET http:///path HTTP/1.1\r\nHost: a\r\n\r\n"), HttpRequestStatus::malformed);
  EXPECT_EQ(status_of("GET example.com/path HTTP/1.1\r\nHost: example.com\r\n\r\n"), HttpRequestStatus::malformed);
}

TEST(HttpRequestParser, Connect) {
  HttpRequestInfo info;
  ASSERT_EQ(parse("CONNECT example.com:443 HTTP/1.1\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.method, "CONNECT");
  EXPECT_EQ(info.host, "example.com");
  EXPECT_EQ(info.port, 443);

  ASSERT_EQ(parse("CONNECT Example.com:443 HTTP/1.1\r\nHost: example.COM:443\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "Example.com");

  ASSERT_EQ(parse("CONNECT [2001:db8::5]:8443 HTTP/1.1\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "2001:db8::5");
  EXPECT_EQ(info.port, 8443);

  EXPECT_EQ(status_of("CONNECT example.com HTTP/1.1\r\n\r\n"), HttpRequestStatus::malformed);
  EXPECT_EQ(status_of("CONNECT example.com:0 HTTP/1.1\r\n\r\n"), HttpRequestStatus::malformed);
}

TEST(HttpRequestParser, MissingHost) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), HttpRequestStatus::missing_host);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), HttpRequestStatus::missing_host);
  EXPECT_EQ(status_of("GET / HTTP/1.0\r\n\r\n"), HttpRequestStatus::missing_host);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost:   \r\n\r\n"), HttpRequestStatus::missing_host);
  // HTTP/1.1 requires Host even with an absolute-form target; HTTP/1.0 does not.
  EXPECT_EQ(status_of("GET http://example.com/ HTTP/1.1\r\n\r\n"), HttpRequestStatus::missing_host);
  HttpRequestInfo info;
  ASSERT_EQ(parse("GET http://example.com:8000/ HTTP/1.0\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "example.com");
  EXPECT_EQ(info.port, 8000);
  // "Hostname" is not "Host".
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHostname: example.com\r\n\r\n"), HttpRequestStatus::missing_host);
}

TEST(HttpRequestParser, DuplicateHost) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n"),
            HttpRequestStatus::duplicate_host);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a.example\r\nX: y\r\nHOST: a.example\r\n\r\n"),
            HttpRequestStatus::duplicate_host);
}

TEST(HttpRequestParser, NotHttp) {
  for (const char* head : {"get / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
                           "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
                           "GET /\r\n\r\n", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", "\r\nGET / HTTP/1.1\r\n\r\n",
                           "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "G3T / HTTP/1.1\r\nHost: a\r\n\r\n",
                           "GET / http/1.1\r\nHost: a\r\n\r\n", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
                           "ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1\r\nHost: a\r\n\r\n",
                           "POST /f OPTIONS HTTP/1.1\r\nHost: a\r\n\r\n"}) {
    EXPECT_EQ(status_of(head), HttpRequestStatus::not_http) << head;
  }
  // 20 letters is the longest method we take.
  EXPECT_EQ(status_of("ABCDEFGHIJKLMNOPQRST / HTTP/1.1\r\nHost: a\r\n\r\n"), HttpRequestStatus::ok);
}

TEST(HttpRequestParser, NonHttpIsRefusedBeforeTheHeadEnds) {
  EXPECT_EQ(status_of(std::string_view("\x16\x03\x01\x02\x00\x01", 6)), HttpRequestStatus::not_http);
  EXPECT_EQ(status_of("SSH-2.0-OpenSSH_9.2"), HttpRequestStatus::not_http);
  EXPECT_EQ(status_of("GET / HTTP/3"), HttpRequestStatus::not_http);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\n"), HttpRequestStatus::incomplete);
  EXPECT_EQ(status_of("GET / HTTP/1.2\r\nHost: a\r\n"), HttpRequestStatus::not_http);
  EXPECT_EQ(status_of(""), HttpRequestStatus::incomplete);
}

// Every cut of a valid head is a valid prefix: "incomplete", never a verdict on partial bytes.
TEST(HttpRequestParser, EveryPrefixIsIncomplete) {
  for (const std::string sample : {"GET /a HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8\r\n\r\n",
                                   "CONNECT example.com:443 HTTP/1.0\r\n\r\n",
                                   "GET http://[2001:db8::1]:80/ HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n"}) {
    ASSERT_EQ(status_of(sample), HttpRequestStatus::ok) << sample;
    for (size_t length = 0; length < sample.size(); ++length) {
      EXPECT_EQ(status_of(sample.substr(0, length)), HttpRequestStatus::incomplete) << sample.substr(0, length);
    }
  }
}

TEST(HttpRequestParser, MalformedHeaderLines) {
  for (const char* head : {
           "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n",
           "GET / HTTP/1.1\r\nHost : a\r\n\r\n",                   // space before the colon
           "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",  // obs-fold
           "GET / HTTP/1.1\r\nHost: a\r\nX-Tab: one\r\n\ttwo\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\r\nX-Ctl: a\x01" "b\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\r\nX-Del: a\x7f\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\nX-Bare-LF: b\r\n\r\n",      // bare LF hides a header
           "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
           "GET / HTTP/1.1\r\nX(y): z\r\nHost: a\r\n\r\n",
       }) {
    EXPECT_EQ(status_of(head), HttpRequestStatus::malformed) << head;
  }
  // HTAB and obs-text in values are fine.
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX-Tab: a\tb\xe2\x82\xac\r\n\r\n"), HttpRequestStatus::ok);
}

TEST(HttpRequestParser, OnlyTheHeadIsRead) {
  HttpRequestInfo info;
  // After the head comes the body: a second "Host" or a control byte there is not our business.
  ASSERT_EQ(parse("POST /upload HTTP/1.1\r\nHost: a.example\r\nContent-Length: 20\r\n\r\n"
                  "Host: b\r\n\x01\r\n\r\n",
                  info),
            HttpRequestStatus::ok);
  EXPECT_EQ(info.host, "a.example");
  ASSERT_EQ(parse("OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.target, "*");
}

TEST(HttpRequestParser, CorruptedHeadsStayInBounds) {
  const std::string sample = "GET http://a.example:81/x HTTP/1.1\r\nHost: a.example:81\r\nX: y\r\n\r\n";
  std::mt19937 random(777);
  const char alphabet[] = "\r\n :[]/0123456789aHT\x01";
  int accepted = 0;
  for (int round = 0; round < 50000; ++round) {
    std::string head = sample;
    const int flips = 1 + int(random() % 3);
    for (int i = 0; i < flips; ++i) head[random() % head.size()] = alphabet[random() % (sizeof alphabet - 1)];
    if (random() % 4 == 0) head.resize(random() % (head.size() + 1));
    HttpRequestInfo info;
    // parse() checks that every returned view lies inside the input.
    if (parse(head, info) == HttpRequestStatus::ok) ++accepted;
  }
  EXPECT_GT(accepted, 0);
}

TEST(HttpRequestParser, PathOfEachTargetForm) {
  HttpRequestInfo info;
  ASSERT_EQ(parse("GET /acme-logs/a/b.csv?versionId=3#frag HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n", info),
            HttpRequestStatus::ok);
  EXPECT_EQ(info.path, "/acme-logs/a/b.csv");
  ASSERT_EQ(parse("GET /?list-type=2 HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.path, "/");
  ASSERT_EQ(parse("GET http://s3.amazonaws.com/acme-logs/x HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n", info),
            HttpRequestStatus::ok);
  EXPECT_EQ(info.path, "/acme-logs/x");
  ASSERT_EQ(parse("GET http://s3.amazonaws.com:80?x=/evil HTTP/1.1\r\nHost: s3.amazonaws.com:80\r\n\r\n", info),
            HttpRequestStatus::ok);
  EXPECT_EQ(info.path, "");  // an absolute-form target without a path: the query is no path
  ASSERT_EQ(parse("OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.path, "");
  ASSERT_EQ(parse("CONNECT s3.amazonaws.com:443 HTTP/1.1\r\nHost: s3.amazonaws.com:443\r\n\r\n", info),
            HttpRequestStatus::ok);
  EXPECT_EQ(info.path, "");
}

TEST(HttpRequestParser, PathsOfMalformedHeadsStayInBounds) {
  // What a hostile client writes where the bucket is read: the parser keeps the bytes as they
  // are (the storage judgement refuses what it cannot read), and refuses what breaks the syntax.
  HttpRequestInfo info;
  ASSERT_EQ(parse("GET /acme-logs/%2e%2e/evil HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n", info),
            HttpRequestStatus::ok);
  EXPECT_EQ(info.path, "/acme-logs/%2e%2e/evil");
  ASSERT_EQ(parse("GET //evil HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n", info), HttpRequestStatus::ok);
  EXPECT_EQ(info.path, "//evil");
  EXPECT_EQ(status_of("GET /acme logs/x HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n"), HttpRequestStatus::not_http);
  EXPECT_EQ(status_of("GET /acme-logs\x01/x HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n"),
            HttpRequestStatus::not_http);
  EXPECT_EQ(status_of("GET http://evil@s3.amazonaws.com/acme-logs HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n"),
            HttpRequestStatus::malformed);
  // A path cut at every length: never past the input (parse() checks the views).
  const std::string head = "GET /acme-logs/a?b#c HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n";
  for (size_t cut = 0; cut <= head.size(); ++cut) parse(head.substr(0, cut), info);
}

TEST(HttpRequestParser, StatusNames) {
  EXPECT_STREQ(to_string(HttpRequestStatus::ok), "ok");
  EXPECT_STREQ(to_string(HttpRequestStatus::host_mismatch), "host_mismatch");
  EXPECT_STREQ(to_string(HttpRequestStatus::duplicate_host), "duplicate_host");
}

}  // namespace
}  // namespace sluice

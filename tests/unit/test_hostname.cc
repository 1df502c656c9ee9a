#include "dataplane/domain/hostname.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <string>

namespace sluice {
namespace {

struct Normalized {
  HostnameStatus status;
  std::string name;
};

Normalized normalize(std::string_view input) {
  char out[kMaxHostnameLength + 16];
  std::fill(std::begin(out), std::end(out), '#');
  size_t length = 999;
  auto status = normalize_hostname(input, out, length);
  EXPECT_LE(length, kMaxHostnameLength);
  // Nothing is written past kMaxHostnameLength.
  for (size_t i = kMaxHostnameLength; i < sizeof out; ++i) EXPECT_EQ(out[i], '#') << i;
  return {status, std::string(out, length)};
}

std::string label(size_t length) { return std::string(length, 'a'); }

TEST(Hostname, LowercasesAndKeepsSyntax) {
  auto n = normalize("WWW.Example.COM");
  EXPECT_EQ(n.status, HostnameStatus::ok);
  EXPECT_EQ(n.name, "www.example.com");
  n = normalize("_dmarc.my-host.example9");
  EXPECT_EQ(n.status, HostnameStatus::ok);
  EXPECT_EQ(n.name, "_dmarc.my-host.example9");
  EXPECT_EQ(normalize("localhost").name, "localhost");
}

TEST(Hostname, OneTrailingDot) {
  auto n = normalize("Example.com.");
  EXPECT_EQ(n.status, HostnameStatus::ok);
  EXPECT_EQ(n.name, "example.com");
  EXPECT_EQ(normalize("example.com..").status, HostnameStatus::bad_label_length);
}

TEST(Hostname, Empty) {
  EXPECT_EQ(normalize("").status, HostnameStatus::empty);
  EXPECT_EQ(normalize(".").status, HostnameStatus::empty);
  EXPECT_EQ(normalize(".").name, "");
}

TEST(Hostname, EmptyLabels) {
  for (const char* name : {"example..com", ".example.com", "..", "a..", "a...b"}) {
    EXPECT_EQ(normalize(name).status, HostnameStatus::bad_label_length) << name;
  }
}

TEST(Hostname, LabelLength) {
  EXPECT_EQ(normalize(label(63) + ".example").status, HostnameStatus::ok);
  EXPECT_EQ(normalize(label(64) + ".example").status, HostnameStatus::bad_label_length);
  EXPECT_EQ(normalize("example." + label(64)).status, HostnameStatus::bad_label_length);
}

TEST(Hostname, TotalLength) {
  // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253
  const std::string longest = label(63) + "." + label(63) + "." + label(63) + "." + label(61);
  ASSERT_EQ(longest.size(), 253u);
  auto n = normalize(longest);
  EXPECT_EQ(n.status, HostnameStatus::ok);
  EXPECT_EQ(n.name, longest);
  EXPECT_EQ(normalize(longest + ".").status, HostnameStatus::ok);  // the dot does not count
  EXPECT_EQ(normalize(longest + "b").status, HostnameStatus::too_long);
  EXPECT_EQ(normalize(longest + ".b").status, HostnameStatus::too_long);
  EXPECT_EQ(normalize(std::string(10000, 'a')).status, HostnameStatus::too_long);
}

TEST(Hostname, InvalidBytes) {
  using namespace std::literals;
  for (std::string_view name : {"exa mple.com"sv, "*.example.com"sv, "user@example.com"sv, "example.com:80"sv,
                                "[2001:db8::1]"sv, "ex\xc3\xa4mple.com"sv, "exa\0mple.com"sv, "example.com/"sv,
                                "example,com"sv, "tab\t.com"sv}) {
    auto n = normalize(name);
    EXPECT_EQ(n.status, HostnameStatus::invalid_byte) << name;
    EXPECT_EQ(n.name, "");  // no partial result on failure
  }
}

TEST(Hostname, StatusNames) {
  EXPECT_STREQ(to_string(HostnameStatus::ok), "ok");
  EXPECT_STREQ(to_string(HostnameStatus::bad_label_length), "bad_label_length");
  EXPECT_STREQ(to_string(HostnameStatus::invalid_byte), "invalid_byte");
}

}  // namespace
}  // namespace sluice

#include "controlplane/domain_pattern.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

DomainPattern parse_ok(std::string_view text) {
  DomainPattern pattern;
  const std::string problem = parse_domain_pattern(text, pattern);
  EXPECT_EQ(problem, "") << text;
  return pattern;
}

std::string parse_problem(std::string_view text) {
  DomainPattern pattern;
  return parse_domain_pattern(text, pattern);
}

TEST(DomainPattern, ThreeForms) {
  DomainPattern exact = parse_ok("example.com");
  EXPECT_EQ(exact.kind, DomainPatternKind::exact);
  EXPECT_EQ(exact.base, "example.com");

  DomainPattern below = parse_ok("*.example.com");
  EXPECT_EQ(below.kind, DomainPatternKind::strict_subdomains);
  EXPECT_EQ(below.base, "example.com");

  DomainPattern apex = parse_ok(".example.com");
  EXPECT_EQ(apex.kind, DomainPatternKind::apex_and_subdomains);
  EXPECT_EQ(apex.base, "example.com");
}

TEST(DomainPattern, CaseInsensitiveAndOneTrailingDotIgnored) {
  EXPECT_EQ(parse_ok("WWW.Example.COM.").base, "www.example.com");
  EXPECT_EQ(parse_ok("*.Example.com.").base, "example.com");
  EXPECT_EQ(parse_ok(".EXAMPLE.com.").base, "example.com");
  EXPECT_NE(parse_problem("example.com.."), "");
}

TEST(DomainPattern, HostnameCharacters) {
  EXPECT_EQ(parse_ok("_dmarc.my-host.example.com").base, "_dmarc.my-host.example.com");
  EXPECT_EQ(parse_ok("localhost").base, "localhost");  // breadth is the validator's concern
}

TEST(DomainPattern, StarOnlyAsTheWholeFirstLabel) {
  for (const char* text : {"foo*.com", "*example.com", "a.*.com", "*", "**.example.com", "*.*.example.com",
                           "example.*", "*foo.example.com"}) {
    const std::string problem = parse_problem(text);
    EXPECT_NE(problem.find("'*'"), std::string::npos) << text << ": " << problem;
  }
}

TEST(DomainPattern, NothingAfterThePrefix) {
  EXPECT_NE(parse_problem("*.").find("no domain name after the leading \"*.\""), std::string::npos);
  EXPECT_NE(parse_problem(".").find("no domain name after the leading \".\""), std::string::npos);
  EXPECT_NE(parse_problem("..").find("no domain name"), std::string::npos);
  EXPECT_EQ(parse_problem(""), "empty domain pattern");
}

TEST(DomainPattern, EmptyLabels) {
  for (const char* text : {"a..example.com", "*..example.com", "...example.com", "example..com."}) {
    EXPECT_NE(parse_problem(text).find("empty label"), std::string::npos) << text;
  }
}

TEST(DomainPattern, BytesOutsideHostnameSyntax) {
  for (const char* text : {"exa mple.com", " example.com", "example.com ", "ex@mple.com", "example.com/",
                           "https://example.com", "ex\xc3\xa4mple.com", "*.ex!ample.com"}) {
    EXPECT_NE(parse_problem(text).find("not allowed in a host name"), std::string::npos) << text;
  }
}

TEST(DomainPattern, OverLongNames) {
  const std::string label63(63, 'a');
  const std::string label64(64, 'a');
  EXPECT_EQ(parse_ok(label63 + ".com").base, label63 + ".com");
  EXPECT_NE(parse_problem(label64 + ".com").find("longer than 63"), std::string::npos);

  // 4 labels of 63 + dots = 255 bytes: over 253.
  const std::string too_long = label63 + "." + label63 + "." + label63 + "." + label63;
  EXPECT_NE(parse_problem(too_long).find("longer than 253"), std::string::npos);

  // 253 bytes is a valid exact name, but no name below it fits.
  const std::string at_limit = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  ASSERT_EQ(at_limit.size(), 253u);
  EXPECT_EQ(parse_ok(at_limit).base, at_limit);
  EXPECT_EQ(parse_ok("." + at_limit).base, at_limit);
  EXPECT_NE(parse_problem("*." + at_limit).find("no name below"), std::string::npos);
  // 251 leaves room for "a." in front.
  const std::string fits = at_limit.substr(2);
  EXPECT_EQ(parse_ok("*." + fits).base, fits);
}

TEST(DomainPattern, IpLiteralBelongsInAllowedNetworks) {
  EXPECT_NE(parse_problem("198.18.0.1").find("allowed_networks"), std::string::npos);
  EXPECT_NE(parse_problem(".198.18.0.1").find("allowed_networks"), std::string::npos);
  // Digits in a name are fine when it is not an address.
  EXPECT_EQ(parse_ok("1.2.3.4.example.com").base, "1.2.3.4.example.com");
}

TEST(DomainPattern, LeavesOutputAloneOnError) {
  DomainPattern pattern;
  ASSERT_EQ(parse_domain_pattern("*.example.com", pattern), "");
  EXPECT_NE(parse_domain_pattern("foo*.com", pattern), "");
  EXPECT_EQ(pattern.kind, DomainPatternKind::strict_subdomains);
  EXPECT_EQ(pattern.base, "example.com");
}

}  // namespace
}  // namespace sluice

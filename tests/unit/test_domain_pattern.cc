#include "controlplane/policy/domain_pattern.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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
                           "ex\xc3\xa4mple.com", "*.ex!ample.com", "example.com/x:443"}) {
    EXPECT_NE(parse_problem(text).find("not allowed in a host name"), std::string::npos) << text;
  }
}

TEST(DomainPattern, UrlIsNotAPattern) {
  for (const char* text : {"https://example.com", "http://example.com:8080", "ftp://x"}) {
    EXPECT_EQ(parse_problem(text), "a URL, not a domain pattern; write the host name alone, as in \"example.com\"")
        << text;
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

// ---- the ":PORTS" suffix ----------------------------------------------------------------------

std::vector<DomainPortRange> ports_of(std::string_view text) { return parse_ok(text).ports; }

TEST(DomainPattern, NoSuffixMeansEveryPort) {
  EXPECT_TRUE(ports_of("example.com").empty());
  EXPECT_TRUE(ports_of("*.example.com").empty());
  EXPECT_TRUE(ports_of(".example.com").empty());
}

TEST(DomainPattern, PortSuffixOnEveryForm) {
  DomainPattern exact = parse_ok("db.example.com:5432");
  EXPECT_EQ(exact.kind, DomainPatternKind::exact);
  EXPECT_EQ(exact.base, "db.example.com");
  EXPECT_EQ(exact.ports, (std::vector<DomainPortRange>{{5432, 5432}}));

  DomainPattern below = parse_ok("*.example.com:443,8443");
  EXPECT_EQ(below.kind, DomainPatternKind::strict_subdomains);
  EXPECT_EQ(below.base, "example.com");
  EXPECT_EQ(below.ports, (std::vector<DomainPortRange>{{443, 443}, {8443, 8443}}));

  DomainPattern apex = parse_ok(".example.com:8000-8100");
  EXPECT_EQ(apex.kind, DomainPatternKind::apex_and_subdomains);
  EXPECT_EQ(apex.base, "example.com");
  EXPECT_EQ(apex.ports, (std::vector<DomainPortRange>{{8000, 8100}}));
}

TEST(DomainPattern, PortSuffixKeepsNameNormalisation) {
  DomainPattern pattern = parse_ok("DB.Example.COM.:5432");
  EXPECT_EQ(pattern.base, "db.example.com");
  EXPECT_EQ(pattern.ports, (std::vector<DomainPortRange>{{5432, 5432}}));
}

TEST(DomainPattern, PortBoundsAndLeadingZeros) {
  EXPECT_EQ(ports_of("example.com:1"), (std::vector<DomainPortRange>{{1, 1}}));
  EXPECT_EQ(ports_of("example.com:65535"), (std::vector<DomainPortRange>{{65535, 65535}}));
  EXPECT_EQ(ports_of("example.com:1-65535"), (std::vector<DomainPortRange>{{1, 65535}}));
  EXPECT_EQ(ports_of("example.com:0443"), (std::vector<DomainPortRange>{{443, 443}}));
  EXPECT_EQ(ports_of("example.com:80-80"), (std::vector<DomainPortRange>{{80, 80}}));
}

TEST(DomainPattern, PortsAreSortedAndMerged) {
  // Out of order, overlapping, adjacent and repeated entries: one canonical list.
  EXPECT_EQ(ports_of("example.com:8443,443,8000-8100,8050-8200,8201,443"),
            (std::vector<DomainPortRange>{{443, 443}, {8000, 8201}, {8443, 8443}}));
  EXPECT_EQ(ports_of("example.com:443,80"), ports_of("example.com:80,443"));
  EXPECT_EQ(ports_of("example.com:1-10,5"), (std::vector<DomainPortRange>{{1, 10}}));
  EXPECT_EQ(ports_of("example.com:65535,1-65534"), (std::vector<DomainPortRange>{{1, 65535}}));
}

TEST(DomainPattern, PortZeroAndAbove65535AreRefused) {
  EXPECT_EQ(parse_problem("example.com:0"), "port 0 is not in 1-65535");
  EXPECT_EQ(parse_problem("example.com:65536"), "port 65536 is not in 1-65535");
  EXPECT_EQ(parse_problem("example.com:99999999999999999999"), "port 99999999999999999999 is not in 1-65535");
  EXPECT_EQ(parse_problem("example.com:0-80"), "port 0 is not in 1-65535");
  EXPECT_EQ(parse_problem("example.com:80-70000"), "port 70000 is not in 1-65535");
  EXPECT_EQ(parse_problem("example.com:443,000"), "port 000 is not in 1-65535");
}

TEST(DomainPattern, ReversedRangeIsRefused) {
  EXPECT_EQ(parse_problem("example.com:8100-8000"), "range \"8100-8000\" starts above its end");
  EXPECT_EQ(parse_problem("*.example.com:443,444-443"), "range \"444-443\" starts above its end");
}

TEST(DomainPattern, EmptyPortListOrEntryIsRefused) {
  EXPECT_NE(parse_problem("example.com:").find("empty port list after ':'"), std::string::npos);
  EXPECT_NE(parse_problem("*.example.com:").find("empty port list after ':'"), std::string::npos);
  EXPECT_EQ(parse_problem("example.com:443,"), "empty entry in the port list \"443,\"");
  EXPECT_EQ(parse_problem("example.com:,443"), "empty entry in the port list \",443\"");
  EXPECT_EQ(parse_problem("example.com:443,,80"), "empty entry in the port list \"443,,80\"");
  EXPECT_EQ(parse_problem("example.com:,"), "empty entry in the port list \",\"");
}

TEST(DomainPattern, GarbagePortsAreRefused) {
  const std::string hint = " is not a port or PORT-PORT range (as in \"443\" or \"8000-8100\")";
  EXPECT_EQ(parse_problem("example.com:https"), "\"https\"" + hint);
  EXPECT_EQ(parse_problem("example.com:+443"), "\"+443\"" + hint);
  EXPECT_EQ(parse_problem("example.com:-443"), "\"-443\"" + hint);
  EXPECT_EQ(parse_problem("example.com:443-"), "\"443-\"" + hint);
  EXPECT_EQ(parse_problem("example.com:1-2-3"), "\"1-2-3\"" + hint);
  EXPECT_EQ(parse_problem("example.com: 443"), "\" 443\"" + hint);
  EXPECT_EQ(parse_problem("example.com:443 "), "\"443 \"" + hint);
  EXPECT_EQ(parse_problem("example.com:443;80"), "\"443;80\"" + hint);
  EXPECT_EQ(parse_problem("example.com:443:80"), "\"443:80\"" + hint);
  EXPECT_EQ(parse_problem("example.com:443,x"), "\"x\"" + hint);
  EXPECT_EQ(parse_problem("example.com:0x1bb"), "\"0x1bb\"" + hint);
}

TEST(DomainPattern, PortListWithoutAName) {
  EXPECT_EQ(parse_problem(":443"), "no domain name before the port list");
  EXPECT_NE(parse_problem("*.:443").find("no domain name after the leading \"*.\""), std::string::npos);
  EXPECT_NE(parse_problem(".:443").find("no domain name after the leading \".\""), std::string::npos);
}

TEST(DomainPattern, NameProblemsAreReportedBeforePortProblems) {
  EXPECT_NE(parse_problem("foo*.com:0").find("'*'"), std::string::npos);
  EXPECT_NE(parse_problem("exa mple.com:0").find("not allowed in a host name"), std::string::npos);
}

TEST(DomainPattern, AddressWithOrWithoutPortBelongsInAllowedNetworks) {
  for (const char* text : {"198.18.0.1:443", "2001:db8::1", "::1", "198.18.0.1:x"}) {
    EXPECT_NE(parse_problem(text).find("allowed_networks"), std::string::npos) << text << ": " << parse_problem(text);
  }
}

TEST(DomainPattern, ParseDomainPortsAlone) {
  std::vector<DomainPortRange> ports{{1, 2}};
  EXPECT_EQ(parse_domain_ports("22,20-21", ports), "");
  EXPECT_EQ(ports, (std::vector<DomainPortRange>{{20, 22}}));
  EXPECT_NE(parse_domain_ports("", ports), "");
  EXPECT_NE(parse_domain_ports("0", ports), "");
  EXPECT_EQ(ports, (std::vector<DomainPortRange>{{20, 22}}));  // untouched on error
}

TEST(DomainPattern, LeavesOutputAloneOnError) {
  DomainPattern pattern;
  ASSERT_EQ(parse_domain_pattern("*.example.com", pattern), "");
  EXPECT_NE(parse_domain_pattern("foo*.com", pattern), "");
  EXPECT_EQ(pattern.kind, DomainPatternKind::strict_subdomains);
  EXPECT_EQ(pattern.base, "example.com");

  ASSERT_EQ(parse_domain_pattern("db.example.com:5432", pattern), "");
  EXPECT_NE(parse_domain_pattern("other.example.com:0", pattern), "");
  EXPECT_EQ(pattern.base, "db.example.com");
  EXPECT_EQ(pattern.ports, (std::vector<DomainPortRange>{{5432, 5432}}));
  // A pattern without ports clears the ports of the last one.
  ASSERT_EQ(parse_domain_pattern("example.com", pattern), "");
  EXPECT_TRUE(pattern.ports.empty());
}

}  // namespace
}  // namespace sluice

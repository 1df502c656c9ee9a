#include "dataplane/parse/dns_query_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;
using test::put16;
using test::operator+;

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeTxt = 16;
constexpr uint16_t kClassIn = 1;

Bytes labels(const std::string& dotted) {
  Bytes b;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    b.push_back(uint8_t(dot - start));
    b.insert(b.end(), dotted.begin() + long(start), dotted.begin() + long(dot));
    start = dot + 1;
  }
  b.push_back(0);
  return b;
}

Bytes header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
  Bytes b;
  put16(b, id);
  put16(b, flags);
  put16(b, qd);
  put16(b, an);
  put16(b, ns);
  put16(b, ar);
  return b;
}

Bytes question(const Bytes& name, uint16_t type = kTypeA) {
  Bytes b = name;
  put16(b, type);
  put16(b, kClassIn);
  return b;
}

// An EDNS OPT record as dig sends it (one cookie option of 8 bytes).
Bytes opt_record() {
  Bytes b{0};
  put16(b, 41);
  put16(b, 1232);
  put16(b, 0);
  put16(b, 0);
  put16(b, 12);
  put16(b, 10);
  put16(b, 8);
  for (int i = 0; i < 8; ++i) b.push_back(uint8_t(i));
  return b;
}

Bytes query(const std::string& name, uint16_t type = kTypeA) {
  return header(0x1234, 0x0100, 1, 0, 0, 0) + question(labels(name), type);
}

DnsQueryStatus parse(const Bytes& message, DnsQueryInfo& info) { return parse_dns_query(message, info); }

TEST(DnsQueryParser, ReadsAStubResolversQuery) {
  DnsQueryInfo info;
  const Bytes message = query("Files.PythonHosted.org", kTypeTxt);
  ASSERT_EQ(parse(message, info), DnsQueryStatus::ok);
  EXPECT_EQ(std::string(info.name, info.name_length), "files.pythonhosted.org");
  EXPECT_EQ(info.id, 0x1234);
  EXPECT_EQ(info.query_type, kTypeTxt);
  EXPECT_EQ(info.query_class, kClassIn);
  EXPECT_EQ(info.question_end, message.size());
}

TEST(DnsQueryParser, AcceptsOneOptRecord) {
  DnsQueryInfo info;
  const Bytes base = header(7, 0x0120, 1, 0, 0, 1) + question(labels("pypi.org"));
  ASSERT_EQ(parse(base + opt_record(), info), DnsQueryStatus::ok);
  EXPECT_EQ(info.question_end, base.size());
}

TEST(DnsQueryParser, RefusesAResponse) {
  DnsQueryInfo info;
  EXPECT_EQ(parse(header(1, 0x8180, 1, 0, 0, 0) + question(labels("pypi.org")), info), DnsQueryStatus::not_query);
}

TEST(DnsQueryParser, RefusesOtherOpcodes) {
  DnsQueryInfo info;  // opcode 5: UPDATE
  EXPECT_EQ(parse(header(1, 0x2800, 1, 0, 0, 0) + question(labels("pypi.org")), info), DnsQueryStatus::not_query);
}

TEST(DnsQueryParser, RefusesQuestionCountsOtherThanOne) {
  DnsQueryInfo info;
  EXPECT_EQ(parse(header(1, 0x0100, 0, 0, 0, 0), info), DnsQueryStatus::not_one_question);
  EXPECT_EQ(parse(header(1, 0x0100, 2, 0, 0, 0) + question(labels("pypi.org")) + question(labels("x.attacker.example")),
                  info),
            DnsQueryStatus::not_one_question);
}

TEST(DnsQueryParser, RefusesRecordsAQueryDoesNotCarry) {
  DnsQueryInfo info;
  const Bytes q = question(labels("pypi.org"));
  EXPECT_EQ(parse(header(1, 0x0100, 1, 1, 0, 0) + q, info), DnsQueryStatus::unexpected_records);
  EXPECT_EQ(parse(header(1, 0x0100, 1, 0, 1, 0) + q, info), DnsQueryStatus::unexpected_records);
  EXPECT_EQ(parse(header(1, 0x0100, 1, 0, 0, 2) + q + opt_record() + opt_record(), info),
            DnsQueryStatus::unexpected_records);
  // An additional record that is not OPT (a TXT record full of data, say).
  Bytes txt = labels("x.example");
  put16(txt, kTypeTxt);
  put16(txt, kClassIn);
  put16(txt, 0);
  put16(txt, 0);
  put16(txt, 3);
  txt.push_back(2);
  txt.push_back('h');
  txt.push_back('i');
  EXPECT_EQ(parse(header(1, 0x0100, 1, 0, 0, 1) + q + txt, info), DnsQueryStatus::unexpected_records);
  Bytes opt_not_root = opt_record();
  opt_not_root[0] = 1;
  EXPECT_EQ(parse(header(1, 0x0100, 1, 0, 0, 1) + q + opt_not_root, info), DnsQueryStatus::unexpected_records);
}

TEST(DnsQueryParser, RefusesTrailingBytes) {
  DnsQueryInfo info;
  EXPECT_EQ(parse(query("pypi.org") + Bytes{'M', 'A', 'R', 'K'}, info), DnsQueryStatus::trailing_bytes);
}

TEST(DnsQueryParser, RefusesTruncatedMessages) {
  const Bytes whole = header(1, 0x0120, 1, 0, 0, 1) + question(labels("pypi.org")) + opt_record();
  for (size_t cut = 0; cut < whole.size(); ++cut) {
    DnsQueryInfo info;
    const Bytes part(whole.begin(), whole.begin() + long(cut));
    EXPECT_NE(parse(part, info), DnsQueryStatus::ok) << cut;
  }
}

TEST(DnsQueryParser, RefusesCompressionInTheQuestion) {
  DnsQueryInfo info;
  Bytes name{3, 'w', 'w', 'w', 0xc0, 0x0c};
  EXPECT_EQ(parse(header(1, 0x0100, 1, 0, 0, 0) + question(name), info), DnsQueryStatus::bad_label);
  Bytes extended{0x41, 0};
  EXPECT_EQ(parse(header(1, 0x0100, 1, 0, 0, 0) + question(extended), info), DnsQueryStatus::bad_label);
}

TEST(DnsQueryParser, RefusesNamesOutsideHostNameSyntax) {
  DnsQueryInfo info;
  // The matcher's boundary bytes, a dot inside a label, a space, a high byte, the root.
  for (const Bytes& name : {Bytes{3, 'a', 0x01, 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0},
                            Bytes{3, 'a', 0x02, 'b', 0}, Bytes{3, 'a', '.', 'b', 0}, Bytes{3, 'a', ' ', 'b', 0},
                            Bytes{3, 'a', 0xc3, 'b', 0}, Bytes{0}}) {
    EXPECT_EQ(parse(header(1, 0x0100, 1, 0, 0, 0) + question(name), info), DnsQueryStatus::invalid_name);
  }
}

TEST(DnsQueryParser, RefusesNamesTooLong) {
  DnsQueryInfo info;
  std::string name;
  for (int i = 0; i < 5; ++i) name += std::string(60, 'a') + ".";
  name += "example";  // 5 * 61 + 7 = 312 bytes
  EXPECT_EQ(parse(query(name), info), DnsQueryStatus::bad_label);
}

TEST(DnsQueryParser, AcceptsTunnelShapedNamesItIsForThePolicyToRefuse) {
  DnsQueryInfo info;
  ASSERT_EQ(parse(query("4d41524b45522d30303031.x.attacker.example", kTypeTxt), info), DnsQueryStatus::ok);
  EXPECT_EQ(std::string(info.name, info.name_length), "4d41524b45522d30303031.x.attacker.example");
}

TEST(DnsQueryParser, KnowsReverseLookupNames) {
  EXPECT_TRUE(is_reverse_lookup_name("4.3.2.198.in-addr.arpa"));
  EXPECT_TRUE(is_reverse_lookup_name("198.in-addr.arpa"));
  EXPECT_TRUE(is_reverse_lookup_name("8.b.d.0.1.0.0.2.ip6.arpa"));
  EXPECT_FALSE(is_reverse_lookup_name("in-addr.arpa"));
  EXPECT_FALSE(is_reverse_lookup_name("256.3.2.198.in-addr.arpa"));
  EXPECT_FALSE(is_reverse_lookup_name("01.3.2.198.in-addr.arpa"));
  EXPECT_FALSE(is_reverse_lookup_name("5.4.3.2.198.in-addr.arpa"));  // a fifth label carries data
  EXPECT_FALSE(is_reverse_lookup_name("4d41524b.4.3.2.in-addr.arpa"));
  EXPECT_FALSE(is_reverse_lookup_name("ab.b.d.0.1.0.0.2.ip6.arpa"));
  EXPECT_FALSE(is_reverse_lookup_name("g.ip6.arpa"));
  EXPECT_FALSE(is_reverse_lookup_name("4.3.2.198.in-addr.arpa.example"));
}

}  // namespace
}  // namespace sluice

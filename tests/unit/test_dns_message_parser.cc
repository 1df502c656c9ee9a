#include "dataplane/parse/dns_message_parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/unit/bytes.h"

namespace sluice {
namespace {

using test::Bytes;
using test::put16;
using test::put32;
using test::operator+;

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypeTxt = 16;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kResponseFlags = 0x8180;  // QR, RD, RA, NOERROR
constexpr uint16_t kQueryName = 0xc00c;      // a pointer to the question's name, as resolvers write it

// "www.example.com" as uncompressed labels with the root label.
Bytes name(const std::string& dotted) {
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

Bytes pointer(uint16_t offset) {
  Bytes b;
  put16(b, uint16_t(0xc000 | offset));
  return b;
}

Bytes record(const Bytes& owner, uint16_t type, uint32_t ttl, const Bytes& rdata, uint16_t klass = 1) {
  Bytes b = owner;
  put16(b, type);
  put16(b, klass);
  put32(b, ttl);
  put16(b, uint16_t(rdata.size()));
  return b + rdata;
}

Bytes a_record(const Bytes& owner, Bytes address, uint32_t ttl = 300) { return record(owner, kTypeA, ttl, address); }
Bytes aaaa_record(const Bytes& owner, uint8_t last, uint32_t ttl = 300) {
  Bytes address = {0x20, 0x01, 0x0d, 0xb8};
  address.resize(15, 0);
  address.push_back(last);
  return record(owner, kTypeAaaa, ttl, address);
}
Bytes cname_record(const Bytes& owner, const Bytes& target, uint32_t ttl = 300) {
  return record(owner, kTypeCname, ttl, target);
}

struct Sections {
  std::vector<Bytes> answers;
  std::vector<Bytes> authority;
  std::vector<Bytes> additional;
};

Bytes message(const std::string& query, uint16_t query_type, const Sections& sections,
              uint16_t flags = kResponseFlags, uint16_t question_count = 1) {
  Bytes b;
  put16(b, 0xbeef);
  put16(b, flags);
  put16(b, question_count);
  put16(b, uint16_t(sections.answers.size()));
  put16(b, uint16_t(sections.authority.size()));
  put16(b, uint16_t(sections.additional.size()));
  b = b + name(query);
  put16(b, query_type);
  put16(b, 1);
  for (const auto* section : {&sections.answers, &sections.authority, &sections.additional}) {
    for (const Bytes& rr : *section) b = b + rr;
  }
  return b;
}

// Offset of the first answer record in message(query, ...): where a later pointer can aim.
size_t answers_offset(const std::string& query) { return 12 + name(query).size() + 4; }

std::string query_name(const DnsAnswerInfo& info) { return std::string(info.query_name, info.query_name_length); }

std::string address_text(const DnsAddress& address) { return format_ip(address.address); }

DnsParseStatus parse(const Bytes& bytes, DnsAnswerInfo& info) { return parse_dns_response(bytes, info); }

Bytes simple_a_answer() {
  return message("pypi.org", kTypeA, {.answers = {a_record(pointer(12), {198, 19, 10, 1}, 60)}});
}

TEST(DnsMessageParser, SingleA) {
  DnsAnswerInfo info;
  ASSERT_EQ(parse(simple_a_answer(), info), DnsParseStatus::ok);
  EXPECT_EQ(query_name(info), "pypi.org");
  EXPECT_EQ(info.query_type, kTypeA);
  EXPECT_EQ(info.id, 0xbeef);
  EXPECT_EQ(info.rcode, 0);
  EXPECT_FALSE(info.truncated_flag);
  ASSERT_EQ(info.address_count, 1);
  EXPECT_EQ(address_text(info.addresses[0]), "198.19.10.1");
  EXPECT_EQ(info.addresses[0].ttl, 60u);
  EXPECT_EQ(info.cname_depth, 0);
  EXPECT_EQ(info.chain_ttl, 0xffffffffu);
  EXPECT_EQ(info.addresses_skipped, 0);
}

TEST(DnsMessageParser, Aaaa) {
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("v6.example", kTypeAaaa, {.answers = {aaaa_record(pointer(12), 0x42, 7)}}), info),
            DnsParseStatus::ok);
  EXPECT_EQ(info.query_type, kTypeAaaa);
  ASSERT_EQ(info.address_count, 1);
  EXPECT_EQ(info.addresses[0].address.family, 6);
  EXPECT_EQ(address_text(info.addresses[0]), "2001:db8::42");
  EXPECT_EQ(info.addresses[0].ttl, 7u);
}

TEST(DnsMessageParser, SeveralAddresses) {
  const Bytes owner = pointer(12);
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("multi.example", kTypeA,
                          {.answers = {a_record(owner, {198, 18, 0, 1}, 10), a_record(owner, {198, 18, 0, 2}, 20),
                                       aaaa_record(owner, 3, 30)}}),
                  info),
            DnsParseStatus::ok);
  ASSERT_EQ(info.address_count, 3);
  EXPECT_EQ(address_text(info.addresses[0]), "198.18.0.1");
  EXPECT_EQ(address_text(info.addresses[1]), "198.18.0.2");
  EXPECT_EQ(address_text(info.addresses[2]), "2001:db8::3");
  EXPECT_EQ(info.addresses[2].ttl, 30u);
}

TEST(DnsMessageParser, AddressesBeyondTheLimitAreCounted) {
  Sections sections;
  for (int i = 0; i < kMaxDnsAddresses + 3; ++i) {
    sections.answers.push_back(a_record(pointer(12), {198, 18, 1, uint8_t(i)}));
  }
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("many.example", kTypeA, sections), info), DnsParseStatus::ok);
  EXPECT_EQ(info.address_count, kMaxDnsAddresses);
  EXPECT_EQ(info.addresses_skipped, 3);
  EXPECT_EQ(address_text(info.addresses[kMaxDnsAddresses - 1]), "198.18.1.15");
}

// www.example.com -> edge.cdn.example -> host.cdn.example (A), as resolvers write it.
Sections chain_in_order() {
  return {.answers = {cname_record(pointer(12), name("edge.cdn.example"), 300),
                      cname_record(name("edge.cdn.example"), name("host.cdn.example"), 40),
                      a_record(name("host.cdn.example"), {198, 18, 9, 9}, 100)}};
}

TEST(DnsMessageParser, CnameChainInOrder) {
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("www.example.com", kTypeA, chain_in_order()), info), DnsParseStatus::ok);
  EXPECT_EQ(info.cname_depth, 2);
  EXPECT_EQ(info.chain_ttl, 40u);
  ASSERT_EQ(info.address_count, 1);
  EXPECT_EQ(address_text(info.addresses[0]), "198.18.9.9");
  EXPECT_EQ(info.addresses[0].ttl, 100u);
  EXPECT_EQ(info.addresses_skipped, 0);
}

TEST(DnsMessageParser, CnameChainOutOfOrder) {
  Sections sections = chain_in_order();
  // Address first, then the second link, then the first: the chain is the same.
  std::swap(sections.answers[0], sections.answers[2]);
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("www.example.com", kTypeA, sections), info), DnsParseStatus::ok);
  EXPECT_EQ(info.cname_depth, 2);
  EXPECT_EQ(info.chain_ttl, 40u);
  ASSERT_EQ(info.address_count, 1);
  EXPECT_EQ(address_text(info.addresses[0]), "198.18.9.9");
}

TEST(DnsMessageParser, CompressedCnameTarget) {
  // The second CNAME's target is "host." + a pointer to the "cdn.example" inside the first target.
  const std::string query = "www.example.com";
  const size_t first_target = answers_offset(query) + 2 + 10;  // owner pointer, fixed fields
  Bytes host_target = {4, 'h', 'o', 's', 't'};
  host_target = host_target + pointer(uint16_t(first_target + 5));  // skips the "edge" label
  Sections sections = {.answers = {cname_record(pointer(12), name("edge.cdn.example")),
                                   cname_record(pointer(uint16_t(first_target)), host_target),
                                   a_record(name("HOST.cdn.example"), {198, 18, 9, 10})}};
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message(query, kTypeA, sections), info), DnsParseStatus::ok);
  EXPECT_EQ(info.cname_depth, 2);
  ASSERT_EQ(info.address_count, 1);
  EXPECT_EQ(address_text(info.addresses[0]), "198.18.9.10");
}

Sections chain_of(int links) {
  Sections sections;
  for (int i = 0; i < links; ++i) {
    const Bytes owner = i == 0 ? pointer(12) : name("n" + std::to_string(i) + ".example");
    sections.answers.push_back(cname_record(owner, name("n" + std::to_string(i + 1) + ".example"), uint32_t(100 + i)));
  }
  sections.answers.push_back(a_record(name("n" + std::to_string(links) + ".example"), {198, 18, 7, 7}));
  return sections;
}

TEST(DnsMessageParser, LongestChainIsFollowed) {
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("start.example", kTypeA, chain_of(kMaxDnsCnameDepth)), info), DnsParseStatus::ok);
  EXPECT_EQ(info.cname_depth, kMaxDnsCnameDepth);
  EXPECT_EQ(info.chain_ttl, 100u);
  EXPECT_EQ(info.address_count, 1);
}

TEST(DnsMessageParser, ChainTooLong) {
  DnsAnswerInfo info;
  EXPECT_EQ(parse(message("start.example", kTypeA, chain_of(kMaxDnsCnameDepth + 1)), info),
            DnsParseStatus::cname_chain_too_long);
  EXPECT_EQ(info.address_count, 0);
}

TEST(DnsMessageParser, CnameLoopEndsAsTooLong) {
  Sections sections = {.answers = {cname_record(pointer(12), name("b.example")),
                                   cname_record(name("b.example"), name("a.example")),
                                   a_record(name("a.example"), {198, 18, 7, 8})}};
  DnsAnswerInfo info;
  EXPECT_EQ(parse(message("a.example", kTypeA, sections), info), DnsParseStatus::cname_chain_too_long);
  EXPECT_EQ(parse(message("a.example", kTypeA, {.answers = {cname_record(pointer(12), name("A.example"))}}), info),
            DnsParseStatus::cname_chain_too_long);
}

TEST(DnsMessageParser, TwoCnamesForOneNameAreMalformed) {
  Sections sections = {.answers = {cname_record(pointer(12), name("b.example")),
                                   cname_record(pointer(12), name("c.example"))}};
  DnsAnswerInfo info;
  EXPECT_EQ(parse(message("a.example", kTypeA, sections), info), DnsParseStatus::malformed);
}

// The anti-poisoning rule: addresses for names the client did not ask about are never learned.
TEST(DnsMessageParser, OwnerNotOnChainIsSkipped) {
  Sections sections = chain_in_order();
  sections.answers.push_back(a_record(name("pypi.org"), {198, 18, 66, 66}));
  sections.answers.push_back(aaaa_record(name("cdn.example"), 0x66));  // a parent of a chain name
  // A CNAME that is not on the chain does not bring its target onto it.
  sections.answers.push_back(cname_record(name("other.example"), name("evil.example")));
  sections.answers.push_back(a_record(name("evil.example"), {198, 18, 66, 67}));
  sections.additional.push_back(a_record(name("host.cdn.example"), {198, 18, 66, 68}));
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("www.example.com", kTypeA, sections), info), DnsParseStatus::ok);
  ASSERT_EQ(info.address_count, 1);
  EXPECT_EQ(address_text(info.addresses[0]), "198.18.9.9");
  EXPECT_EQ(info.addresses_skipped, 3);  // the additional section is not read for addresses
}

TEST(DnsMessageParser, NoAnswerForTheQuestion) {
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("asked.example", kTypeA, {.answers = {a_record(name("other.example"), {198, 18, 1, 1})}}),
                  info),
            DnsParseStatus::ok);
  EXPECT_EQ(info.address_count, 0);
  EXPECT_EQ(info.addresses_skipped, 1);
}

TEST(DnsMessageParser, UpperCaseNames) {
  Sections sections = {.answers = {cname_record(name("WWW.EXAMPLE.COM"), name("Edge.CDN.example")),
                                   a_record(name("edge.cdn.EXAMPLE"), {198, 18, 5, 5})}};
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("Www.Example.Com", kTypeA, sections), info), DnsParseStatus::ok);
  EXPECT_EQ(query_name(info), "www.example.com");
  EXPECT_EQ(info.cname_depth, 1);
  ASSERT_EQ(info.address_count, 1);
  EXPECT_EQ(address_text(info.addresses[0]), "198.18.5.5");
}

TEST(DnsMessageParser, RootName) {
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("", 2, {}), info), DnsParseStatus::ok);
  EXPECT_EQ(info.query_name_length, 0);
}

TEST(DnsMessageParser, OtherRecordsAreIgnored) {
  Sections sections = {.answers = {record(pointer(12), kTypeTxt, 5, {3, 'a', 'b', 'c'}),
                                   record(pointer(12), kTypeA, 5, {1, 2, 3, 4}, 3),  // class CHAOS
                                   a_record(pointer(12), {198, 18, 3, 3})},
                       .authority = {record(name("example"), 6, 5, Bytes(30, 0))},
                       .additional = {record({0}, 41, 0, {})}};  // an EDNS OPT record
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("x.example", kTypeA, sections), info), DnsParseStatus::ok);
  EXPECT_EQ(info.address_count, 1);
  EXPECT_EQ(info.addresses_skipped, 0);
}

TEST(DnsMessageParser, ErrorAnswersTeachNothing) {
  const Sections sections = {.answers = {a_record(pointer(12), {198, 18, 3, 3})}};
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("x.example", kTypeA, sections, 0x8183), info), DnsParseStatus::ok);  // NXDOMAIN
  EXPECT_EQ(info.rcode, 3);
  EXPECT_EQ(info.address_count, 0);
  EXPECT_EQ(info.addresses_skipped, 1);
  ASSERT_EQ(parse(message("x.example", kTypeA, sections, 0xa980), info), DnsParseStatus::ok);  // opcode 5: UPDATE
  EXPECT_EQ(info.opcode, 5);
  EXPECT_EQ(info.address_count, 0);
}

TEST(DnsMessageParser, TruncatedFlagAndTtls) {
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message("x.example", kTypeA, {.answers = {a_record(pointer(12), {198, 18, 3, 3}, 0x80000000)}},
                          kResponseFlags | 0x0200),
                  info),
            DnsParseStatus::ok);
  EXPECT_TRUE(info.truncated_flag);
  ASSERT_EQ(info.address_count, 1);
  EXPECT_EQ(info.addresses[0].ttl, 0u);  // top bit set reads as 0
}

TEST(DnsMessageParser, QueryIsNotAResponse) {
  DnsAnswerInfo info;
  EXPECT_EQ(parse(message("pypi.org", kTypeA, {}, 0x0100), info), DnsParseStatus::not_response);
}

TEST(DnsMessageParser, QuestionCount) {
  DnsAnswerInfo info;
  EXPECT_EQ(parse(message("pypi.org", kTypeA, {}, kResponseFlags, 0), info), DnsParseStatus::malformed);
  Bytes two = message("pypi.org", kTypeA, {}, kResponseFlags, 2) + name("other.org") + Bytes{0, 1, 0, 1};
  EXPECT_EQ(parse(two, info), DnsParseStatus::malformed);
}

// Every cut of a valid message is "truncated": never ok, never a read past the end.
TEST(DnsMessageParser, EveryPrefixIsTruncated) {
  Sections with_extra = chain_in_order();
  with_extra.authority.push_back(record(name("example"), 6, 5, Bytes(30, 0)));
  with_extra.additional.push_back(record({0}, 41, 0, {}));
  for (const Bytes& sample : {simple_a_answer(), message("www.example.com", kTypeA, with_extra),
                              message("start.example", kTypeA, chain_of(kMaxDnsCnameDepth))}) {
    DnsAnswerInfo info;
    ASSERT_EQ(parse(sample, info), DnsParseStatus::ok);
    for (size_t length = 0; length < sample.size(); ++length) {
      Bytes prefix(sample.begin(), sample.begin() + long(length));  // exact size: ASan sees over-reads
      EXPECT_EQ(parse(prefix, info), DnsParseStatus::truncated) << "prefix length " << length;
      EXPECT_EQ(info.address_count, 0);
    }
  }
}

TEST(DnsMessageParser, TrailingBytesAreIgnored) {
  DnsAnswerInfo info;
  EXPECT_EQ(parse(simple_a_answer() + Bytes{0, 0, 0}, info), DnsParseStatus::ok);
  EXPECT_EQ(info.address_count, 1);
}

TEST(DnsMessageParser, CompressionLoops) {
  const size_t at = answers_offset("loop.example");
  DnsAnswerInfo info;
  // An owner that points at itself.
  EXPECT_EQ(parse(message("loop.example", kTypeA, {.answers = {a_record(pointer(uint16_t(at)), {1, 2, 3, 4})}}), info),
            DnsParseStatus::compression_loop);
  // A label, then a pointer back to that label: a loop through one label.
  Bytes owner = {1, 'x'};
  owner = owner + pointer(uint16_t(at));
  EXPECT_EQ(parse(message("loop.example", kTypeA, {.answers = {a_record(owner, {1, 2, 3, 4})}}), info),
            DnsParseStatus::compression_loop);
  // A pointer forward, to a name written later.
  EXPECT_EQ(parse(message("loop.example", kTypeA, {.answers = {a_record(pointer(uint16_t(at + 20)), {1, 2, 3, 4})}}),
                  info),
            DnsParseStatus::compression_loop);
  // Two pointers aiming at each other: the second goes back to the first, which goes forward again.
  Sections pair = {.answers = {a_record(pointer(uint16_t(at + 16)), {1, 2, 3, 4}),
                               a_record(pointer(uint16_t(at)), {1, 2, 3, 5})}};
  EXPECT_EQ(parse(message("loop.example", kTypeA, pair), info), DnsParseStatus::compression_loop);
  // A pointer beyond the message.
  EXPECT_EQ(parse(message("loop.example", kTypeA, {.answers = {a_record(pointer(0x3fff), {1, 2, 3, 4})}}), info),
            DnsParseStatus::compression_loop);
}

TEST(DnsMessageParser, LongPointerChainIsBounded) {
  // 200 pointers in an unrelated record's rdata, each aiming at the one before it, the first at the
  // question's name; then an owner that enters at the last. Every jump goes back, but no encoder
  // writes this, and following it all would cost a step a pointer.
  const size_t rdata_at = answers_offset("deep.example") + 1 + 10;  // root owner, fixed fields
  Bytes run;
  for (int i = 0; i < 200; ++i) run = run + (i == 0 ? pointer(12) : pointer(uint16_t(rdata_at + 2 * (i - 1))));
  Sections deep = {.answers = {record({0}, kTypeTxt, 5, run),
                               a_record(pointer(uint16_t(rdata_at + 2 * 199)), {198, 18, 0, 2})}};
  DnsAnswerInfo info;
  EXPECT_EQ(parse(message("deep.example", kTypeA, deep), info), DnsParseStatus::compression_loop);
  // A few pointers in a row are fine.
  Sections shallow = {.answers = {record({0}, kTypeTxt, 5, Bytes(run.begin(), run.begin() + 8)),
                                  a_record(pointer(uint16_t(rdata_at + 6)), {198, 18, 0, 2})}};
  ASSERT_EQ(parse(message("deep.example", kTypeA, shallow), info), DnsParseStatus::ok);
  EXPECT_EQ(info.address_count, 1);
}

TEST(DnsMessageParser, PointerIntoHeader) {
  DnsAnswerInfo info;
  EXPECT_EQ(parse(message("x.example", kTypeA, {.answers = {a_record(pointer(4), {1, 2, 3, 4})}}), info),
            DnsParseStatus::malformed);
}

TEST(DnsMessageParser, BadLabels) {
  DnsAnswerInfo info;
  // A label of 64 bytes: its length byte has a type bit set.
  const std::string long_label(64, 'a');
  EXPECT_EQ(parse(message(long_label + ".example", kTypeA, {}), info), DnsParseStatus::malformed);
  const std::string label_63(63, 'a');
  EXPECT_EQ(parse(message(label_63 + ".example", kTypeA, {}), info), DnsParseStatus::ok);
  // 0x80 is the other reserved label type.
  Bytes reserved = message("x.example", kTypeA, {});
  reserved[12] = 0x81;
  EXPECT_EQ(parse(reserved, info), DnsParseStatus::malformed);
  // A label holding a dot would read as two labels.
  Bytes dotted = message("ab.example", kTypeA, {});
  dotted[14] = '.';
  EXPECT_EQ(parse(dotted, info), DnsParseStatus::malformed);
}

TEST(DnsMessageParser, NameLength) {
  // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 bytes of text: the longest name there is.
  const std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                              std::string(61, 'd');
  ASSERT_EQ(longest.size(), 253u);
  DnsAnswerInfo info;
  ASSERT_EQ(parse(message(longest, kTypeA, {.answers = {a_record(pointer(12), {198, 18, 0, 1})}}), info),
            DnsParseStatus::ok);
  EXPECT_EQ(query_name(info), longest);
  EXPECT_EQ(info.address_count, 1);
  EXPECT_EQ(parse(message(longest + "d", kTypeA, {}), info), DnsParseStatus::malformed);
  // Over the limit only through compression: "x." + the longest name.
  Bytes owner = {1, 'x'};
  owner = owner + pointer(12);
  EXPECT_EQ(parse(message(longest, kTypeA, {.answers = {a_record(owner, {198, 18, 0, 1})}}), info),
            DnsParseStatus::malformed);
}

TEST(DnsMessageParser, RdataLengths) {
  DnsAnswerInfo info;
  // rdlength past the end of the message: the message is cut.
  Bytes past = simple_a_answer();
  past[past.size() - 5] = 5;
  EXPECT_EQ(parse(past, info), DnsParseStatus::truncated);
  Bytes huge = simple_a_answer();
  huge[huge.size() - 6] = 0xff;
  EXPECT_EQ(parse(huge, info), DnsParseStatus::truncated);
  // An A record of 5 bytes, an AAAA of 4: wrong for their type.
  EXPECT_EQ(parse(message("x.example", kTypeA, {.answers = {record(pointer(12), kTypeA, 5, {1, 2, 3, 4, 5})}}), info),
            DnsParseStatus::malformed);
  EXPECT_EQ(parse(message("x.example", kTypeA, {.answers = {record(pointer(12), kTypeAaaa, 5, {1, 2, 3, 4})}}), info),
            DnsParseStatus::malformed);
  // A CNAME whose target is shorter or longer than its rdata.
  EXPECT_EQ(parse(message("x.example", kTypeA, {.answers = {cname_record(pointer(12), name("y.example") + Bytes{0})}}),
                  info),
            DnsParseStatus::malformed);
  Bytes short_target = name("y.example");
  short_target.pop_back();
  EXPECT_EQ(parse(message("x.example", kTypeA,
                          {.answers = {cname_record(pointer(12), short_target), a_record(pointer(12), {1, 2, 3, 4})}}),
                  info),
            DnsParseStatus::malformed);
}

TEST(DnsMessageParser, CountsBeyondTheMessage) {
  Bytes more = simple_a_answer();
  more[7] = 2;  // two answers announced, one present
  DnsAnswerInfo info;
  EXPECT_EQ(parse(more, info), DnsParseStatus::truncated);
  more = simple_a_answer();
  more[11] = 1;  // an additional record announced
  EXPECT_EQ(parse(more, info), DnsParseStatus::truncated);
}

Bytes tcp_framed(const Bytes& message_bytes) {
  Bytes b;
  put16(b, uint16_t(message_bytes.size()));
  return b + message_bytes;
}

TEST(DnsMessageParser, Tcp) {
  const Bytes one = simple_a_answer();
  DnsAnswerInfo info;
  ASSERT_EQ(parse_dns_tcp_response(tcp_framed(one), info), DnsParseStatus::ok);
  EXPECT_EQ(info.address_count, 1);
  // A second message after the first is not read.
  ASSERT_EQ(parse_dns_tcp_response(tcp_framed(one) + Bytes{0x00, 0x40, 0x12}, info), DnsParseStatus::ok);
  EXPECT_EQ(info.address_count, 1);
  // Every prefix of the framed message is truncated.
  const Bytes framed = tcp_framed(one);
  for (size_t length = 0; length < framed.size(); ++length) {
    Bytes prefix(framed.begin(), framed.begin() + long(length));
    EXPECT_EQ(parse_dns_tcp_response(prefix, info), DnsParseStatus::truncated) << length;
  }
  // A prefix announcing fewer bytes than the message needs cuts it.
  Bytes short_prefix = framed;
  short_prefix[1] = uint8_t(short_prefix[1] - 1);
  EXPECT_EQ(parse_dns_tcp_response(short_prefix, info), DnsParseStatus::truncated);
  EXPECT_EQ(parse_dns_tcp_response(tcp_framed(message("q.example", kTypeA, {}, 0x0100)), info),
            DnsParseStatus::not_response);
}

// Random corruption: a status always, no read past the message, and the invariants of what is kept.
TEST(DnsMessageParser, CorruptedMessagesStayInBounds) {
  Sections sections = chain_in_order();
  sections.answers.push_back(aaaa_record(name("host.cdn.example"), 1));
  const Bytes sample = message("www.example.com", kTypeA, sections);
  std::mt19937 random(5353);
  int accepted = 0;
  for (int round = 0; round < 30000; ++round) {
    Bytes bytes = sample;
    const int flips = 1 + int(random() % 3);
    for (int i = 0; i < flips; ++i) bytes[random() % bytes.size()] = uint8_t(random());
    if (random() % 2) bytes.resize(random() % (bytes.size() + 1));
    DnsAnswerInfo info;
    if (parse(bytes, info) != DnsParseStatus::ok) continue;
    ++accepted;
    ASSERT_LE(info.address_count, kMaxDnsAddresses);
    ASSERT_LE(info.cname_depth, kMaxDnsCnameDepth);
    for (size_t i = 0; i < info.query_name_length; ++i) {
      ASSERT_FALSE(info.query_name[i] >= 'A' && info.query_name[i] <= 'Z');
    }
  }
  EXPECT_GT(accepted, 0);
}

TEST(DnsMessageParser, StatusNames) {
  EXPECT_STREQ(to_string(DnsParseStatus::ok), "ok");
  EXPECT_STREQ(to_string(DnsParseStatus::not_response), "not_response");
  EXPECT_STREQ(to_string(DnsParseStatus::truncated), "truncated");
  EXPECT_STREQ(to_string(DnsParseStatus::malformed), "malformed");
  EXPECT_STREQ(to_string(DnsParseStatus::compression_loop), "compression_loop");
  EXPECT_STREQ(to_string(DnsParseStatus::cname_chain_too_long), "cname_chain_too_long");
}

}  // namespace
}  // namespace sluice

// libFuzzer target: parse_dns_response and parse_dns_tcp_response over arbitrary messages.
#include <cstring>
#include <vector>

#include "dataplane/parse/dns_message_parser.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

void check_answer(DnsParseStatus status, const DnsAnswerInfo& info) {
  FUZZ_CHECK(std::strcmp(to_string(status), "unknown") != 0);
  FUZZ_CHECK(info.address_count <= kMaxDnsAddresses);
  FUZZ_CHECK(info.cname_depth <= kMaxDnsCnameDepth);
  FUZZ_CHECK(info.query_name_length <= kMaxHostnameLength);
  // Lower case, labels joined by single dots, no dot at either end.
  for (size_t i = 0; i < info.query_name_length; ++i) {
    const char c = info.query_name[i];
    FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    if (c == '.') FUZZ_CHECK(i > 0 && i + 1 < info.query_name_length && info.query_name[i - 1] != '.');
  }
  if (status != DnsParseStatus::ok) {
    FUZZ_CHECK(info.address_count == 0);  // nothing is learned from a message that was refused
    return;
  }
  FUZZ_CHECK((info.cname_depth == 0) == (info.chain_ttl == 0xffffffff));
  if (info.cname_depth > 0) FUZZ_CHECK(info.chain_ttl <= 0x7fffffff);
  FUZZ_CHECK(info.address_count == 0 || (info.opcode == 0 && info.rcode == 0));
  for (int i = 0; i < info.address_count; ++i) {
    FUZZ_CHECK(info.addresses[i].address.family == 4 || info.addresses[i].address.family == 6);
    FUZZ_CHECK(info.addresses[i].ttl <= 0x7fffffff);
  }
}

bool same(const DnsAnswerInfo& a, const DnsAnswerInfo& b) {
  if (a.query_name_length != b.query_name_length ||
      std::memcmp(a.query_name, b.query_name, a.query_name_length) != 0 || a.query_type != b.query_type ||
      a.query_class != b.query_class || a.id != b.id || a.opcode != b.opcode || a.rcode != b.rcode ||
      a.truncated_flag != b.truncated_flag || a.address_count != b.address_count || a.chain_ttl != b.chain_ttl ||
      a.cname_depth != b.cname_depth || a.addresses_skipped != b.addresses_skipped) {
    return false;
  }
  for (int i = 0; i < a.address_count; ++i) {
    if (!(a.addresses[i].address == b.addresses[i].address) || a.addresses[i].ttl != b.addresses[i].ttl) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DnsAnswerInfo udp;
  const auto status = parse_dns_response({data, size}, udp);
  check_answer(status, udp);

  // The same message on TCP, behind its length prefix, reads the same.
  if (size <= 0xffff) {
    std::vector<uint8_t> framed = {uint8_t(size >> 8), uint8_t(size)};
    framed.insert(framed.end(), data, data + size);
    DnsAnswerInfo tcp;
    FUZZ_CHECK(parse_dns_tcp_response(framed, tcp) == status);
    FUZZ_CHECK(same(udp, tcp));
    // Missing its last byte it waits for more, whatever the message.
    framed.pop_back();
    FUZZ_CHECK(parse_dns_tcp_response(framed, tcp) == DnsParseStatus::truncated);
  }

  // The input as a TCP stream itself.
  DnsAnswerInfo stream;
  check_answer(parse_dns_tcp_response({data, size}, stream), stream);

  // Bytes after the last record are ignored.
  if (status == DnsParseStatus::ok) {
    std::vector<uint8_t> longer(data, data + size);
    longer.insert(longer.end(), {0xc0, 0x0c, 0x00, 0x01});
    DnsAnswerInfo again;
    FUZZ_CHECK(parse_dns_response(longer, again) == DnsParseStatus::ok);
    FUZZ_CHECK(same(udp, again));
  }
  return 0;
}

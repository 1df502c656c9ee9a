// libFuzzer target: parse_dns_query and is_reverse_lookup_name over arbitrary messages.
#include <cstring>
#include <string_view>

#include "dataplane/parse/dns_query_parser.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DnsQueryInfo info;
  const DnsQueryStatus status = parse_dns_query({data, size}, info);
  FUZZ_CHECK(std::strcmp(to_string(status), "unknown") != 0);
  FUZZ_CHECK(info.name_length <= kMaxHostnameLength);
  if (status != DnsQueryStatus::ok) return 0;
  // What passes is one question in host-name syntax, echoed whole by a refusal.
  FUZZ_CHECK(info.name_length > 0);
  FUZZ_CHECK(info.question_end > kDnsHeaderLength && info.question_end <= size);
  for (size_t i = 0; i < info.name_length; ++i) {
    const char c = info.name[i];
    FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
  }
  const std::string_view name(info.name, info.name_length);
  if (is_reverse_lookup_name(name)) FUZZ_CHECK(name.ends_with(".arpa"));
  return 0;
}

// libFuzzer target: parse_client_hello, both overloads, over arbitrary client streams.
#include <cstring>
#include <string>

#include "dataplane/parse/tls_client_hello_parser.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;
using sluice::fuzz::inside;

namespace {

constexpr size_t kScratchSize = 16384;  // what the worker gives the parser
constexpr size_t kSmallScratchSize = 512;
uint8_t scratch[kScratchSize];
uint8_t small_scratch[kSmallScratchSize];

// The fields of an accepted hello, copied out: views into scratch do not survive the next parse.
struct Summary {
  std::string server_name;
  std::string first_alpn;
  uint16_t legacy_version;
  uint8_t server_name_count;
  bool has_server_name_extension;
  bool has_encrypted_client_hello;
  uint8_t supported_versions_count;
  uint16_t highest_supported_version;
  uint32_t stream_bytes_used;
  bool operator==(const Summary&) const = default;
};

Summary summary(const ClientHelloInfo& info) {
  return {std::string(info.server_name), std::string(info.first_alpn), info.legacy_version, info.server_name_count,
          info.has_server_name_extension, info.has_encrypted_client_hello, info.supported_versions_count,
          info.highest_supported_version, info.stream_bytes_used};
}

void check_views(const ClientHelloInfo& info, const uint8_t* data, size_t size, const uint8_t* scratch_begin,
                 size_t scratch_size) {
  for (std::string_view view : {info.server_name, info.first_alpn}) {
    FUZZ_CHECK(inside(view, data, size) || inside(view, scratch_begin, scratch_size));
  }
}

void check_result(ClientHelloStatus status, const ClientHelloInfo& info, size_t size) {
  FUZZ_CHECK(std::strcmp(to_string(status), "unknown") != 0);
  if (status != ClientHelloStatus::ok) {
    FUZZ_CHECK(info.stream_bytes_used == 0);
    return;
  }
  // A record header, a handshake header and the fixed fields at least.
  FUZZ_CHECK(info.stream_bytes_used >= 9 && info.stream_bytes_used <= size);
  FUZZ_CHECK(info.server_name_count == 0 || !info.server_name.empty());
  FUZZ_CHECK(info.has_server_name_extension || info.server_name_count == 0);
  FUZZ_CHECK(info.supported_versions_count > 0 || info.highest_supported_version == info.legacy_version);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> stream(data, size);

  ClientHelloInfo one_record;
  const auto one_status = parse_client_hello(stream, one_record);
  check_result(one_status, one_record, size);
  check_views(one_record, data, size, nullptr, 0);
  const Summary one = summary(one_record);

  // With no scratch the new overload is the old parser.
  ClientHelloInfo no_scratch;
  FUZZ_CHECK(parse_client_hello(stream, std::span<uint8_t>(), no_scratch) == one_status);
  FUZZ_CHECK(summary(no_scratch) == one);

  ClientHelloInfo joined;
  const auto joined_status = parse_client_hello(stream, scratch, joined);
  check_result(joined_status, joined, size);
  check_views(joined, data, size, scratch, kScratchSize);
  const Summary full = summary(joined);
  // What one record gives, joining gives too; a refusal of the first record stays a refusal.
  if (one_status == ClientHelloStatus::ok) FUZZ_CHECK(joined_status == ClientHelloStatus::ok && full == one);
  if (one_status == ClientHelloStatus::not_tls || one_status == ClientHelloStatus::not_client_hello) {
    FUZZ_CHECK(joined_status == one_status);
  }

  // Less scratch can only refuse as too large, never read differently.
  ClientHelloInfo small;
  const auto small_status = parse_client_hello(stream, small_scratch, small);
  check_views(small, data, size, small_scratch, kSmallScratchSize);
  if (joined_status == ClientHelloStatus::ok) {
    FUZZ_CHECK(small_status == ClientHelloStatus::too_large ||
               (small_status == ClientHelloStatus::ok && summary(small) == full));
  }

  if (joined_status == ClientHelloStatus::ok) {
    // The bytes it says it used are enough, and one byte fewer is a prefix still waiting.
    ClientHelloInfo again;
    FUZZ_CHECK(parse_client_hello(stream.first(full.stream_bytes_used), scratch, again) == ClientHelloStatus::ok);
    FUZZ_CHECK(summary(again) == full);
    FUZZ_CHECK(parse_client_hello(stream.first(full.stream_bytes_used - 1), scratch, again) ==
               ClientHelloStatus::incomplete);
  }
  return 0;
}

// libFuzzer target: parse_http_request over arbitrary client streams.
#include <cstring>
#include <string_view>
#include <vector>

#include "dataplane/parse/http_request_parser.h"
#include "dataplane/policy/storage_host.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;
using sluice::fuzz::inside;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  HttpRequestInfo info;
  const auto status = parse_http_request({data, size}, info);
  FUZZ_CHECK(std::strcmp(to_string(status), "unknown") != 0);
  for (std::string_view view : {info.method, info.target, info.host, info.path}) FUZZ_CHECK(inside(view, data, size));

  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool head_complete = text.find("\r\n\r\n") != std::string_view::npos;
  if (status == HttpRequestStatus::incomplete) FUZZ_CHECK(!head_complete);
  if (status != HttpRequestStatus::ok) return 0;

  FUZZ_CHECK(head_complete);
  FUZZ_CHECK(!info.method.empty() && !info.target.empty() && !info.host.empty());
  // Line ends split the head, so none can be inside a value (normalize_hostname judges the rest).
  for (char c : info.host) FUZZ_CHECK(c != '\r' && c != '\n');
  // The path is a piece of the target, before any query or fragment; a bucket read from it (the
  // storage judgement of a path-style request) is a piece of the path without '/', '%' or '.'
  // segments.
  if (!info.path.empty()) {
    FUZZ_CHECK(info.path.front() == '/');
    FUZZ_CHECK(info.path.data() >= info.target.data() &&
               info.path.data() + info.path.size() <= info.target.data() + info.target.size());
    FUZZ_CHECK(info.path.find_first_of("?#") == std::string_view::npos);
    for (StorageProvider provider : {StorageProvider::s3, StorageProvider::gcs}) {
      const std::string_view bucket = storage_bucket_in_path(provider, info.path);
      FUZZ_CHECK(inside(bucket, data, size));
      FUZZ_CHECK(bucket.find_first_of("/%\\") == std::string_view::npos && bucket != "." && bucket != "..");
    }
  }

  // A body after the head changes nothing: the verdict is taken on the head alone.
  constexpr std::string_view kBody = "POST / HTTP/1.1\r\nHost: other.example\r\n\r\n";
  std::vector<uint8_t> with_body(data, data + size);
  with_body.insert(with_body.end(), kBody.begin(), kBody.end());
  HttpRequestInfo again;
  FUZZ_CHECK(parse_http_request(with_body, again) == HttpRequestStatus::ok);
  FUZZ_CHECK(again.method == info.method && again.target == info.target && again.host == info.host &&
             again.port == info.port && again.path == info.path);
  return 0;
}

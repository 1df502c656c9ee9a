// libFuzzer target: the HTTP stream follower (read_http_framing, follow_http_body) over arbitrary
// heads and bodies. The first input byte picks the body's framing and how the bytes are cut.
#include <algorithm>
#include <cstring>

#include "dataplane/flow/http_stream_follower.h"
#include "dataplane/parse/http_request_parser.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

struct Run {
  HttpBodyStatus status = HttpBodyStatus::more;
  size_t consumed = 0;
};

// Follows `body` in pieces of `piece` bytes until it ends or is refused.
Run follow(const HttpFraming& framing, std::span<const uint8_t> body, size_t piece) {
  HttpBodyState state;
  begin_http_body(state, framing);
  Run run;
  if (state.phase == HttpBodyPhase::head) return Run{HttpBodyStatus::done, 0};
  while (run.consumed < body.size()) {
    const auto bytes = body.subspan(run.consumed, std::min(piece, body.size() - run.consumed));
    size_t used = 0;
    run.status = follow_http_body(state, bytes, used);
    FUZZ_CHECK(used <= bytes.size());
    FUZZ_CHECK(std::strcmp(to_string(run.status), "unknown") != 0);
    run.consumed += used;
    if (run.status != HttpBodyStatus::more) return run;
    FUZZ_CHECK(used == bytes.size());  // more: every byte was body
  }
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t mode = data[0];
  const std::span<const uint8_t> rest(data + 3, size - 3);

  // The head reading: any input that parses as a request head has named framing.
  if (const size_t head = http_head_length(rest); head) {
    HttpRequestInfo request;
    if (parse_http_request(rest.first(head), request) == HttpRequestStatus::ok) {
      const HttpFraming framing = read_http_framing(rest.first(head));
      FUZZ_CHECK(std::strcmp(to_string(framing.status), "unknown") != 0);
      FUZZ_CHECK(!(framing.chunked && framing.content_length));
    }
  }

  // The body: where it ends does not depend on how its bytes are cut into segments.
  HttpFraming framing;
  if (mode & 1) framing.chunked = true;
  else framing.content_length = (uint64_t(data[1]) << 8 | data[2]) + 1;
  const Run whole = follow(framing, rest, rest.size() ? rest.size() : 1);
  const Run cut = follow(framing, rest, size_t(mode >> 1) % 17 + 1);
  FUZZ_CHECK(whole.status == cut.status);
  FUZZ_CHECK(whole.consumed == cut.consumed);
  if (!framing.chunked && whole.status == HttpBodyStatus::done) FUZZ_CHECK(whole.consumed == framing.content_length);
  return 0;
}

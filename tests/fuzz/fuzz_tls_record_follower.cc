// libFuzzer target: the TLS record follower (follow_tls_records) over arbitrary client bytes
// after a ClientHello. The first input byte sets the ChangeCipherSpec state and how the bytes are
// cut.
#include <algorithm>
#include <cstring>

#include "dataplane/flow/tls_record_follower.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

struct Run {
  TlsRecordStatus status = TlsRecordStatus::more;
  size_t consumed = 0;
  TlsRecordState state;
};

Run follow(bool change_cipher_spec_seen, std::span<const uint8_t> stream, size_t piece) {
  Run run;
  run.state.change_cipher_spec_seen = change_cipher_spec_seen;
  while (run.consumed < stream.size()) {
    const auto bytes = stream.subspan(run.consumed, std::min(piece, stream.size() - run.consumed));
    size_t used = 0;
    run.status = follow_tls_records(run.state, bytes, used);
    FUZZ_CHECK(used <= bytes.size());
    FUZZ_CHECK(std::strcmp(to_string(run.status), "unknown") != 0);
    FUZZ_CHECK(run.state.prefix_bytes < sizeof run.state.prefix);
    FUZZ_CHECK(run.state.body_remaining <= kTlsMaxRecordBody);
    run.consumed += used;
    if (run.status != TlsRecordStatus::more) return run;
    FUZZ_CHECK(used == bytes.size());
  }
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool change_cipher_spec_seen = data[0] & 1;
  const std::span<const uint8_t> stream(data + 1, size - 1);
  const Run whole = follow(change_cipher_spec_seen, stream, stream.size() ? stream.size() : 1);
  const Run cut = follow(change_cipher_spec_seen, stream, size_t(data[0] >> 1) % 13 + 1);
  // Where a record, a hello or a refusal is found does not depend on the segment boundaries.
  FUZZ_CHECK(whole.status == cut.status);
  FUZZ_CHECK(whole.consumed == cut.consumed);
  FUZZ_CHECK(whole.state.body_remaining == cut.state.body_remaining);
  FUZZ_CHECK(whole.state.prefix_bytes == cut.state.prefix_bytes);
  if (whole.status == TlsRecordStatus::client_hello) {
    // The hello's record header and handshake header were the last bytes read.
    FUZZ_CHECK(whole.consumed >= kTlsRecordHeaderBytes + kTlsHandshakeHeaderBytes);
    const uint8_t* record = stream.data() + whole.consumed - kTlsRecordHeaderBytes - kTlsHandshakeHeaderBytes;
    FUZZ_CHECK(record[0] == kTlsHandshake && record[5] == 1);
  }
  return 0;
}

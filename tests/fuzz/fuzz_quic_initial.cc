// libFuzzer target: reading a client's QUIC Initial, on three inputs chosen by the first byte:
//   0: a protected datagram as it comes off the wire (headers, versions, protection, coalescing);
//   1: the plaintext frames of one Initial (frames, the CRYPTO stream, the ClientHello);
//   2: frames the target protects itself as a client would, then reads back: random bytes never
//      pass the AEAD tag, so this is how mutated frames reach the reader through the whole path.
#include <cstring>
#include <vector>

#include "dataplane/parse/tls_client_hello_parser.h"
#include "dataplane/quic/quic_crypto_stream.h"
#include "dataplane/quic/quic_initial_decryptor.h"
#include "dataplane/quic/quic_initial_frames.h"
#include "dataplane/quic/quic_initial_reader.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/unit/quic_initial_builder.h"

using namespace sluice;
using sluice::fuzz::inside;

namespace {

constexpr size_t kCapacity = 4096;  // the bound a worker would give a flow's CRYPTO stream
uint8_t stream_data[kCapacity];
uint8_t stream_present[QuicCryptoStream::present_bytes_for(kCapacity)];
uint8_t other_data[kCapacity];
uint8_t other_present[QuicCryptoStream::present_bytes_for(kCapacity)];

QuicInitialDecryptor& decryptor() {
  static QuicInitialDecryptor instance;
  FUZZ_CHECK(instance.ready());
  return instance;
}

// Whatever the stream holds, the ClientHello read from it stays inside it and is named.
void check_hello(const QuicCryptoStream& stream) {
  FUZZ_CHECK(stream.contiguous() <= kCapacity);
  const auto message = stream.first_handshake_message();
  if (message.empty()) return;
  FUZZ_CHECK(message.data() == stream_data && message.size() <= stream.contiguous());
  FUZZ_CHECK(!stream.first_handshake_message_too_large());
  ClientHelloInfo hello;
  const auto status = parse_client_hello_message(message, hello);
  FUZZ_CHECK(std::strcmp(to_string(status), "unknown") != 0);
  FUZZ_CHECK(status != ClientHelloStatus::incomplete);  // the whole message is there
  FUZZ_CHECK(inside(hello.server_name, stream_data, kCapacity) && inside(hello.first_alpn, stream_data, kCapacity));
  if (status == ClientHelloStatus::ok) FUZZ_CHECK(hello.stream_bytes_used == message.size());
}

void protected_datagram(std::span<const uint8_t> datagram) {
  QuicCryptoStream stream(stream_data, stream_present);
  QuicDatagramInfo info;
  const auto status = read_client_initial_datagram(decryptor(), datagram, stream, info);
  FUZZ_CHECK(std::strcmp(to_string(status), "unknown") != 0);
  if (status == QuicStatus::ok) FUZZ_CHECK(info.initial_packets > 0);
  FUZZ_CHECK(info.destination_connection_id_length <= kQuicMaxConnectionIdLength);
  check_hello(stream);
}

void plaintext_frames(std::span<const uint8_t> payload) {
  QuicCryptoStream stream(stream_data, stream_present);
  QuicFrameCounts counts;
  const auto status = read_initial_frames(payload, stream, counts);
  FUZZ_CHECK(std::strcmp(to_string(status), "unknown") != 0);
  FUZZ_CHECK(counts.padding_bytes + counts.ping <= payload.size());
  check_hello(stream);
}

// Input: a byte choosing the version and the DCID length (0..20), the DCID, then the frames.
void sealed_then_opened(std::span<const uint8_t> input) {
  if (input.empty()) return;
  test::InitialSpec spec;
  spec.version = (input[0] & 0x80) ? kQuicVersion2 : kQuicVersion1;
  spec.packet_number_length = size_t(input[0] >> 5 & 0x03) + 1;
  const size_t dcid_length = std::min<size_t>(input[0] & 0x1f, kQuicMaxConnectionIdLength);
  if (input.size() < 1 + dcid_length) return;
  spec.dcid.assign(input.begin() + 1, input.begin() + 1 + dcid_length);
  const auto frames = input.subspan(1 + dcid_length);
  if (frames.size() > 8000) return;  // the builder's two-byte Length
  spec.frames.assign(frames.begin(), frames.end());
  const test::QuicBytes packet = test::protect_initial(decryptor(), spec);
  FUZZ_CHECK(!packet.empty());

  QuicCryptoStream stream(stream_data, stream_present);
  QuicDatagramInfo info;
  const auto status = read_client_initial_datagram(decryptor(), packet, stream, info);
  // What came through the protection reads exactly as the same frames read directly.
  QuicCryptoStream direct(other_data, other_present);
  QuicFrameCounts counts;
  const auto direct_status = read_initial_frames(frames, direct, counts);
  if (spec.packet_number_length + frames.size() + 16 < 20) {
    FUZZ_CHECK(status == QuicStatus::packet_too_short);
    return;
  }
  FUZZ_CHECK(status == direct_status);
  FUZZ_CHECK(stream.contiguous() == direct.contiguous());
  FUZZ_CHECK(std::memcmp(stream_data, other_data, stream.contiguous()) == 0);
  if (status == QuicStatus::ok) {
    FUZZ_CHECK(info.initial_packets == 1 && info.frames.crypto == counts.crypto);
    FUZZ_CHECK(info.dcid().size() == spec.dcid.size());
  }
  check_hello(stream);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: protected_datagram(rest); break;
    case 1: plaintext_frames(rest); break;
    default: sealed_then_opened(rest); break;
  }
  return 0;
}

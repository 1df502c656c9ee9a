#include "bench/quic_traffic.h"

#include "tests/unit/quic_initial_builder.h"

namespace sluice::bench {

std::vector<Bytes> quic_initials(const std::string& sni, uint64_t connection_id) {
  // QUIC carries the handshake message without TLS's 5-byte record header.
  const Bytes record = client_hello(sni, HelloSize::post_quantum);
  const Bytes message(record.begin() + 5, record.end());
  test::InitialSpec spec;
  spec.dcid.clear();
  for (int i = 7; i >= 0; --i) spec.dcid.push_back(static_cast<uint8_t>(connection_id >> (8 * i)));
  spec.scid = {0x5c, 0x1d};
  static QuicInitialDecryptor keys;  // the sender's side: key derivation for the builder (one, not one a connection)
  const size_t half = message.size() / 2;
  std::vector<Bytes> datagrams;
  for (size_t part = 0; part < 2; ++part) {
    const size_t from = part == 0 ? 0 : half, to = part == 0 ? half : message.size();
    spec.packet_number = static_cast<uint32_t>(part);
    spec.frames = test::crypto_frame(from, {message.data() + from, to - from});
    // header (1 + 4 + 1 + 8 + 1 + 2 + 1 + 2) + packet number (4) + tag (16)
    const size_t overhead = 1 + 4 + 1 + spec.dcid.size() + 1 + spec.scid.size() + 1 + 2 + 4 + 16;
    if (overhead + spec.frames.size() < kQuicInitialPayload) {
      const auto padding = test::padding_frames(kQuicInitialPayload - overhead - spec.frames.size());
      spec.frames.insert(spec.frames.end(), padding.begin(), padding.end());
    }
    Bytes datagram = test::protect_initial(keys, spec);
    if (datagram.empty()) return {};
    datagrams.push_back(std::move(datagram));
  }
  return datagrams;
}

}  // namespace sluice::bench

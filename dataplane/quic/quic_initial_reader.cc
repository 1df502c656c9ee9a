#include "dataplane/quic/quic_initial_reader.h"

#include <algorithm>
#include <cstring>

namespace sluice {

namespace {

bool same_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

QuicStatus read_client_initial_datagram(QuicInitialDecryptor& decryptor, std::span<const uint8_t> datagram,
                                        QuicCryptoStream& stream, QuicDatagramInfo& out) {
  out = QuicDatagramInfo{};
  if (datagram.empty()) return QuicStatus::truncated;
  size_t pos = 0;
  while (pos < datagram.size()) {
    const auto rest = datagram.subspan(pos);
    QuicLongHeader header;
    const QuicStatus parsed = parse_quic_long_header(rest, header);
    if (pos == 0) {
      out.version = header.version;
      const auto dcid = header.destination_connection_id;
      if (!dcid.empty() && dcid.size() <= out.destination_connection_id.size()) {
        std::memcpy(out.destination_connection_id.data(), dcid.data(), dcid.size());
        out.destination_connection_id_length = uint8_t(dcid.size());
      }
      const auto scid = header.source_connection_id;
      if (!scid.empty() && scid.size() <= out.source_connection_id.size()) {
        std::memcpy(out.source_connection_id.data(), scid.data(), scid.size());
        out.source_connection_id_length = uint8_t(scid.size());
      }
    }
    if (parsed == QuicStatus::not_long_header && pos > 0) break;  // a 1-RTT packet ends the datagram
    if (parsed != QuicStatus::ok) return parsed;
    // A client sends no Retry, and its first flight starts with an Initial.
    if (header.type == QuicPacketType::retry || (pos == 0 && header.type != QuicPacketType::initial)) {
      return QuicStatus::not_initial;
    }
    // RFC 9000 12.2: a coalesced packet for another connection is ignored, not read.
    if (header.type != QuicPacketType::initial || header.version != out.version ||
        !same_bytes(header.destination_connection_id, out.dcid())) {
      ++out.skipped_packets;
      pos += header.packet_length;
      continue;
    }
    QuicOpenedPacket opened;
    if (auto status = decryptor.open(rest, header, opened); status != QuicStatus::ok) return status;
    if (auto status = read_initial_frames(opened.payload, stream, out.frames); status != QuicStatus::ok) return status;
    ++out.initial_packets;
    pos += header.packet_length;
  }
  return out.initial_packets > 0 ? QuicStatus::ok : QuicStatus::no_initial;
}

}  // namespace sluice

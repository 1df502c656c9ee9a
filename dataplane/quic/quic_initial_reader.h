// Reads one UDP datagram a QUIC client sent at the start of a connection: each coalesced packet in
// turn (RFC 9000 12.2); Initial packets are opened and their CRYPTO frames added to the caller's
// stream, from which the caller reads the ClientHello (QuicCryptoStream::first_handshake_message,
// then parse_client_hello_message). The caller keeps the stream across the datagrams of a flow, so
// a ClientHello split over several Initials in any order is joined there.
// No allocation: the decryptor's buffers and the caller's stream memory are all it uses.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "dataplane/quic/quic_crypto_stream.h"
#include "dataplane/quic/quic_initial_decryptor.h"
#include "dataplane/quic/quic_initial_frames.h"
#include "dataplane/quic/quic_packet_header.h"
#include "dataplane/quic/quic_status.h"

namespace sluice {

struct QuicDatagramInfo {
  uint32_t version = 0;  // of the first packet (set for unknown_version too)
  // Of the first packet, which every Initial of the connection must carry (RFC 9000 7.2) until the
  // server answers; the caller compares it across datagrams.
  std::array<uint8_t, kQuicMaxConnectionIdLength> destination_connection_id{};
  uint8_t destination_connection_id_length = 0;
  // Of the first packet: the client's own connection ID, which a server's Retry or Version
  // Negotiation must carry as its DCID (RFC 9000 17.2.1, 17.2.5).
  std::array<uint8_t, kQuicMaxConnectionIdLength> source_connection_id{};
  uint8_t source_connection_id_length = 0;
  uint16_t initial_packets = 0;  // Initials opened and read
  uint16_t skipped_packets = 0;  // coalesced 0-RTT or Handshake packets, or Initials for another DCID
  QuicFrameCounts frames;

  std::span<const uint8_t> dcid() const { return {destination_connection_id.data(), destination_connection_id_length}; }
  std::span<const uint8_t> scid() const { return {source_connection_id.data(), source_connection_id_length}; }
};

// ok when the datagram starts with an Initial and every Initial in it opened and held only frames
// an Initial may carry. Otherwise the status of the first packet or frame that failed (CRYPTO data
// of Initials before it has been added to `stream`). A short-header packet after the long ones ends
// the datagram, as RFC 9000 12.2 says it must.
QuicStatus read_client_initial_datagram(QuicInitialDecryptor& decryptor, std::span<const uint8_t> datagram,
                                        QuicCryptoStream& stream, QuicDatagramInfo& out);

}  // namespace sluice

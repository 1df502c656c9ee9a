// Inspect stage, QUIC: a flow to a QUIC port is judged on the ClientHello its client sends in
// Initial packets (docs/QUIC.md). Each client datagram is read into the flow's CRYPTO stream slot
// (any order, coalesced, across datagrams); once the first handshake message is whole it is judged
// by the same ClientHello rules as TLS over TCP. While undecided nothing leaves: the Initial
// datagrams are held in the flow's slot (inspect_hold.cc) and leave in arrival order ahead of the
// one that completes the ClientHello on an allow (or a DRY_RUN denial), or are freed on a deny;
// any other datagram is dropped (ENFORCE). Forwarded early, an Initial would carry its CRYPTO
// bytes and padding to a server the policy then denies. No allocation here, nor
// in the decryptor, which derives a new DCID's keys once per connection (quic_initial_decryptor.h).
#include <algorithm>
#include <cstring>

#include "dataplane/quic/quic_initial_reader.h"
#include "dataplane/worker/stage/inspect.h"

namespace sluice {

namespace {

constexpr size_t kMinInitialDatagram = 1200;  // RFC 9000 14.1: a client pads every Initial datagram
constexpr size_t kMinFirstDcid = 8;           // RFC 9000 7.2: the client's first, unpredictable DCID

Reason reason_for(QuicStatus status) {
  switch (status) {
    case QuicStatus::not_long_header:
    case QuicStatus::not_initial:
    case QuicStatus::no_initial: return Reason::quic_not_initial;
    case QuicStatus::version_negotiation:
    case QuicStatus::unknown_version: return Reason::quic_unknown_version;
    case QuicStatus::decrypt_failed:
    case QuicStatus::crypto_unavailable: return Reason::quic_undecryptable;
    case QuicStatus::crypto_conflict: return Reason::quic_crypto_conflict;
    case QuicStatus::crypto_too_large: return Reason::quic_crypto_too_large;
    case QuicStatus::ok:
    case QuicStatus::truncated:
    case QuicStatus::connection_id_too_long:
    case QuicStatus::packet_too_short:
    case QuicStatus::packet_too_long:
    case QuicStatus::reserved_bits_set:
    case QuicStatus::frame_malformed:
    case QuicStatus::frame_not_allowed: break;
  }
  return Reason::quic_malformed;
}

bool same_bytes(std::span<const uint8_t> a, const uint8_t* b, size_t b_length) {
  return a.size() == b_length && std::equal(a.begin(), a.end(), b);
}

}  // namespace

Decision Inspector::inspect_quic_client(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow,
                                        FlowName& name, const FlowFacts& facts, uint64_t now_tsc) {
  const auto& parsed = packet.parsed;
  const auto datagram = packet.frame.subspan(parsed.payload_offset, parsed.payload_length);
  Decision deny;
  deny.decided = true;
  deny.type = DestinationType::quic_sni;

  const bool started = flow.reassembly_slot >= 0;  // an Initial of this flow was read before
  if (!started) {
    flow.reassembly_slot = quic_slots_.acquire();
    if (flow.reassembly_slot < 0) {
      deny.reason = Reason::quic_capacity_exhausted;  // counted under its reason
      return deny;
    }
  }
  QuicSlot& slot = quic_slots_.slot(flow.reassembly_slot);
  QuicDatagramInfo info;
  const QuicStatus status = read_client_initial_datagram(decryptor_, datagram, slot.stream, info);
  if (started && (status == QuicStatus::not_long_header || status == QuicStatus::not_initial)) {
    // 0-RTT or 1-RTT data before the verdict: it must not reach the server, but the ClientHello
    // the flow is waiting for may still come. DRY_RUN never blocks: there it passes.
    packet.pending_drop = policy.attachments[flow.attachment_index].enforcement == Enforcement::enforce;
    packet.pending_drop_reason = Reason::quic_not_initial;
    return Decision{};
  }
  if (status != QuicStatus::ok) {
    deny.reason = reason_for(status);
    return judge_nameless(policy, facts, flow, deny);  // no QUIC to read a name from
  }
  if (datagram.size() < kMinInitialDatagram) {
    deny.reason = Reason::quic_initial_too_small;
    return deny;
  }
  // Every Initial of the attempt carries one DCID; the first is at least 8 bytes (a Retry's
  // chosen one may be shorter). A changed DCID would mean keys of another connection.
  const auto dcid = info.dcid();
  if (slot.dcid_length == 0) {
    if (dcid.size() < kMinFirstDcid) {
      deny.reason = Reason::quic_malformed;
      return deny;
    }
    std::memcpy(slot.dcid.data(), dcid.data(), dcid.size());
    slot.dcid_length = uint8_t(dcid.size());
  } else if (!same_bytes(dcid, slot.dcid.data(), slot.dcid_length)) {
    deny.reason = Reason::quic_malformed;
    return deny;
  }

  if (slot.version == 0) {
    slot.version = info.version;
    const auto scid = info.scid();
    std::memcpy(slot.scid.data(), scid.data(), scid.size());
    slot.scid_length = uint8_t(scid.size());
  }

  const auto message = slot.stream.first_handshake_message();
  if (message.empty()) {
    if (slot.stream.first_handshake_message_too_large()) {
      deny.reason = Reason::quic_crypto_too_large;
      return deny;
    }
    // The ClientHello is not whole yet: this Initial waits for the verdict in the flow's hold.
    // A flow that cannot hold it more is denied: it may not pass, and dropped alone it would leave
    // the stream with bytes the server never gets.
    if (!can_hold(flow, uint32_t(packet.frame.size()))) {
      deny.reason = Reason::quic_held_datagrams_full;
      return deny;
    }
    packet.hold = true;
    return Decision{};
  }
  ClientHelloInfo hello;
  ClientHelloStatus hello_status = parse_client_hello_message(message, hello);
  // The message is whole: a parser asking for more means its lengths disagree.
  if (hello_status == ClientHelloStatus::incomplete) hello_status = ClientHelloStatus::malformed;
  return judge_client_hello(policy, hello_status, hello, DestinationType::quic_sni, packet, flow, name, facts,
                            now_tsc);
}

// The client starts its connection again: the Initials it sent so far are abandoned, and their
// CRYPTO bytes, forgotten with the stream, will never be judged. Released with the verdict on the
// new attempt's ClientHello, they would carry unjudged bytes (another name, a marker) out.
void Inspector::discard_abandoned_attempt(const FlowEntry& flow) {
  discard_held(flow, Reason::held_segment_discarded);
}

// A server's datagram on a pending flow. Only what a client would act on changes what the flow
// waits for; whatever the client discards (RFC 9000 6.2, 17.2.5.2) changes nothing here either, so
// the flow never expects a DCID or a restart the client will not make.
void Inspector::inspect_quic_server(const PacketContext& packet, FlowEntry& flow) {
  if (flow.reassembly_slot < 0) return;
  const auto& parsed = packet.parsed;
  const auto datagram = packet.frame.subspan(parsed.payload_offset, parsed.payload_length);
  QuicLongHeader header;
  const QuicStatus status = parse_quic_long_header(datagram, header);
  QuicSlot& slot = quic_slots_.slot(flow.reassembly_slot);
  if (slot.dcid_length == 0 || slot.version == 0) return;  // no client Initial of this attempt yet
  const auto client_dcid = std::span<const uint8_t>(slot.dcid.data(), slot.dcid_length);
  const auto client_scid = std::span<const uint8_t>(slot.scid.data(), slot.scid_length);
  // Both answers echo the client's connection IDs: a Version Negotiation swaps them (17.2.1), a
  // Retry names the client's SCID as its DCID (17.2.5).
  if (!same_bytes(header.destination_connection_id, client_scid.data(), client_scid.size())) return;

  if (status == QuicStatus::version_negotiation) {
    // 6.2: discarded after any other server packet, after an earlier one, when it lists the
    // version the client chose, or when it does not echo the DCID. Otherwise the client may start
    // again in a version the server lists, with a new DCID and its ClientHello from offset 0.
    bool lists = false;
    if (slot.server_answered || slot.negotiated ||
        !same_bytes(header.source_connection_id, client_dcid.data(), client_dcid.size()) ||
        read_version_negotiation(datagram, header, slot.version, lists) != QuicStatus::ok || lists) {
      return;
    }
    slot.restart();
    slot.negotiated = true;
    discard_abandoned_attempt(flow);
    return;
  }
  if (status != QuicStatus::ok || header.version != slot.version) return;
  if (header.type != QuicPacketType::retry) {
    slot.server_answered = true;  // an Initial or Handshake: no Retry or VN counts after it
    return;
  }
  // 17.2.5.2: at most one Retry an attempt, none after a server Initial; discarded with an empty
  // token, a SCID equal to the DCID the client used, or an integrity tag that does not verify
  // (RFC 9001 5.8). Otherwise the client's next Initials go to the Retry's SCID, with keys from
  // it (RFC 9001 5.2), and carry its ClientHello again from offset 0.
  const auto new_dcid = header.source_connection_id;
  if (slot.server_answered || header.token.empty() || new_dcid.empty() ||
      same_bytes(new_dcid, client_dcid.data(), client_dcid.size()) ||
      decryptor_.verify_retry(datagram, header, client_dcid) != QuicStatus::ok) {
    return;
  }
  const uint32_t version = slot.version;
  const auto scid = slot.scid;
  const uint8_t scid_length = slot.scid_length;
  slot.restart();
  discard_abandoned_attempt(flow);
  std::memcpy(slot.dcid.data(), new_dcid.data(), new_dcid.size());
  slot.dcid_length = uint8_t(new_dcid.size());
  slot.version = version;  // the same attempt goes on: same version, same client SCID
  slot.scid = scid;
  slot.scid_length = scid_length;
  slot.server_answered = true;
}

}  // namespace sluice

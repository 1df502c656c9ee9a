#include "dataplane/worker/stage/follow.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "dataplane/domain/hostname.h"
#include "dataplane/parse/http_request_parser.h"
#include "dataplane/parse/tcp_checksum.h"
#include "dataplane/parse/tls_client_hello_parser.h"
#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/stage/judge.h"

namespace sluice {

namespace {

// As in the judge stage: a TTL of 1 dies at the next router (docs/POLICY.md, threat model).
constexpr uint8_t kLowestArrivingTtl = 1;
constexpr uint8_t kTlsHandshakeByte = 22;
constexpr uint32_t kHelloPrefixBytes = kTlsRecordHeaderBytes + kTlsHandshakeHeaderBytes;

bool seq_before(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }

// `raw` normalised into `out`; a name that does not normalise is kept raw (cut) for the record.
bool normalised_name(std::string_view raw, FlowName& out) {
  size_t length = 0;
  const bool ok = !raw.empty() && normalize_hostname(raw, out.bytes, length) == HostnameStatus::ok;
  if (!ok) {
    length = std::min(raw.size(), sizeof out.bytes);
    if (length) std::memcpy(out.bytes, raw.data(), length);
  }
  out.length = uint8_t(length);
  return ok;
}

bool same_name(const FlowName& a, const FlowName& b) {
  return a.length == b.length && std::memcmp(a.bytes, b.bytes, a.length) == 0;
}

Reason reason_for(HttpRequestStatus status) {
  switch (status) {
    case HttpRequestStatus::ok:
    case HttpRequestStatus::incomplete: break;
    case HttpRequestStatus::not_http: return Reason::http_not_request;
    case HttpRequestStatus::malformed: return Reason::http_malformed;
    case HttpRequestStatus::missing_host: return Reason::http_missing_host;
    case HttpRequestStatus::duplicate_host: return Reason::http_duplicate_host;
    case HttpRequestStatus::host_mismatch: return Reason::http_host_mismatch;
  }
  return Reason::count;
}

Reason reason_for(HttpFramingStatus status) {
  switch (status) {
    case HttpFramingStatus::ok: break;
    case HttpFramingStatus::ambiguous:
    case HttpFramingStatus::content_length_invalid: return Reason::http_framing_ambiguous;
    case HttpFramingStatus::transfer_encoding_unsupported: return Reason::http_transfer_encoding_unsupported;
  }
  return Reason::count;
}

}  // namespace

StreamFollower::StreamFollower(const PacketProcessorSetup& setup, StreamReassembler& reassembler,
                               HeldSegments& held)
    : setup_(setup), reassembler_(reassembler), held_(held) {
  // calloc: zeroed pages the kernel maps on first touch, so unused positions cost no memory.
  const size_t positions = setup_.flows ? setup_.flows->position_count() : 0;
  states_.reset(static_cast<FollowState*>(std::calloc(std::max<size_t>(positions, 1), sizeof(FollowState))));
  hello_scratch_.reset(new uint8_t[setup_.tls_max_client_hello_bytes]);
  stream_copy_.reset(new uint8_t[reassembler_.slot_bytes()]);
}

Decision StreamFollower::begin(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow, int32_t position,
                               FlowName& name, const Decision& allowed, bool& hold, ReleasedPieces& released) {
  packet.followed = true;
  FollowState& state = states_.get()[position];
  state = FollowState{};
  state.flow_id = flow.flow_id;
  state.tls = flow.inspection == PortClass::tls;
  state.first = true;
  const auto& parsed = packet.parsed;
  std::span<const uint8_t> stream;
  if (flow.reassembly_slot >= 0) {
    // The inspect stage gathered the message in this slot: it stays, holding what was judged.
    state.message_seq = state.next_seq = reassembler_.base_seq(flow.reassembly_slot);
    state.collecting = true;
    // Read from a copy: a pipelined message after the first takes a slot of its own (perhaps
    // this one, freed), which must not be filled from its own bytes.
    const auto held = reassembler_.contiguous(flow.reassembly_slot);
    std::memcpy(stream_copy_.get(), held.data(), held.size());
    stream = {stream_copy_.get(), held.size()};
  } else {
    // Judged where it lay, in this one segment (data on a SYN starts one past its sequence).
    // Held in a slot when one is free; without one it is followed all the same, unheld.
    state.next_seq = parsed.tcp_seq + ((parsed.tcp_flags & kTcpSyn) ? 1 : 0);
    if (may_hold()) start_collecting(state, flow, state.next_seq, released);
    stream = packet.frame.subspan(parsed.payload_offset, parsed.payload_length);
  }
  const Judging judging{policy, packet.from_initiator ? parsed.dst_port : parsed.src_port};
  Decision decision = feed(judging, state, flow, name, stream, released);
  if (!decision.decided) hold = must_hold(state, flow, state.next_seq, uint32_t(packet.frame.size()), decision);
  return decision.decided ? decision : allowed;
}

FollowOutcome StreamFollower::follow(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow,
                                     int32_t position, FlowName& name, ReleasedPieces& released) {
  FollowOutcome outcome;
  FollowState& state = states_.get()[position];
  // Allowed without begin() (a DRY_RUN denial allowed by a reload): where its messages start is
  // unknown, so it is not followed (docs/POLICY.md).
  if (state.flow_id != flow.flow_id) return outcome;
  const auto& parsed = packet.parsed;
  if (!packet.from_initiator) {
    // What the server acknowledged, it has: a retransmission of it cannot replace it.
    if (state.holding && (parsed.tcp_flags & kTcpAck) && !seq_before(parsed.tcp_ack, state.held_end))
      release(state, flow, released);
    return outcome;
  }
  if (parsed.payload_length == 0 || (parsed.tcp_flags & kTcpRst)) return outcome;
  // What is followed must be what the server gets (as before the verdict).
  if (parsed.ttl <= kLowestArrivingTtl) {
    outcome.drop = Reason::ttl_too_low;
    return outcome;
  }
  if (!tcp_checksum_ok(packet.frame, parsed)) {
    outcome.drop = Reason::tcp_checksum_bad;
    return outcome;
  }
  uint32_t seq = parsed.tcp_seq + ((parsed.tcp_flags & kTcpSyn) ? 1 : 0);
  const uint32_t end_seq = seq + parsed.payload_length;
  auto bytes = packet.frame.subspan(parsed.payload_offset, parsed.payload_length);
  if (seq_before(state.next_seq, seq)) {
    // Beyond a gap: the framing in between is unknown. The client sends it again in order.
    outcome.drop = Reason::tcp_stream_gap;
    return outcome;
  }
  if (seq_before(seq, state.next_seq)) {
    const size_t old = std::min<size_t>(state.next_seq - seq, bytes.size());
    if (!agrees_with_held(flow, seq, bytes.first(old))) {
      outcome.decision = deny(state, Reason::tcp_overlap_conflict);
      return outcome;
    }
    bytes = bytes.subspan(old);
    // A repeat of bytes of a later message still held brings nothing it may carry out before the
    // message's verdict (as before a first verdict); a repeat of older bytes passes as before.
    if (bytes.empty() && state.collecting && !state.first && seq_before(state.message_seq, state.next_seq) &&
        seq_before(state.message_seq, seq + uint32_t(old))) {
      outcome.drop = Reason::tcp_segment_outside_message;
      return outcome;
    }
  }
  // A reset for the far end points at the first byte it has not been sent: the first held piece's
  // while a later message is being gathered.
  packet.onward_seq = state.next_seq;
  if (flow.reassembly_slot >= 0 && held_.held(flow.reassembly_slot))
    packet.onward_seq = reassembler_.base_seq(flow.reassembly_slot) + uint32_t(held_.first_offset(flow.reassembly_slot));
  if (!bytes.empty()) outcome.decision = feed({policy, parsed.dst_port}, state, flow, name, bytes, released);
  if (!outcome.decision.decided)
    outcome.hold = must_hold(state, flow, end_seq, uint32_t(packet.frame.size()), outcome.decision);
  return outcome;
}

// Nothing of a later message leaves before it is judged: a packet that carries bytes of one still
// being gathered (with whatever came before them in the packet) waits in its slot, as a first
// message's pieces do. `end_seq`: one past the packet's last byte.
bool StreamFollower::must_hold(const FollowState& state, const FlowEntry& flow, uint32_t end_seq,
                               uint32_t frame_bytes, Decision& refused) const {
  if (!state.collecting || state.first || flow.reassembly_slot < 0 || !seq_before(state.message_seq, end_seq))
    return false;
  if (held_.fits(flow.reassembly_slot, frame_bytes)) return true;
  refused = deny(state, Reason::held_segments_full);
  return false;
}

// Bytes from state.next_seq on, in order.
Decision StreamFollower::feed(const Judging& judging, FollowState& state, FlowEntry& flow, FlowName& name,
                              std::span<const uint8_t> bytes, ReleasedPieces& released) {
  while (!bytes.empty()) {
    size_t used = 0;
    if (state.collecting) {
      Decision decision = collect(judging, state, flow, name, bytes, used, released);
      if (decision.decided) return decision;
    } else if (!state.tls) {
      if (state.http.phase == HttpBodyPhase::head) {
        // The server may have switched protocols after the request (and its body) before.
        if (state.upgraded) return deny(state, Reason::http_upgrade_not_followed);
        // After an allowed CONNECT the proxy's tunnel carries TLS to the target; an HTTP request
        // instead is the client trying again (after a 407, say).
        if (state.connect_allowed && bytes[0] == kTlsHandshakeByte) {
          state.tls = true;
          state.tunnel = true;
          state.tls_records = TlsRecordState{};
          continue;
        }
        const size_t head = http_head_length(bytes);
        const bool whole = head && head <= setup_.http_max_head_bytes;
        if ((!whole || may_hold()) && start_collecting(state, flow, state.next_seq, released)) continue;
        // No slot to spare: a head whole in this segment is judged where it lies (and not held
        // for comparison); only one that needs gathering is refused (fail closed).
        if (!whole) return deny(state, Reason::reassembly_capacity_exhausted);
        if (Decision decision = judge_head(judging, state, flow, name, bytes.first(head)); decision.decided)
          return decision;
        state.first = false;
        used = head;
      } else if (follow_http_body(state.http, bytes, used) == HttpBodyStatus::chunk_malformed) {
        return deny(state, Reason::http_chunk_malformed);
      }
    } else {
      const bool at_boundary = state.tls_records.prefix_bytes == 0 && state.tls_records.body_remaining == 0;
      if (state.tunnel && at_boundary && bytes[0] != kTlsHandshakeByte)
        return deny(state, Reason::tls_not_client_hello);
      // In a tunnel, records are read a prefix at a time until the first one proves a hello.
      const auto input =
          state.tunnel ? bytes.first(std::min<size_t>(bytes.size(), kHelloPrefixBytes - state.tls_records.prefix_bytes))
                       : bytes;
      switch (follow_tls_records(state.tls_records, input, used)) {
        case TlsRecordStatus::more:
          // In a tunnel the first record must start a ClientHello: its prefix was read and did not.
          if (state.tunnel && state.tls_records.prefix_bytes == 0) return deny(state, Reason::tls_not_client_hello);
          break;
        case TlsRecordStatus::not_tls: return deny(state, Reason::tls_not_record);
        case TlsRecordStatus::handshake_unreadable: return deny(state, Reason::tls_second_hello_mismatch);
        case TlsRecordStatus::client_hello: {
          // The hello's record began kHelloPrefixBytes back, perhaps in an earlier segment: the
          // state kept those bytes, so the slot starts with them.
          const uint32_t record_seq = state.next_seq + uint32_t(used) - kHelloPrefixBytes;
          const uint32_t record_bytes =
              kTlsRecordHeaderBytes + (uint32_t(state.tls_records.prefix[3]) << 8 | state.tls_records.prefix[4]);
          const bool whole = used >= kHelloPrefixBytes && bytes.size() - (used - kHelloPrefixBytes) >= record_bytes;
          if ((!whole || may_hold()) && start_collecting(state, flow, record_seq, released)) {
            reassembler_.add(flow.reassembly_slot, record_seq, {state.tls_records.prefix, kHelloPrefixBytes},
                             setup_.tls_max_client_hello_bytes);
            break;
          }
          // No slot to spare: a hello whole in this segment is judged where it lies (not held).
          if (used < kHelloPrefixBytes) return deny(state, Reason::reassembly_capacity_exhausted);
          size_t message_bytes = 0;
          const size_t start = used - kHelloPrefixBytes;
          if (Decision decision = judge_hello(state, name, bytes.subspan(start), message_bytes); decision.decided)
            return decision;
          if (message_bytes == 0) return deny(state, Reason::reassembly_capacity_exhausted);
          state.first = false;
          used = start + message_bytes;
          break;
        }
      }
    }
    state.next_seq += uint32_t(used);
    bytes = bytes.subspan(used);
  }
  return Decision{};
}

// Gathers the message in the flow's slot; judges it once complete. `used`: bytes of `bytes` that
// belong to it.
Decision StreamFollower::collect(const Judging& judging, FollowState& state, FlowEntry& flow, FlowName& name,
                                 std::span<const uint8_t> bytes, size_t& used, ReleasedPieces& released) {
  const uint32_t bound = state.tls ? setup_.tls_max_client_hello_bytes : setup_.http_max_head_bytes;
  const uint32_t offset = state.next_seq - state.message_seq;
  const size_t take = std::min<size_t>(bytes.size(), bound > offset ? bound - offset : 0);
  const int32_t slot = flow.reassembly_slot;
  // The first message's bytes may be in the slot already: the same bytes again agree.
  if (reassembler_.add(slot, state.next_seq, bytes.first(take), bound) != ReassemblyResult::ok)
    return deny(state, Reason::tcp_overlap_conflict);
  const auto stream = reassembler_.contiguous(slot);
  size_t message_bytes = 0;
  Decision decision;
  if (state.tls) {
    decision = judge_hello(state, name, stream, message_bytes);
  } else {
    message_bytes = http_head_length(stream);
    if (message_bytes) {
      decision = judge_head(judging, state, flow, name, stream.first(message_bytes));
    } else {
      // A prefix that can never become a request is refused now, not at the bound.
      HttpRequestInfo request;
      const Reason refused = reason_for(parse_http_request(stream, request));
      if (refused != Reason::count) return deny(state, refused);
      if (stream.size() >= bound) return deny(state, Reason::http_head_too_large);
    }
  }
  if (decision.decided) return decision;
  if (message_bytes == 0) {  // incomplete: every byte taken is the message's
    used = take;
    return decision;
  }
  used = state.message_seq + uint32_t(message_bytes) - state.next_seq;
  // Judged and allowed: the pieces that carried it go ahead of this packet.
  take_held(flow, released);
  state.collecting = false;
  state.holding = true;
  state.held_end = state.message_seq + uint32_t(message_bytes);
  state.first = false;
  return decision;
}

// A complete request head. The connection stays with the host it was allowed for: a client
// opens one connection per host, so a request naming another host (even an allowed one) is an
// attempt to reach past the judged name (docs/POLICY.md).
Decision StreamFollower::judge_head(const Judging& judging, FollowState& state, const FlowEntry& flow, FlowName& name,
                                    std::span<const uint8_t> head) {
  HttpRequestInfo request;
  const HttpRequestStatus status = parse_http_request(head, request);
  if (const Reason refused = reason_for(status); refused != Reason::count) return deny(state, refused);
  const HttpFraming framing = read_http_framing(head);
  if (!state.first) {
    FlowName asked;
    const bool ok = normalised_name(request.host, asked);
    if (!ok || !same_name(asked, name)) {
      name = asked;  // the record names the host asked for
      return deny(state, ok ? Reason::http_host_changed : Reason::http_invalid_host);
    }
    // A later CONNECT only where the first was one (to the named proxy) and for the same target.
    if (framing.connect && !state.connect_allowed) return deny(state, Reason::http_connect_not_allowed);
    // Each request to a storage path-style endpoint names its own bucket (the first was judged
    // by the inspect stage).
    const CompiledRuleset& rules = judging.policy.policies[flow.policy_index];
    if (!framing.connect && !rules.storage_endpoints.empty()) {
      Decision decision;
      decision.allowed = true;
      if (const auto* endpoint = rules.storage_endpoint_for({name.bytes, name.length}, judging.port,
                                                            judging.policy.scratch[setup_.worker_index])) {
        decision.storage_endpoint = endpoint->provider;
        judge_storage_path(rules, request.path, decision);
        if (!decision.allowed) {
          Decision denied = deny(state, decision.reason);
          denied.keep_path(decision.kept_path());
          return denied;
        }
      }
    }
  }
  if (const Reason refused = reason_for(framing.status); refused != Reason::count) return deny(state, refused);
  if (state.first) state.connect_allowed = framing.connect;
  state.upgraded = framing.upgrade;
  begin_http_body(state.http, framing);
  return Decision{};
}

// A ClientHello gathered from its first record. A later hello must name the server the
// connection was allowed for: a HelloRetryRequest's second hello does (RFC 8446 4.1.2), and a
// CONNECT tunnel's first hello must name the CONNECT's target.
Decision StreamFollower::judge_hello(FollowState& state, FlowName& name, std::span<const uint8_t> stream,
                                     size_t& message_bytes) {
  ClientHelloInfo hello;
  const ClientHelloStatus status =
      parse_client_hello(stream, {hello_scratch_.get(), setup_.tls_max_client_hello_bytes}, hello);
  const uint32_t bound = setup_.tls_max_client_hello_bytes;
  if (status == ClientHelloStatus::incomplete && stream.size() < bound) return Decision{};
  if (state.first) {
    // Judged by the inspect stage; only its length is needed here.
    if (status != ClientHelloStatus::ok) return deny(state, Reason::tls_malformed);
  } else {
    FlowName asked;
    const bool ok = status == ClientHelloStatus::ok && hello.server_name_count >= 1 &&
                    normalised_name(hello.server_name, asked);
    if (!ok || !same_name(asked, name)) {
      if (status == ClientHelloStatus::ok) name = asked;
      return deny(state, Reason::tls_second_hello_mismatch);
    }
  }
  message_bytes = hello.stream_bytes_used;
  // The records after the hello start afresh; a ChangeCipherSpec seen stays seen.
  const bool change_cipher_spec_seen = state.tls_records.change_cipher_spec_seen;
  state.tls_records = TlsRecordState{};
  state.tls_records.change_cipher_spec_seen = change_cipher_spec_seen;
  state.tunnel = false;
  return Decision{};
}

// A new message starts at `seq`: the slot of the one before it (judged, perhaps not yet
// acknowledged) gives way to it.
bool StreamFollower::start_collecting(FollowState& state, FlowEntry& flow, uint32_t seq,
                                      ReleasedPieces& released) {
  release(state, flow, released);
  flow.reassembly_slot = reassembler_.acquire(seq);
  if (flow.reassembly_slot < 0) {
    bump(setup_.counters->reassembly_refused);
    return false;
  }
  state.collecting = true;
  state.message_seq = seq;
  return true;
}

// Retransmitted bytes (all before state.next_seq): where the slot holds the same positions,
// they must be the same bytes.
bool StreamFollower::agrees_with_held(const FlowEntry& flow, uint32_t seq, std::span<const uint8_t> bytes) {
  if (flow.reassembly_slot < 0 || bytes.empty()) return true;
  const uint32_t base = reassembler_.base_seq(flow.reassembly_slot);
  const size_t held = reassembler_.contiguous(flow.reassembly_slot).size();
  // Clip to [base, base + held): bytes outside what the slot holds are not compared.
  int64_t begin = int32_t(seq - base);
  int64_t end = begin + int64_t(bytes.size());
  const int64_t clipped_begin = std::max<int64_t>(begin, 0);
  const int64_t clipped_end = std::min<int64_t>(end, int64_t(held));
  if (clipped_begin >= clipped_end) return true;
  const auto part = bytes.subspan(size_t(clipped_begin - begin), size_t(clipped_end - clipped_begin));
  return reassembler_.add(flow.reassembly_slot, base + uint32_t(clipped_begin), part, reassembler_.slot_bytes()) ==
         ReassemblyResult::ok;
}

void StreamFollower::release(FollowState& state, FlowEntry& flow, ReleasedPieces& released) {
  take_held(flow, released);
  if (flow.reassembly_slot >= 0) reassembler_.release(flow.reassembly_slot);
  flow.reassembly_slot = kNoReassemblySlot;
  state.collecting = false;
  state.holding = false;
}

// The slot's pieces move to `released` (the slot of a judged message is about to be reused). One
// slot's worth a packet: a packet completes at most the one message gathered before it.
void StreamFollower::take_held(const FlowEntry& flow, ReleasedPieces& released) {
  if (flow.reassembly_slot < 0 || held_.held(flow.reassembly_slot) == 0) return;
  if (released.count + held_.held(flow.reassembly_slot) > kMaxHeldSegments) {
    const uint16_t freed = held_.discard(flow.reassembly_slot);
    bump(setup_.counters->dropped_packets[static_cast<int>(Reason::held_segment_discarded)], freed);
    return;
  }
  released.count += held_.release_to(flow.reassembly_slot, released.mbufs + released.count);
}

Decision StreamFollower::deny(const FollowState& state, Reason reason) const {
  Decision decision;
  decision.decided = true;
  decision.allowed = false;
  decision.reason = reason;
  decision.type = state.tls ? DestinationType::sni : DestinationType::http_host;
  return decision;
}

}  // namespace sluice

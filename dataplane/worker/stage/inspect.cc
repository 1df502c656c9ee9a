#include "dataplane/worker/stage/inspect.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "dataplane/domain/hostname.h"
#include "dataplane/parse/http_request_parser.h"
#include "dataplane/parse/tls_client_hello_parser.h"
#include "dataplane/worker/packet_processor.h"
#include "dataplane/worker/stage/judge.h"

namespace sluice {

namespace {

// CONNECT asks for a tunnel; methods are upper case only (the HTTP parser refuses others).
bool proxy_allowed(const CompiledPolicy& policy, const FlowEntry& flow, const FlowFacts& facts) {
  return policy.policies[flow.policy_index].allows_proxy(facts.responder, facts.responder_port);
}

}  // namespace

Inspector::Inspector(const PacketProcessorSetup& setup, const Judge& judge) : setup_(setup), judge_(judge) {
  uint32_t slot_bytes = std::max(setup_.tls_max_client_hello_bytes, setup_.http_max_head_bytes);
  reassembler_.init(setup_.reassembly_slots, slot_bytes);
  hello_scratch_.reset(new uint8_t[setup_.tls_max_client_hello_bytes]);
  quic_slots_.init(setup_.quic_slots, setup_.tls_max_client_hello_bytes);
  // Frame bytes a slot: the message twice over leaves room for headers and partial overlaps
  // (and for a QUIC flow's kMaxHeldSegments datagrams of an Ethernet MTU). The QUIC slots'
  // holds come after the reassembly slots' (held_slot()): one worker bound for both.
  held_.init(setup_.reassembly_slots + setup_.quic_slots, 2 * slot_bytes, setup_.held_segments);
}

// A ClientHello or request head may arrive in several segments. The first one is parsed where
// it lies; only when it is not the whole message (or arrives out of order) do its bytes go to a
// reassembly slot. The segments kept in a slot are held there (inspect_hold.cc) until the
// verdict: nothing of an undecided message reaches the server.
Decision Inspector::inspect_payload(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow,
                                    FlowName& name, const FlowFacts& facts, uint64_t now_tsc) {
  const auto& parsed = packet.parsed;
  auto payload = packet.frame.subspan(parsed.payload_offset, parsed.payload_length);
  const bool tls = flow.inspection == PortClass::tls;
  const uint32_t bound = tls ? setup_.tls_max_client_hello_bytes : setup_.http_max_head_bytes;
  Decision decision;
  decision.decided = true;
  decision.type = tls ? DestinationType::sni : DestinationType::http_host;

  // Data on a SYN (TCP Fast Open) starts one past the SYN's own sequence number.
  const uint32_t payload_seq = parsed.tcp_seq + ((parsed.tcp_flags & kTcpSyn) ? 1 : 0);
  if (flow.reassembly_slot < 0) {
    const uint32_t start = (flow.tcp_flags_seen & kSeenClientSyn) ? flow.client_next_seq : payload_seq;
    if (payload_seq == start) {
      Decision whole = judge_stream(policy, payload, false, packet, flow, name, facts, now_tsc);
      if (whole.decided) return whole;
    }
    flow.reassembly_slot = reassembler_.acquire(start);
    if (flow.reassembly_slot < 0) {
      bump(setup_.counters->reassembly_refused);
      decision.reason = Reason::reassembly_capacity_exhausted;
      return decision;
    }
    bump(setup_.counters->reassembly_started);
  }
  const int32_t slot = flow.reassembly_slot;
  const size_t held_before = reassembler_.contiguous(slot).size();
  // Every piece in the slot is held, none reached the server: its reset points at the base.
  packet.onward_seq = reassembler_.base_seq(slot);
  switch (reassembler_.add(slot, payload_seq, payload, bound)) {
    case ReassemblyResult::ok: break;
    case ReassemblyResult::conflict: decision.reason = Reason::tcp_overlap_conflict; return decision;
    case ReassemblyResult::too_many_ranges: decision.reason = Reason::tcp_segments_scattered; return decision;
    case ReassemblyResult::beyond_bound:
      decision.reason = tls ? Reason::tls_client_hello_too_large : Reason::http_head_too_large;
      return decision;
  }
  auto stream = reassembler_.contiguous(slot);
  if (stream.size() == held_before) return Decision{};  // nothing new in order: wait
  return judge_stream(policy, stream, stream.size() >= bound, packet, flow, name, facts, now_tsc);
}

// Judges the client's first bytes. Undecided (decided == false) while the message is incomplete
// and `stream_is_whole` is false; at the bound an incomplete message is too large.
Decision Inspector::judge_stream(const CompiledPolicy& policy, std::span<const uint8_t> stream, bool stream_is_whole,
                                 PacketContext& packet, FlowEntry& flow, FlowName& name, const FlowFacts& facts,
                                 uint64_t now_tsc) {
  if (flow.inspection == PortClass::tls) {
    ClientHelloInfo hello;
    const ClientHelloStatus status =
        parse_client_hello(stream, {hello_scratch_.get(), setup_.tls_max_client_hello_bytes}, hello);
    if (status == ClientHelloStatus::incomplete && !stream_is_whole) return Decision{};
    return judge_client_hello(policy, status, hello, DestinationType::sni, packet, flow, name, facts, now_tsc);
  }
  Decision decision;
  decision.decided = true;
  decision.type = DestinationType::http_host;
  HttpRequestInfo request;
  std::string_view raw_name;
  bool to_proxy = false;  // a CONNECT to a proxy the policy names: the proxy resolves the target
  switch (parse_http_request(stream, request)) {
    case HttpRequestStatus::ok:
      raw_name = request.host;
      decision.reason = Reason::allowed_domain;  // judged on the name, if it is a valid one
      // A CONNECT asks the server to be a proxy: a tunnel to any host it names. Only to a proxy
      // the policy names, and then its target is judged like any Host.
      if (request.method == "CONNECT") {
        to_proxy = proxy_allowed(policy, flow, facts);
        if (!to_proxy) decision.reason = Reason::http_connect_not_allowed;
      }
      break;
    case HttpRequestStatus::incomplete:
      if (!stream_is_whole) return Decision{};
      decision.reason = Reason::http_head_too_large;
      break;
    case HttpRequestStatus::not_http: decision.reason = Reason::http_not_request; break;
    case HttpRequestStatus::malformed: decision.reason = Reason::http_malformed; break;
    case HttpRequestStatus::missing_host: decision.reason = Reason::http_missing_host; break;
    case HttpRequestStatus::duplicate_host: decision.reason = Reason::http_duplicate_host; break;
    case HttpRequestStatus::host_mismatch: decision.reason = Reason::http_host_mismatch; break;
  }
  const bool name_ok = keep_name(raw_name, name);
  if (decision.reason == Reason::allowed_domain && !name_ok) decision.reason = Reason::http_invalid_host;
  if (decision.reason == Reason::allowed_domain && to_proxy) {
    Decision judged = judge_.judge_read_name(policy, facts, flow, name, decision.type, facts.responder_port);
    // The tunnel carries TLS to the target: a storage endpoint's bucket is as unseen as under TLS.
    if (judged.allowed && judged.storage_endpoint != StorageProvider::none) judge_path_style_unseen(judged);
    return judged;
  }
  if (decision.reason == Reason::allowed_domain) {
    Decision judged =
        judge_.judge_bound_name(policy, facts, flow, name, decision.type, facts.responder_port, now_tsc);
    if (judged.allowed && judged.storage_endpoint != StorageProvider::none)
      judge_storage_path(policy.policies[flow.policy_index], request.path, judged);
    return judged;
  }
  return judge_nameless(policy, facts, flow, decision);  // else denied by its own reason
}

// The ClientHello rules, the same for TLS over TCP (`type` SNI) and QUIC (QUIC_SNI): no SNI,
// several names, ECH and invalid names each by their reason, softened by the policy's
// tls_exceptions; a valid single name is judged against the domains. `status` is never
// `incomplete` unless the message can no longer complete.
Decision Inspector::judge_client_hello(const CompiledPolicy& policy, ClientHelloStatus status,
                                       const ClientHelloInfo& hello, DestinationType type, PacketContext& packet,
                                       FlowEntry& flow, FlowName& name, const FlowFacts& facts, uint64_t now_tsc) {
  const TlsExceptions& exceptions = policy.policies[flow.policy_index].tls_exceptions;
  bool judge_address = false;  // a TlsExceptions option turns this denial into an address judgement
  Decision decision;
  decision.decided = true;
  decision.type = type;
  std::string_view raw_name;
  bool name_ok = false;
  switch (status) {
    case ClientHelloStatus::ok:
      packet.hello.version = hello.highest_supported_version;
      packet.hello.alpn_length = uint8_t(std::min(hello.first_alpn.size(), sizeof packet.hello.alpn));
      std::memcpy(packet.hello.alpn, hello.first_alpn.data(), packet.hello.alpn_length);
      raw_name = hello.server_name;
      name_ok = keep_name(raw_name, name);
      if (hello.has_encrypted_client_hello && !exceptions.ech_judge_outer_sni) {
        decision.reason = Reason::tls_ech;
      } else if (hello.server_name_count == 0) {
        decision.reason = Reason::tls_no_sni;
        judge_address = exceptions.no_sni_judge_address;
      } else if (hello.server_name_count > 1 && !exceptions.multiple_sni_judge_first) {
        decision.reason = Reason::tls_multiple_sni;
      } else if (!name_ok) {
        decision.reason = Reason::tls_invalid_sni;
      } else {
        decision.reason = Reason::allowed_domain;  // judged on the name below
      }
      break;
    case ClientHelloStatus::incomplete:
    case ClientHelloStatus::too_large:
      decision.reason = type == DestinationType::quic_sni ? Reason::quic_crypto_too_large
                                                          : Reason::tls_client_hello_too_large;
      break;
    case ClientHelloStatus::not_tls:
    case ClientHelloStatus::not_client_hello:
      decision.reason = Reason::tls_not_client_hello;
      judge_address = exceptions.not_tls_judge_address;
      break;
    case ClientHelloStatus::malformed: decision.reason = Reason::tls_malformed; break;
  }
  if (status != ClientHelloStatus::ok) name.length = 0;
  if (decision.reason == Reason::allowed_domain)
    return judge_.judge_bound_name(policy, facts, flow, name, type, facts.responder_port, now_tsc);
  if (judge_address)
    return judge_nameless(policy, facts, flow,
                          judge_.judge_address_instead(policy, facts, flow, name, decision.reason, type, now_tsc));
  return judge_nameless(policy, facts, flow, decision);  // else denied by its own reason
}

Decision Inspector::judge_nameless(const CompiledPolicy& policy, const FlowFacts& facts, const FlowEntry& flow,
                                   const Decision& otherwise) const {
  Decision by_address = judge_.address_rule(policy, facts, flow);
  return by_address.decided ? by_address : otherwise;
}

// Normalises `raw_name` into the flow's name; a name that fails normalisation is still worth
// recording, cut to size. True when it normalised.
bool Inspector::keep_name(std::string_view raw_name, FlowName& name) {
  size_t length = 0;
  const bool ok = !raw_name.empty() && normalize_hostname(raw_name, name.bytes, length) == HostnameStatus::ok;
  if (!ok) {
    length = std::min(raw_name.size(), sizeof name.bytes);
    if (length) std::memcpy(name.bytes, raw_name.data(), length);
  }
  name.length = static_cast<uint8_t>(length);
  return ok;
}

}  // namespace sluice

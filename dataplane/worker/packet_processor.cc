#include "dataplane/worker/packet_processor.h"

#include <algorithm>
#include <cstring>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/domain/hostname.h"
#include "dataplane/parse/dns_message_parser.h"
#include "dataplane/parse/http_request_parser.h"
#include "dataplane/parse/tls_client_hello_parser.h"
#include "dataplane/verdict/icmp_unreachable.h"
#include "dataplane/verdict/tcp_reset.h"

namespace sluice {

namespace {

constexpr uint16_t kDnsPort = 53;

bool is_neighbour_discovery(const ParsedPacket& packet) {
  // The link needs these to work at all: router/neighbour solicitation and advertisement and
  // redirect (133-137), and multicast listener discovery (MLD queries, reports, done: 130-132,
  // MLDv2 reports: 143), which every IPv6 host sends when its link comes up.
  if (packet.ip_version != 6 || packet.l4_protocol != kIpProtoIcmpv6) return false;
  const uint8_t type = packet.icmp_type;
  return (type >= 133 && type <= 137) || (type >= 130 && type <= 132) || type == 143;
}

Reason reason_for(PacketParseError error) {
  return error == PacketParseError::unsupported_ethertype ? Reason::unsupported_ethertype : Reason::malformed_packet;
}

bool has_ports(uint8_t protocol) { return protocol == kIpProtoTcp || protocol == kIpProtoUdp; }

// Verdicts reached on a name, which a new generation can reach again from the stored name; the
// other payload verdicts (no SNI, ECH, not HTTP…) depend on the bytes alone.
bool judged_on_name(Reason reason) {
  return reason == Reason::allowed_domain || reason == Reason::domain_not_allowed ||
         reason == Reason::allowed_dns_learned;
}

bool is_pure_syn(const ParsedPacket& packet) {
  return (packet.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst)) == kTcpSyn;
}

}  // namespace

struct PacketProcessor::PacketContext {
  rte_mbuf* mbuf = nullptr;
  std::span<const uint8_t> frame;
  ParsedPacket parsed;
  PacketParseError parse_error = PacketParseError::none;
  FlowKey key;
  bool source_is_a = false;
  bool decided_now = false;  // this packet settled (or changed) its flow's verdict
  uint32_t onward_seq = 0;   // where the far end expects the next byte (for its reset)
};

// The flow as its initiator (the inside host) sees it, whichever side sent the packet at hand.
struct PacketProcessor::FlowFacts {
  IpAddress initiator;
  IpAddress responder;
  uint16_t initiator_port = 0;
  uint16_t responder_port = 0;
  uint8_t protocol = 0;
};

struct PacketProcessor::Decision {
  bool decided = false;  // false: wait for more payload (inspection says which parser)
  bool allowed = false;
  Reason reason = Reason::ip_not_allowed;
  DestinationType type = DestinationType::ip;
  PortClass inspection = PortClass::none;
};

PacketProcessor::PacketProcessor(const PacketProcessorSetup& setup) : setup_(setup) {
  tsc_hz_ = rte_get_tsc_hz();
  timeouts_ = FlowTimeouts(setup_.timeouts, tsc_hz_);
  uint32_t slot_bytes = std::max(setup_.tls_max_client_hello_bytes, setup_.http_max_head_bytes);
  reassembler_.init(setup_.reassembly_slots, slot_bytes);
  fragments_.init(setup_.fragment_slots, uint64_t(setup_.fragment_lifetime_seconds) * tsc_hz_);
  hello_scratch_.reset(new uint8_t[setup_.tls_max_client_hello_bytes]);
  reply_tokens_ = setup_.deny_replies_per_second;
}

uint64_t PacketProcessor::now() const { return setup_.external_clock ? clock_tsc_ : rte_rdtsc(); }

void PacketProcessor::process_burst(const CompiledPolicy& policy, Side ingress, rte_mbuf** packets, uint16_t count,
                                    BurstOutput& out) {
  out.forward_count = 0;
  out.reply_count = 0;
  count = std::min(count, kBurstSize);
  burst_tsc_ = now();  // one clock read a burst: its packets arrived together
  auto& counters = *setup_.counters;
  auto side = static_cast<int>(ingress);

  // Pass 1: parse every packet and collect the keys of those that belong in the flow table.
  PacketContext contexts[kBurstSize];
  const FlowKey* keys[kBurstSize];
  uint16_t keyed_index[kBurstSize];
  uint32_t key_count = 0;
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < count; ++i) {
    auto& context = contexts[i];
    context.mbuf = packets[i];
    context.frame = {rte_pktmbuf_mtod(packets[i], const uint8_t*), rte_pktmbuf_data_len(packets[i])};
    bytes += rte_pktmbuf_pkt_len(packets[i]);
    context.parse_error = parse_packet(context.frame, context.parsed);
    const auto& parsed = context.parsed;
    if (context.parse_error == PacketParseError::none && parsed.ip_version != 0 && !parsed.is_later_fragment &&
        !is_neighbour_discovery(parsed)) {
      context.source_is_a = make_flow_key(parsed, context.key);
      keys[key_count] = &context.key;
      keyed_index[key_count] = i;
      ++key_count;
    }
  }
  bump(counters.rx_packets[side], count);
  bump(counters.rx_bytes[side], bytes);

  // Pass 2: one bulk lookup for the burst.
  int32_t positions[kBurstSize];
  int32_t position_of[kBurstSize];
  std::fill(position_of, position_of + kBurstSize, -1);
  if (key_count) {
    setup_.flows->lookup_bulk(keys, key_count, positions);
    for (uint32_t k = 0; k < key_count; ++k) position_of[keyed_index[k]] = positions[k];
  }

  // Pass 3: act, in arrival order.
  for (uint16_t i = 0; i < count; ++i) handle_packet(policy, ingress, contexts[i], position_of[i], out);
}

void PacketProcessor::handle_later_fragment(PacketContext& packet, BurstOutput& out) {
  int32_t position = -1;
  uint64_t flow_id = 0;
  if (!fragments_.find(packet.parsed, burst_tsc_, position, flow_id)) {
    drop(packet.mbuf, Reason::fragment_without_first);
    return;
  }
  const FlowEntry& flow = setup_.flows->entry(position);
  if (!flow.in_use || flow.flow_id != flow_id) {
    drop(packet.mbuf, Reason::fragment_without_first);  // the flow aged out meanwhile
    return;
  }
  switch (flow.verdict) {
    case FlowVerdict::pending: drop(packet.mbuf, Reason::fragment_of_undecided_flow); return;
    case FlowVerdict::denied_enforced: drop(packet.mbuf, Reason::flow_denied); return;
    case FlowVerdict::allowed:
    case FlowVerdict::denied_dry_run:
      bump(setup_.counters->fragments_forwarded);
      out.forward[out.forward_count++] = packet.mbuf;
      return;
  }
}

void PacketProcessor::track_tcp(FlowEntry& flow, const ParsedPacket& parsed, bool from_initiator) const {
  const uint8_t flags = parsed.tcp_flags;
  if (flags & kTcpRst) {
    flow.state = FlowState::closed;
    return;
  }
  if (from_initiator) {
    if (is_pure_syn(parsed)) {
      flow.client_next_seq = parsed.tcp_seq + 1;
      flow.tcp_flags_seen |= kSeenClientSyn;
      if (flow.state == FlowState::open) flow.state = FlowState::syn_sent;
    }
    if (flags & kTcpFin) flow.tcp_flags_seen |= kSeenClientFin;
  } else {
    if ((flags & kTcpSyn) && (flags & kTcpAck)) {
      flow.tcp_flags_seen |= kSeenServerSynAck;
      if (flow.state == FlowState::syn_sent || flow.state == FlowState::open) flow.state = FlowState::established;
    }
    if (flags & kTcpFin) flow.tcp_flags_seen |= kSeenServerFin;
  }
  const uint8_t fins = flow.tcp_flags_seen & (kSeenClientFin | kSeenServerFin);
  if (fins == (kSeenClientFin | kSeenServerFin)) flow.state = FlowState::closed;
  else if (fins) flow.state = FlowState::closing;
  else if (flow.state == FlowState::open && !(flags & kTcpSyn)) flow.state = FlowState::established;  // picked up mid-stream
}

void PacketProcessor::handle_packet(const CompiledPolicy& policy, Side ingress, PacketContext& packet,
                                    int32_t position, BurstOutput& out) {
  auto& counters = *setup_.counters;
  const auto& parsed = packet.parsed;
  hello_version_ = 0;  // set again only when this packet completes a ClientHello
  hello_alpn_length_ = 0;
  if (packet.parse_error != PacketParseError::none) {
    bump(counters.parse_errors[static_cast<int>(packet.parse_error)]);
    drop(packet.mbuf, reason_for(packet.parse_error));
    return;
  }
  if (parsed.ip_version == 0 || is_neighbour_discovery(parsed)) {
    bump(counters.infrastructure_packets);
    out.forward[out.forward_count++] = packet.mbuf;
    return;
  }
  if (parsed.is_later_fragment) {
    handle_later_fragment(packet, out);
    return;
  }

  if (position < 0) {
    // Absent at lookup time; it may have been created earlier in this same burst.
    if (ingress == Side::outside) {
      drop(packet.mbuf, Reason::unsolicited_inbound);
      return;
    }
    position = setup_.flows->insert(packet.key);
    if (position < 0) {
      bump(counters.flows_refused_table_full);
      drop(packet.mbuf, Reason::flow_table_full);
      return;
    }
  }
  FlowEntry& flow = setup_.flows->entry(position);
  FlowName& name = setup_.flows->name(position);
  // A flow idle past its timeout that the aging sweep has not reached yet is over all the same.
  bool expired = flow.in_use && idle_past_timeout(flow, burst_tsc_);
  if (expired) {
    count_expiry(flow);
    if (ingress == Side::outside) {
      setup_.flows->remove(position);
      drop(packet.mbuf, Reason::unsolicited_inbound);
      return;
    }
  }
  bool from_initiator = flow.in_use && !expired ? packet.source_is_a == flow.initiator_is_a : true;
  // A new connection on the 5-tuple of a closed one (a reused port) is judged afresh; the same
  // SYN again (same initial sequence number) is a retransmission of the old one.
  bool reused = flow.in_use && !expired && from_initiator && flow.state == FlowState::closed &&
                parsed.l4_protocol == kIpProtoTcp && is_pure_syn(parsed) &&
                !((flow.tcp_flags_seen & kSeenClientSyn) && parsed.tcp_seq + 1 == flow.client_next_seq);
  if (reused) release_reassembly(flow);
  bool is_new = !flow.in_use || reused || expired;
  if (is_new) {
    flow = FlowEntry{};
    flow.in_use = true;
    flow.initiator_is_a = packet.source_is_a;
    flow.flow_id = (uint64_t(setup_.worker_index) << 40) | next_flow_number_++;
    flow.protocol = parsed.l4_protocol;
    name.length = 0;
    bump(counters.flows_created);
  }
  flow.last_seen_tsc = burst_tsc_;
  if (from_initiator && ingress == Side::outside) {
    // An outside host speaking with an inside host's address: never part of a flow we allowed.
    drop(packet.mbuf, Reason::unsolicited_inbound);
    return;
  }
  if (parsed.l4_protocol == kIpProtoTcp) track_tcp(flow, parsed, from_initiator);

  FlowFacts facts;
  facts.initiator = from_initiator ? parsed.src : parsed.dst;
  facts.responder = from_initiator ? parsed.dst : parsed.src;
  facts.initiator_port = from_initiator ? parsed.src_port : parsed.dst_port;
  facts.responder_port = from_initiator ? parsed.dst_port : parsed.src_port;
  facts.protocol = parsed.l4_protocol;
  packet.onward_seq = parsed.tcp_seq;

  if (is_new) {
    packet.decided_now = apply(policy, judge_destination(policy, facts, flow, name), facts, flow, &name, true);
  } else if (flow.generation != policy.generation) {
    // A new policy generation: judge the flow again, so that a revoked domain or a move to
    // ENFORCE takes effect on this very packet.
    packet.decided_now = apply(policy, rejudge(policy, facts, flow, name), facts, flow, &name, false);
  }
  if (flow.verdict == FlowVerdict::pending && from_initiator && parsed.payload_length > 0)
    packet.decided_now =
        apply(policy, inspect_payload(policy, packet, flow, name, facts), facts, flow, &name, true);
  if (flow.verdict != FlowVerdict::pending) release_reassembly(flow);

  if (!from_initiator && parsed.payload_length > 0 && flow.destination_type == DestinationType::dns &&
      flow.verdict == FlowVerdict::allowed)
    learn_from_dns_answer(policy, packet, flow);
  if (parsed.is_fragment) fragments_.remember(parsed, position, flow.flow_id, burst_tsc_);

  switch (flow.verdict) {
    case FlowVerdict::pending:
    case FlowVerdict::allowed:
    case FlowVerdict::denied_dry_run:
      out.forward[out.forward_count++] = packet.mbuf;
      return;
    case FlowVerdict::denied_enforced:
      tell_endpoints(packet, flow, packet.decided_now, from_initiator, out);
      // Both ends were reset: the connection is over. Closed, it ages out in tcp_closed_seconds,
      // and a new SYN on its 5-tuple (stacks reuse a port at once after a reset) is judged afresh.
      if (parsed.l4_protocol == kIpProtoTcp) flow.state = FlowState::closed;
      drop(packet.mbuf, packet.decided_now ? flow.reason : Reason::flow_denied);
      return;
  }
}

// Tells both ends of a denied flow, so that clients fail in milliseconds instead of timing out:
// a reset (TCP) or an ICMP error (UDP) back to the sender, and for a TCP flow whose server has
// answered the handshake, a reset on to the far end in the sender's name. Retries of a denied
// flow (a SYN again, another datagram) are answered again, within a rate.
void PacketProcessor::tell_endpoints(const PacketContext& packet, const FlowEntry& flow, bool decided_now,
                                     bool from_initiator, BurstOutput& out) {
  const auto& parsed = packet.parsed;
  if (parsed.l4_protocol == kIpProtoTcp) {
    if (parsed.tcp_flags & kTcpRst) return;
    if (decided_now) {
      send_reset(packet, out);
      if (flow.tcp_flags_seen & kSeenServerSynAck) send_onward_reset(packet, packet.onward_seq, out);
    } else if (from_initiator && (parsed.tcp_flags & kTcpSyn) && take_reply_token()) {
      send_reset(packet, out);
    }
  } else if (parsed.l4_protocol == kIpProtoUdp && from_initiator) {
    if (decided_now || take_reply_token()) send_icmp_unreachable(packet, out);
  }
}

bool PacketProcessor::take_reply_token() {
  const double rate = setup_.deny_replies_per_second;
  if (tsc_hz_ && burst_tsc_ > reply_tokens_tsc_) {
    reply_tokens_ = std::min(rate, reply_tokens_ + double(burst_tsc_ - reply_tokens_tsc_) * rate / double(tsc_hz_));
    reply_tokens_tsc_ = burst_tsc_;
  }
  if (reply_tokens_ < 1) {
    bump(setup_.counters->replies_rate_limited);
    return false;
  }
  reply_tokens_ -= 1;
  return true;
}

PacketProcessor::Decision PacketProcessor::judge_destination(const CompiledPolicy& policy, const FlowFacts& facts,
                                                             FlowEntry& flow, FlowName& name) const {
  flow.attachment_index = policy.attachment_index_for(facts.initiator);
  flow.policy_index = policy.attachments[flow.attachment_index].policy_index;
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  uint16_t port = has_ports(facts.protocol) ? facts.responder_port : 0;

  Decision decision;
  decision.decided = true;
  if (rules.access_mode == AccessMode::full) {
    decision.allowed = true;
    decision.reason = Reason::allowed_full_access;
  } else if (const NetworkRuleGroup* group = policy.networks ? policy.networks->lookup(facts.responder) : nullptr;
             group && group->allows(flow.policy_index, facts.protocol, port)) {
    decision.allowed = true;
    decision.reason = Reason::allowed_network;
  } else if (has_ports(facts.protocol) && port == kDnsPort) {
    decision.allowed = rules.allows_resolver(facts.responder);
    decision.reason = decision.allowed ? Reason::allowed_dns_resolver : Reason::dns_resolver_not_allowed;
    decision.type = DestinationType::dns;
  } else if (facts.protocol == kIpProtoTcp && policy.port_class[port] != PortClass::none) {
    // Judged on the ClientHello or request head, even to a learned address: the name the
    // client asks for is more precise than the address it resolved.
    decision.decided = false;
    decision.inspection = policy.port_class[port];
  } else {
    decision = judge_learned(policy, facts, flow, name);
  }
  return decision;
}

// Traffic to an address a DNS answer for an allowed name handed to this policy's hosts.
PacketProcessor::Decision PacketProcessor::judge_learned(const CompiledPolicy& policy, const FlowFacts& facts,
                                                         const FlowEntry& flow, FlowName& name) const {
  Decision decision;
  decision.decided = true;
  decision.reason = Reason::ip_not_allowed;
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  if (!setup_.learned_table || !rules.domains) return decision;
  std::string_view learned;
  const LearnedAddressTable* table = setup_.learned_table->load(std::memory_order_acquire);
  const uint64_t consumed = table ? table->consumed(setup_.worker_index) : 0;
  if (const LearnedAddressTable::Entry* entry = table ? table->find(rules.counter_slot, facts.responder, burst_tsc_)
                                                      : nullptr) {
    learned = table->name(*entry);
  } else if (learned_sequence_ > consumed) {  // some of this worker's answers are not published yet
    for (const RecentlyLearned& recent : recently_learned_) {
      if (recent.sequence > consumed && recent.policy_slot == rules.counter_slot && recent.address == facts.responder &&
          recent.expires_tsc > burst_tsc_) {
        learned = {recent.name, recent.name_length};
        break;
      }
    }
  }
  if (learned.empty()) return decision;
  std::memcpy(name.bytes, learned.data(), learned.size());
  name.length = uint8_t(learned.size());
  uint16_t port = has_ports(facts.protocol) ? facts.responder_port : 0;
  Decision by_name = judge_name(policy, flow, name, DestinationType::ip, port);
  if (by_name.allowed) by_name.reason = Reason::allowed_dns_learned;
  else by_name.reason = Reason::ip_not_allowed;  // learned, but no rule for the name allows this port
  return by_name;
}

PacketProcessor::Decision PacketProcessor::judge_name(const CompiledPolicy& policy, const FlowEntry& flow,
                                                      const FlowName& name, DestinationType type,
                                                      uint16_t port) const {
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  Decision decision;
  decision.decided = true;
  decision.type = type;
  decision.allowed = rules.domain_allows({name.bytes, name.length}, port, policy.scratch[setup_.worker_index]);
  decision.reason = decision.allowed ? Reason::allowed_domain : Reason::domain_not_allowed;
  return decision;
}

// A ClientHello or request head may arrive in several segments. The first one is parsed where
// it lies; only when it is not the whole message (or arrives out of order) do its bytes go to a
// reassembly slot. Every segment that is kept is forwarded: it holds message bytes only, so no
// application data reaches the server before the verdict.
PacketProcessor::Decision PacketProcessor::inspect_payload(const CompiledPolicy& policy, PacketContext& packet,
                                                           FlowEntry& flow, FlowName& name, const FlowFacts& facts) {
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
      Decision whole = judge_stream(policy, payload, false, flow, name, facts);
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
  // The server has every byte before the first gap: that is where its reset must point.
  packet.onward_seq = reassembler_.base_seq(slot) + uint32_t(held_before);
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
  return judge_stream(policy, stream, stream.size() >= bound, flow, name, facts);
}

// Judges the client's first bytes. Undecided (decided == false) while the message is incomplete
// and `stream_is_whole` is false; at the bound an incomplete message is too large.
PacketProcessor::Decision PacketProcessor::judge_stream(const CompiledPolicy& policy, std::span<const uint8_t> stream,
                                                        bool stream_is_whole, FlowEntry& flow, FlowName& name,
                                                        const FlowFacts& facts) {
  const TlsExceptions& exceptions = policy.policies[flow.policy_index].tls_exceptions;
  const uint16_t port = facts.responder_port;
  bool judge_address = false;  // a TlsExceptions option turns this denial into an address judgement
  Decision decision;
  decision.decided = true;
  std::string_view raw_name;
  size_t length = 0;
  bool name_ok = false;

  if (flow.inspection == PortClass::tls) {
    decision.type = DestinationType::sni;
    ClientHelloInfo hello;
    switch (parse_client_hello(stream, {hello_scratch_.get(), setup_.tls_max_client_hello_bytes}, hello)) {
      case ClientHelloStatus::ok:
        hello_version_ = hello.highest_supported_version;
        hello_alpn_length_ = uint8_t(std::min(hello.first_alpn.size(), sizeof hello_alpn_));
        std::memcpy(hello_alpn_, hello.first_alpn.data(), hello_alpn_length_);
        raw_name = hello.server_name;
        name_ok = normalize_hostname(raw_name, name.bytes, length) == HostnameStatus::ok;
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
        if (!stream_is_whole) return Decision{};
        decision.reason = Reason::tls_client_hello_too_large;
        break;
      case ClientHelloStatus::too_large: decision.reason = Reason::tls_client_hello_too_large; break;
      case ClientHelloStatus::not_tls:
      case ClientHelloStatus::not_client_hello:
        decision.reason = Reason::tls_not_client_hello;
        judge_address = exceptions.not_tls_judge_address;
        break;
      case ClientHelloStatus::malformed: decision.reason = Reason::tls_malformed; break;
    }
  } else {
    decision.type = DestinationType::http_host;
    HttpRequestInfo request;
    switch (parse_http_request(stream, request)) {
      case HttpRequestStatus::ok:
        raw_name = request.host;
        name_ok = normalize_hostname(raw_name, name.bytes, length) == HostnameStatus::ok;
        decision.reason = name_ok ? Reason::allowed_domain : Reason::http_invalid_host;
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
  }
  if (!name_ok && !raw_name.empty()) {
    // A name that failed normalisation is still worth recording, cut to size.
    length = std::min(raw_name.size(), sizeof name.bytes);
    std::memcpy(name.bytes, raw_name.data(), length);
  }
  name.length = static_cast<uint8_t>(length);
  if (decision.reason == Reason::allowed_domain) return judge_name(policy, flow, name, decision.type, port);
  if (judge_address) return judge_address_instead(policy, facts, flow, name, decision.reason);
  return decision;  // denied by its own reason
}

// A nameless ClientHello the policy lets through on its address: allowed when the address was
// learned from DNS for an allowed domain whose rule allows the port, else denied as it was.
PacketProcessor::Decision PacketProcessor::judge_address_instead(const CompiledPolicy& policy, const FlowFacts& facts,
                                                                 const FlowEntry& flow, FlowName& name,
                                                                 Reason otherwise) const {
  Decision decision = judge_learned(policy, facts, flow, name);
  if (!decision.allowed) {
    decision.reason = otherwise;
    decision.type = DestinationType::sni;
    name.length = 0;
  }
  return decision;
}

PacketProcessor::Decision PacketProcessor::rejudge(const CompiledPolicy& policy, const FlowFacts& facts,
                                                   FlowEntry& flow, FlowName& name) const {
  const uint16_t port = has_ports(facts.protocol) ? facts.responder_port : 0;
  if (flow.reason == Reason::allowed_dns_learned && flow.verdict != FlowVerdict::pending) {
    // Open flows to a learned address outlive the answer's TTL: judge the name they were
    // allowed for, unless the address is now in an allowed network.
    FlowName kept = name;
    Decision by_address = judge_destination(policy, facts, flow, name);
    name = kept;
    if (by_address.decided && by_address.allowed && by_address.reason != Reason::allowed_dns_learned)
      return by_address;
    Decision by_name = judge_name(policy, flow, name, DestinationType::ip, port);
    by_name.reason = by_name.allowed ? Reason::allowed_dns_learned : Reason::domain_not_allowed;
    return by_name;
  }
  Decision decision = judge_destination(policy, facts, flow, name);
  if (decision.decided) return decision;
  if (flow.verdict == FlowVerdict::pending) return decision;  // still waiting for its payload
  if (judged_on_name(flow.reason)) return judge_name(policy, flow, name, flow.destination_type, port);
  if (flow.reason == Reason::allowed_full_access || flow.reason == Reason::allowed_network ||
      flow.reason == Reason::allowed_dns_resolver || flow.reason == Reason::rejudge_name_unknown) {
    // Allowed before without reading its payload; the new policy judges on a name we never saw.
    decision.decided = true;
    decision.reason = Reason::rejudge_name_unknown;
    decision.type = DestinationType::ip;
    return decision;
  }
  // Denied on its bytes (no SNI, ECH, not HTTP…): the same bytes would be denied again.
  decision.decided = true;
  decision.reason = flow.reason;
  decision.type = flow.destination_type;
  return decision;
}

bool PacketProcessor::apply(const CompiledPolicy& policy, const Decision& decision, const FlowFacts& facts,
                            FlowEntry& flow, const FlowName* name, bool is_first_verdict) {
  flow.generation = policy.generation;
  if (!decision.decided) {
    if (decision.inspection != PortClass::none) flow.inspection = decision.inspection;
    return false;
  }
  FlowVerdict verdict = FlowVerdict::allowed;
  if (!decision.allowed)
    verdict = policy.attachments[flow.attachment_index].enforcement == Enforcement::enforce
                  ? FlowVerdict::denied_enforced
                  : FlowVerdict::denied_dry_run;
  bool changed = verdict != flow.verdict || is_first_verdict;
  flow.verdict = verdict;
  flow.reason = decision.reason;
  flow.destination_type = decision.type;
  if (!changed) return false;

  auto& counters = *setup_.counters;
  uint16_t slot = policy.policies[flow.policy_index].counter_slot;
  if (is_first_verdict) {
    bump(counters.flow_verdicts[static_cast<int>(decision.reason)]);
    if (slot < kMaxPolicies) bump(counters.flows_by_policy[slot][static_cast<int>(verdict)]);
  } else {
    bump(counters.flows_rejudged[static_cast<int>(verdict)]);
  }
  emit_event(flow, facts, name);
  return true;
}

void PacketProcessor::emit_event(const FlowEntry& flow, const FlowFacts& facts, const FlowName* name) {
  if (flow.verdict == FlowVerdict::allowed && !setup_.emit_allowed_flows) return;
  if (!setup_.events) return;
  FlowEvent event;
  event.flow_id = flow.flow_id;
  event.tsc = flow.last_seen_tsc ? flow.last_seen_tsc : burst_tsc_;
  event.generation = flow.generation;
  event.src = facts.initiator;
  event.dst = facts.responder;
  event.src_port = facts.initiator_port;
  event.dst_port = facts.responder_port;
  event.attachment_index = flow.attachment_index;
  event.policy_index = flow.policy_index;
  event.protocol = facts.protocol;
  event.verdict = flow.verdict;
  event.reason = flow.reason;
  event.destination_type = flow.destination_type;
  // Learned-address verdicts are IP verdicts that carry the name the address was learned for.
  bool has_name = flow.destination_type != DestinationType::ip || flow.reason == Reason::allowed_dns_learned;
  if (name && name->length && has_name) {
    event.name_length = name->length;
    std::memcpy(event.name, name->bytes, name->length);
  }
  if (flow.destination_type == DestinationType::sni && hello_version_) {
    event.tls_version = hello_version_;
    event.tls_alpn_length = hello_alpn_length_;
    std::memcpy(event.tls_alpn, hello_alpn_, hello_alpn_length_);
  }
  if (rte_ring_sp_enqueue_elem(setup_.events, &event, sizeof event) != 0)
    bump(setup_.counters->events_dropped_ring_full);
}

// An answer from a resolver the policy allows, to one of its hosts: when the queried name is
// an allowed domain, the addresses it (or its CNAME chain) resolves to become usable by this
// policy's hosts on the ports the domain's rules allow.
void PacketProcessor::learn_from_dns_answer(const CompiledPolicy& policy, const PacketContext& packet,
                                            const FlowEntry& flow) {
  if (!setup_.learned) return;
  auto& counters = *setup_.counters;
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  if (rules.access_mode == AccessMode::full || !rules.domains) return;
  const auto& parsed = packet.parsed;
  auto payload = packet.frame.subspan(parsed.payload_offset, parsed.payload_length);
  DnsAnswerInfo answer;
  DnsParseStatus status = parsed.l4_protocol == kIpProtoUdp ? parse_dns_response(payload, answer)
                                                            : parse_dns_tcp_response(payload, answer);
  if (status != DnsParseStatus::ok) {
    bump(counters.dns_answers_unparsed);
    return;
  }
  bump(counters.dns_answers_parsed);
  if (answer.address_count == 0 || answer.query_name_length == 0) return;
  if (rules.domains->match({answer.query_name, answer.query_name_length}, policy.scratch[setup_.worker_index]) ==
      kNoDomainMatch) {
    bump(counters.dns_answers_name_not_allowed);
    return;
  }
  const auto& limits = setup_.dns_learning;
  for (uint8_t i = 0; i < answer.address_count; ++i) {
    uint32_t ttl = std::min(answer.addresses[i].ttl, answer.chain_ttl);
    ttl = std::clamp(ttl, limits.min_ttl, std::max(limits.min_ttl, limits.max_ttl));
    LearnedAddressEvent event;
    event.tsc = burst_tsc_;
    event.address = answer.addresses[i].address;
    event.ttl_seconds = ttl;
    event.expires_tsc = burst_tsc_ + uint64_t(ttl + limits.grace) * tsc_hz_;
    event.policy_slot = rules.counter_slot;
    event.worker_index = setup_.worker_index;
    event.name_length = answer.query_name_length;
    std::memcpy(event.name, answer.query_name, answer.query_name_length);
    event.sequence = learned_sequence_ + 1;
    if (rte_ring_sp_enqueue_elem(setup_.learned, &event, sizeof event) != 0) {
      bump(counters.dns_learned_dropped_ring_full);
      continue;
    }
    ++learned_sequence_;
    bump(counters.dns_addresses_learned);
    RecentlyLearned& recent = recently_learned_[recently_learned_next_];
    recently_learned_next_ = (recently_learned_next_ + 1) % kRecentlyLearned;
    recent.sequence = event.sequence;
    recent.expires_tsc = event.expires_tsc;
    recent.address = event.address;
    recent.policy_slot = event.policy_slot;
    recent.name_length = event.name_length;
    std::memcpy(recent.name, event.name, event.name_length);
  }
}

uint32_t PacketProcessor::expire_idle(uint32_t budget) {
  FlowTable& flows = *setup_.flows;
  const uint32_t positions = flows.position_count();
  if (positions == 0) return 0;
  const uint64_t now_tsc = now();
  uint32_t expired = 0;
  FlowKey key;
  for (uint32_t i = 0; i < budget && i < positions; ++i) {
    const int32_t position = int32_t(aging_cursor_);
    aging_cursor_ = aging_cursor_ + 1 == positions ? 0 : aging_cursor_ + 1;
    FlowEntry& flow = flows.entry(position);
    if (!flow.in_use || !idle_past_timeout(flow, now_tsc)) continue;
    // Only an expired flow's key is read (another cache miss): the sweep costs a busy worker
    // one sequential entry read a position.
    if (!flows.key_at(position, key)) continue;
    if (flow.verdict == FlowVerdict::pending && setup_.emit_allowed_flows && setup_.events) {
      FlowEvent event = pending_flow_event(key, flow);
      if (rte_ring_sp_enqueue_elem(setup_.events, &event, sizeof event) != 0)
        bump(setup_.counters->events_dropped_ring_full);
    }
    count_expiry(flow);
    flows.remove(position);
    ++expired;
  }
  return expired;
}

bool PacketProcessor::idle_past_timeout(const FlowEntry& flow, uint64_t now_tsc) const {
  return now_tsc > flow.last_seen_tsc && now_tsc - flow.last_seen_tsc > timeouts_.idle_limit(flow, flow.protocol);
}

void PacketProcessor::count_expiry(FlowEntry& flow) {
  bump(setup_.counters->flows_expired[static_cast<int>(flow.state)]);
  release_reassembly(flow);
}

void PacketProcessor::release_reassembly(FlowEntry& flow) {
  if (flow.reassembly_slot < 0) return;
  reassembler_.release(flow.reassembly_slot);
  flow.reassembly_slot = kNoReassemblySlot;
}

// Builds a frame into a fresh mbuf of the reply pool and appends it to `list`; false (and the
// mbuf back in the pool) when there is no mbuf or the builder refuses (returns 0).
template <typename Build>
bool PacketProcessor::send_built(Build build, rte_mbuf** list, uint16_t& count) {
  rte_mbuf* frame = setup_.reply_pool ? rte_pktmbuf_alloc(setup_.reply_pool) : nullptr;
  if (!frame) return false;
  size_t length = build(std::span<uint8_t>{rte_pktmbuf_mtod(frame, uint8_t*), rte_pktmbuf_tailroom(frame)});
  if (length == 0) {
    rte_pktmbuf_free(frame);
    return false;
  }
  frame->data_len = static_cast<uint16_t>(length);
  frame->pkt_len = static_cast<uint32_t>(length);
  list[count++] = frame;
  return true;
}

void PacketProcessor::send_reset(const PacketContext& packet, BurstOutput& out) {
  auto build = [&](std::span<uint8_t> room) { return build_tcp_reset(packet.frame, packet.parsed, room); };
  bump(send_built(build, out.replies, out.reply_count) ? setup_.counters->resets_sent : setup_.counters->resets_not_sent);
}

void PacketProcessor::send_onward_reset(const PacketContext& packet, uint32_t seq, BurstOutput& out) {
  // Refused without an ACK on the packet: the far end then has no connection to tear down.
  auto build = [&](std::span<uint8_t> room) { return build_tcp_reset_onward(packet.frame, packet.parsed, seq, room); };
  if (send_built(build, out.forward, out.forward_count)) bump(setup_.counters->onward_resets_sent);
}

void PacketProcessor::send_icmp_unreachable(const PacketContext& packet, BurstOutput& out) {
  auto build = [&](std::span<uint8_t> room) { return build_icmp_unreachable(packet.frame, packet.parsed, room); };
  bump(send_built(build, out.replies, out.reply_count) ? setup_.counters->icmp_unreachable_sent
                                                       : setup_.counters->resets_not_sent);
}

void PacketProcessor::drop(rte_mbuf* packet, Reason reason) {
  bump(setup_.counters->dropped_packets[static_cast<int>(reason)]);
  rte_pktmbuf_free(packet);
}

}  // namespace sluice

#include "dataplane/worker/packet_processor.h"

#include <algorithm>
#include <cstring>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/domain/hostname.h"
#include "dataplane/parse/http_request_parser.h"
#include "dataplane/parse/tls_client_hello_parser.h"
#include "dataplane/verdict/tcp_reset.h"

namespace sluice {

namespace {

constexpr uint16_t kDnsPort = 53;

bool is_neighbour_discovery(const ParsedPacket& packet) {
  // Router/neighbour solicitation and advertisement, redirect: the link needs them to work at all.
  return packet.ip_version == 6 && packet.l4_protocol == kIpProtoIcmpv6 && packet.icmp_type >= 133 &&
         packet.icmp_type <= 137;
}

Reason reason_for(PacketParseError error) {
  return error == PacketParseError::unsupported_ethertype ? Reason::unsupported_ethertype : Reason::malformed_packet;
}

bool has_ports(uint8_t protocol) { return protocol == kIpProtoTcp || protocol == kIpProtoUdp; }

// Verdicts reached on the name itself, which a new generation can reach again from the stored
// name; the other payload verdicts (no SNI, ECH, not HTTP…) depend on the bytes alone.
bool judged_on_name(Reason reason) { return reason == Reason::allowed_domain || reason == Reason::domain_not_allowed; }

}  // namespace

struct PacketProcessor::PacketContext {
  rte_mbuf* mbuf = nullptr;
  std::span<const uint8_t> frame;
  ParsedPacket parsed;
  PacketParseError parse_error = PacketParseError::none;
  FlowKey key;
  bool source_is_a = false;
  bool decided_now = false;  // this packet settled (or changed) its flow's verdict
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
  bool decided = false;  // false: wait for the first payload (inspection says which parser)
  bool allowed = false;
  Reason reason = Reason::ip_not_allowed;
  DestinationType type = DestinationType::ip;
  PortClass inspection = PortClass::none;
};

void PacketProcessor::process_burst(const CompiledPolicy& policy, Side ingress, rte_mbuf** packets, uint16_t count,
                                    BurstOutput& out) {
  out.forward_count = 0;
  out.reply_count = 0;
  count = std::min(count, kBurstSize);
  burst_tsc_ = rte_rdtsc();  // one clock read a burst: its packets arrived together
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
    if (context.parse_error == PacketParseError::none && parsed.ip_version != 0 && !parsed.is_fragment &&
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

void PacketProcessor::handle_packet(const CompiledPolicy& policy, Side ingress, PacketContext& packet,
                                    int32_t position, BurstOutput& out) {
  auto& counters = *setup_.counters;
  const auto& parsed = packet.parsed;
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
  if (parsed.is_fragment) {
    drop(packet.mbuf, Reason::ip_fragment);
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
  const uint64_t now = burst_tsc_;
  bool is_new = !flow.in_use;
  if (is_new) {
    flow = FlowEntry{};
    flow.in_use = true;
    flow.initiator_is_a = packet.source_is_a;
    flow.flow_id = (uint64_t(setup_.worker_index) << 40) | next_flow_number_++;
    name.length = 0;
    bump(counters.flows_created);
  }
  flow.last_seen_tsc = now;
  bool from_initiator = packet.source_is_a == flow.initiator_is_a;
  if (from_initiator && ingress == Side::outside) {
    // An outside host speaking with an inside host's address: never part of a flow we allowed.
    drop(packet.mbuf, Reason::unsolicited_inbound);
    return;
  }

  FlowFacts facts;
  facts.initiator = from_initiator ? parsed.src : parsed.dst;
  facts.responder = from_initiator ? parsed.dst : parsed.src;
  facts.initiator_port = from_initiator ? parsed.src_port : parsed.dst_port;
  facts.responder_port = from_initiator ? parsed.dst_port : parsed.src_port;
  facts.protocol = parsed.l4_protocol;

  if (is_new) {
    packet.decided_now = apply(policy, judge_destination(policy, facts, flow), facts, flow, nullptr, true);
  } else if (flow.generation != policy.generation) {
    // A new policy generation: judge the flow again, so that a revoked domain or a move to
    // ENFORCE takes effect on this very packet.
    packet.decided_now = apply(policy, rejudge(policy, facts, flow, name), facts, flow, &name, false);
  }
  if (flow.verdict == FlowVerdict::pending && from_initiator && parsed.payload_length > 0)
    packet.decided_now = apply(policy, judge_payload(policy, packet, flow, name), facts, flow, &name, true);

  switch (flow.verdict) {
    case FlowVerdict::pending:
    case FlowVerdict::allowed:
    case FlowVerdict::denied_dry_run:
      out.forward[out.forward_count++] = packet.mbuf;
      return;
    case FlowVerdict::denied_enforced:
      if (packet.decided_now) {
        if (parsed.l4_protocol == kIpProtoTcp && !(parsed.tcp_flags & kTcpRst)) send_reset(packet, out);
        drop(packet.mbuf, flow.reason);
      } else {
        drop(packet.mbuf, Reason::flow_denied);
      }
      return;
  }
}

PacketProcessor::Decision PacketProcessor::judge_destination(const CompiledPolicy& policy, const FlowFacts& facts,
                                                             FlowEntry& flow) const {
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
    decision.decided = false;  // judged on the first payload from the client
    decision.inspection = policy.port_class[port];
  } else {
    decision.reason = Reason::ip_not_allowed;
  }
  return decision;
}

PacketProcessor::Decision PacketProcessor::judge_name(const CompiledPolicy& policy, const FlowEntry& flow,
                                                      const FlowName& name, DestinationType type) const {
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  Decision decision;
  decision.decided = true;
  decision.type = type;
  decision.allowed = rules.domains &&
                     rules.domains->match({name.bytes, name.length}, policy.scratch[setup_.worker_index]) !=
                         kNoDomainMatch;
  decision.reason = decision.allowed ? Reason::allowed_domain : Reason::domain_not_allowed;
  return decision;
}

PacketProcessor::Decision PacketProcessor::judge_payload(const CompiledPolicy& policy, const PacketContext& packet,
                                                         FlowEntry& flow, FlowName& name) const {
  auto payload = packet.frame.subspan(packet.parsed.payload_offset, packet.parsed.payload_length);
  Decision decision;
  decision.decided = true;
  std::string_view raw_name;
  size_t length = 0;
  bool name_ok = false;

  if (flow.inspection == PortClass::tls) {
    decision.type = DestinationType::sni;
    ClientHelloInfo hello;
    switch (parse_client_hello(payload, hello)) {
      case ClientHelloStatus::ok:
        raw_name = hello.server_name;
        name_ok = normalize_hostname(raw_name, name.bytes, length) == HostnameStatus::ok;
        if (hello.has_encrypted_client_hello) decision.reason = Reason::tls_ech;
        else if (hello.server_name_count == 0) decision.reason = Reason::tls_no_sni;
        else if (hello.server_name_count > 1) decision.reason = Reason::tls_multiple_sni;
        else if (!name_ok) decision.reason = Reason::tls_invalid_sni;
        else decision.reason = Reason::allowed_domain;  // judged on the name below
        break;
      case ClientHelloStatus::incomplete: decision.reason = Reason::tls_client_hello_fragmented; break;
      case ClientHelloStatus::not_tls:
      case ClientHelloStatus::not_client_hello: decision.reason = Reason::tls_not_client_hello; break;
      case ClientHelloStatus::malformed: decision.reason = Reason::tls_malformed; break;
    }
  } else {
    decision.type = DestinationType::http_host;
    HttpRequestInfo request;
    switch (parse_http_request(payload, request)) {
      case HttpRequestStatus::ok:
        raw_name = request.host;
        name_ok = normalize_hostname(raw_name, name.bytes, length) == HostnameStatus::ok;
        decision.reason = name_ok ? Reason::allowed_domain : Reason::http_invalid_host;
        break;
      case HttpRequestStatus::incomplete: decision.reason = Reason::http_head_fragmented; break;
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
  if (decision.reason == Reason::allowed_domain) return judge_name(policy, flow, name, decision.type);
  return decision;  // denied by its own reason
}

PacketProcessor::Decision PacketProcessor::rejudge(const CompiledPolicy& policy, const FlowFacts& facts,
                                                   FlowEntry& flow, const FlowName& name) const {
  Decision decision = judge_destination(policy, facts, flow);
  if (decision.decided) return decision;
  if (flow.verdict == FlowVerdict::pending) return decision;  // still waiting for its payload
  if (judged_on_name(flow.reason)) return judge_name(policy, flow, name, flow.destination_type);
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
    flow.inspection = decision.inspection;
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
  if (name && name->length && flow.destination_type != DestinationType::ip) {
    event.name_length = name->length;
    std::memcpy(event.name, name->bytes, name->length);
  }
  if (rte_ring_sp_enqueue_elem(setup_.events, &event, sizeof event) != 0)
    bump(setup_.counters->events_dropped_ring_full);
}

void PacketProcessor::send_reset(const PacketContext& packet, BurstOutput& out) {
  rte_mbuf* reply = setup_.reply_pool ? rte_pktmbuf_alloc(setup_.reply_pool) : nullptr;
  if (!reply) {
    bump(setup_.counters->resets_not_sent);
    return;
  }
  std::span<uint8_t> room{rte_pktmbuf_mtod(reply, uint8_t*), rte_pktmbuf_tailroom(reply)};
  size_t length = build_tcp_reset(packet.frame, packet.parsed, room);
  if (length == 0) {
    rte_pktmbuf_free(reply);
    bump(setup_.counters->resets_not_sent);
    return;
  }
  reply->data_len = static_cast<uint16_t>(length);
  reply->pkt_len = static_cast<uint32_t>(length);
  out.replies[out.reply_count++] = reply;
  bump(setup_.counters->resets_sent);
}

void PacketProcessor::drop(rte_mbuf* packet, Reason reason) {
  bump(setup_.counters->dropped_packets[static_cast<int>(reason)]);
  rte_pktmbuf_free(packet);
}

}  // namespace sluice

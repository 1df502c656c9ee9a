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

// The port an allowed-network rule is checked against: the destination port, none for ICMP.
uint16_t rule_port(const ParsedPacket& packet) {
  return packet.l4_protocol == kIpProtoTcp || packet.l4_protocol == kIpProtoUdp ? packet.dst_port : 0;
}

}  // namespace

struct PacketProcessor::PacketContext {
  rte_mbuf* mbuf = nullptr;
  std::span<const uint8_t> frame;
  ParsedPacket parsed;
  PacketParseError parse_error = PacketParseError::none;
  FlowKey key;
  bool source_is_a = false;
  bool decided_now = false;  // this packet settled its flow's verdict
  uint8_t name_length = 0;
  char name[kMaxHostnameLength];
};

void PacketProcessor::process_burst(const CompiledPolicy& policy, Side ingress, rte_mbuf** packets, uint16_t count,
                                    BurstOutput& out) {
  out.forward_count = 0;
  out.reply_count = 0;
  count = std::min(count, kBurstSize);
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
    bump(counters.parse_errors[static_cast<int>(packet.parse_error) & 15]);
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
  uint64_t now = rte_rdtsc();
  if (!flow.in_use) {
    flow = FlowEntry{};
    flow.in_use = true;
    flow.initiator_is_a = packet.source_is_a;
    flow.flow_id = (uint64_t(setup_.worker_index) << 40) | next_flow_number_++;
    flow.first_seen_tsc = now;
    bump(counters.flows_created);
    judge_new_flow(policy, packet, flow);
  }
  flow.last_seen_tsc = now;
  bool from_initiator = packet.source_is_a == flow.initiator_is_a;
  if (from_initiator && ingress == Side::outside) {
    // An outside host speaking with an inside host's address: never part of a flow we allowed.
    drop(packet.mbuf, Reason::unsolicited_inbound);
    return;
  }
  ++(from_initiator ? flow.packets_from_initiator : flow.packets_from_responder);

  if (flow.verdict == FlowVerdict::pending && from_initiator && parsed.payload_length > 0)
    inspect_payload(policy, packet, flow);

  switch (flow.verdict) {
    case FlowVerdict::pending:
    case FlowVerdict::allowed:
    case FlowVerdict::denied_dry_run:
      out.forward[out.forward_count++] = packet.mbuf;
      return;
    case FlowVerdict::denied_enforced:
      if (packet.decided_now) {
        if (parsed.l4_protocol == kIpProtoTcp && from_initiator) send_reset(packet, out);
        drop(packet.mbuf, flow.reason);
      } else {
        drop(packet.mbuf, Reason::flow_denied);
      }
      return;
  }
}

void PacketProcessor::judge_new_flow(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow) {
  const auto& parsed = packet.parsed;
  flow.generation = policy.generation;
  flow.attachment_index = policy.attachment_index_for(parsed.src);
  flow.policy_index = policy.attachments[flow.attachment_index].policy_index;
  const CompiledRuleset& rules = policy.policies[flow.policy_index];

  if (rules.access_mode == AccessMode::full) {
    decide(flow, policy, true, Reason::allowed_full_access, DestinationType::ip);
  } else if (const NetworkRuleGroup* group = policy.networks ? policy.networks->lookup(parsed.dst) : nullptr;
             group && group->allows(flow.policy_index, parsed.l4_protocol, rule_port(parsed))) {
    decide(flow, policy, true, Reason::allowed_network, DestinationType::ip);
  } else if ((parsed.l4_protocol == kIpProtoUdp || parsed.l4_protocol == kIpProtoTcp) && parsed.dst_port == kDnsPort) {
    bool allowed = rules.allows_resolver(parsed.dst);
    decide(flow, policy, allowed, allowed ? Reason::allowed_dns_resolver : Reason::dns_resolver_not_allowed,
           DestinationType::dns);
  } else if (parsed.l4_protocol == kIpProtoTcp && policy.port_class[parsed.dst_port] != PortClass::none) {
    flow.inspection = policy.port_class[parsed.dst_port];
    return;  // pending: judged on the first payload from the client
  } else {
    decide(flow, policy, false, Reason::ip_not_allowed, DestinationType::ip);
  }
  packet.decided_now = true;
  emit_event(flow, packet, nullptr, 0);
}

void PacketProcessor::inspect_payload(const CompiledPolicy& policy, PacketContext& packet, FlowEntry& flow) {
  auto& context = packet;
  auto payload = context.frame.subspan(packet.parsed.payload_offset, packet.parsed.payload_length);
  const CompiledRuleset& rules = policy.policies[flow.policy_index];
  hs_scratch_t* scratch = policy.scratch[setup_.worker_index];
  size_t name_length = 0;
  Reason reason = Reason::domain_not_allowed;
  bool allowed = false;
  std::string_view raw_name;
  DestinationType type = DestinationType::sni;

  if (flow.inspection == PortClass::tls) {
    ClientHelloInfo hello;
    switch (parse_client_hello(payload, hello)) {
      case ClientHelloStatus::ok:
        raw_name = hello.server_name;
        if (hello.has_encrypted_client_hello) reason = Reason::tls_ech;
        else if (hello.server_name_count == 0) reason = Reason::tls_no_sni;
        else if (hello.server_name_count > 1) reason = Reason::tls_multiple_sni;
        else if (normalize_hostname(raw_name, context.name, name_length) != HostnameStatus::ok) reason = Reason::tls_invalid_sni;
        else if (rules.domains && rules.domains->match({context.name, name_length}, scratch) != kNoDomainMatch) {
          allowed = true;
          reason = Reason::allowed_domain;
        }
        break;
      case ClientHelloStatus::incomplete: reason = Reason::tls_client_hello_fragmented; break;
      case ClientHelloStatus::not_tls:
      case ClientHelloStatus::not_client_hello: reason = Reason::tls_not_client_hello; break;
      case ClientHelloStatus::malformed: reason = Reason::tls_malformed; break;
    }
  } else {
    type = DestinationType::http_host;
    HttpRequestInfo request;
    switch (parse_http_request(payload, request)) {
      case HttpRequestStatus::ok:
        raw_name = request.host;
        if (normalize_hostname(raw_name, context.name, name_length) != HostnameStatus::ok) reason = Reason::http_invalid_host;
        else if (rules.domains && rules.domains->match({context.name, name_length}, scratch) != kNoDomainMatch) {
          allowed = true;
          reason = Reason::allowed_domain;
        }
        break;
      case HttpRequestStatus::incomplete: reason = Reason::http_head_fragmented; break;
      case HttpRequestStatus::not_http: reason = Reason::http_not_request; break;
      case HttpRequestStatus::malformed: reason = Reason::http_malformed; break;
      case HttpRequestStatus::missing_host: reason = Reason::http_missing_host; break;
      case HttpRequestStatus::duplicate_host: reason = Reason::http_duplicate_host; break;
      case HttpRequestStatus::host_mismatch: reason = Reason::http_host_mismatch; break;
    }
  }
  if (name_length == 0 && !raw_name.empty()) {
    // A name that failed normalisation is still worth recording, cut to size.
    name_length = std::min(raw_name.size(), sizeof context.name);
    std::memcpy(context.name, raw_name.data(), name_length);
  }
  context.name_length = static_cast<uint8_t>(name_length);
  decide(flow, policy, allowed, reason, type);
  context.decided_now = true;
  emit_event(flow, packet, context.name, context.name_length);
}

void PacketProcessor::decide(FlowEntry& flow, const CompiledPolicy& policy, bool allowed, Reason reason,
                             DestinationType type) {
  const auto& attachment = policy.attachments[flow.attachment_index];
  flow.reason = reason;
  flow.destination_type = type;
  if (allowed) flow.verdict = FlowVerdict::allowed;
  else flow.verdict = attachment.enforcement == Enforcement::enforce ? FlowVerdict::denied_enforced
                                                                     : FlowVerdict::denied_dry_run;
  auto& counters = *setup_.counters;
  bump(counters.flow_verdicts[static_cast<int>(reason)]);
  if (flow.policy_index < kMaxPolicies)
    bump(counters.flows_by_policy[flow.policy_index][static_cast<int>(flow.verdict)]);
}

void PacketProcessor::emit_event(const FlowEntry& flow, const PacketContext& packet, const char* name,
                                 uint8_t name_length) {
  if (flow.verdict == FlowVerdict::allowed && !setup_.emit_allowed_flows) return;
  if (!setup_.events) return;
  FlowEvent event;
  event.flow_id = flow.flow_id;
  event.tsc = flow.last_seen_tsc ? flow.last_seen_tsc : rte_rdtsc();
  event.generation = flow.generation;
  event.src = packet.parsed.src;
  event.dst = packet.parsed.dst;
  event.src_port = packet.parsed.src_port;
  event.dst_port = packet.parsed.dst_port;
  event.attachment_index = flow.attachment_index;
  event.policy_index = flow.policy_index;
  event.protocol = packet.parsed.l4_protocol;
  event.verdict = flow.verdict;
  event.reason = flow.reason;
  event.destination_type = flow.destination_type;
  event.name_length = name_length;
  if (name_length) std::memcpy(event.name, name, name_length);
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

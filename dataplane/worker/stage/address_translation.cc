#include "dataplane/worker/stage/address_translation.h"

#include <span>

#include <rte_mbuf.h>

#include "dataplane/nat/snat_translator.h"
#include "dataplane/policy/compiled_policy.h"

namespace sluice {

namespace {

constexpr uint32_t kAgingBudget = 16;
// Slots of the destination counts walked a loop iteration for the top destinations: a pass over
// the largest table (2 × kMaxSnatTrackedDestinations slots) takes 4,096 iterations.
constexpr uint32_t kDestinationSweepBudget = 32;

std::span<uint8_t> first_segment(rte_mbuf* frame) { return {rte_pktmbuf_mtod(frame, uint8_t*), frame->data_len}; }

bool parse(std::span<uint8_t> bytes, ParsedPacket& packet) {
  return parse_packet(bytes, packet) == PacketParseError::none && (packet.ip_version == 4 || packet.ip_version == 6);
}

// The first resolver of the source's policy of `family`; family 0 when there is none.
IpAddress resolver_for(const CompiledPolicy* policy, const IpAddress& source, uint8_t family) {
  if (policy && !policy->attachments.empty()) {
    const CompiledAttachment& attachment = policy->attachment_for(source);
    if (attachment.policy_index < policy->policies.size())
      for (const IpAddress& resolver : policy->policies[attachment.policy_index].dns_resolvers)
        if (resolver.family == family) return resolver;
  }
  return IpAddress{};
}

Reason reason_of(SnatStatus status) {
  switch (status) {
    case SnatStatus::exhausted: return Reason::snat_ports_exhausted;
    case SnatStatus::no_binding: return Reason::snat_no_binding;
    default: return Reason::snat_untranslatable;
  }
}

}  // namespace

InboundTranslation AddressTranslation::translate_inbound(uint8_t ingress, rte_mbuf* frame) {
  NatState* nat = context_.setup.nat;
  if (!nat) return InboundTranslation::none;
  std::span<uint8_t> bytes = first_segment(frame);
  ParsedPacket packet;
  if (!parse(bytes, packet)) return InboundTranslation::none;
  if (ingress == uint8_t(Side::outside) && nat->snat && is_snat_address(nat->table, packet.dst)) {
    const SnatResult result = snat_inbound(bytes, packet, nat->table, context_.now_tsc);
    if (result.status == SnatStatus::translated) return InboundTranslation::translated;
    // A TCP/UDP port of the SNAT range, an echo reply or an ICMP error is a return packet of
    // some translation: not for the appliance's own services, dropped by reason. Anything
    // else to the address (a kernel service below the range, a probe) is local.
    const bool return_path = result.icmp_error || packet.l4_protocol == kIpProtoIcmp || packet.l4_protocol == kIpProtoIcmpv6 ||
                             (packet.dst_port >= nat->table.port_range().first && packet.dst_port <= nat->table.port_range().last);
    const bool icmp_echo_request = (packet.ip_version == 4 && packet.l4_protocol == kIpProtoIcmp && packet.icmp_type == 8) ||
                                   (packet.ip_version == 6 && packet.l4_protocol == kIpProtoIcmpv6 && packet.icmp_type == 128);
    if (!return_path || icmp_echo_request) return InboundTranslation::none;
    context_.drop(frame, reason_of(result.status));
    return InboundTranslation::dropped;
  }
  if (ingress == uint8_t(Side::inside) && nat->dns_forwarder && packet.dst_port == kDnsPort &&
      (packet.l4_protocol == kIpProtoUdp || packet.l4_protocol == kIpProtoTcp)) {
    const IpAddress resolver = resolver_for(context_.policy, packet.src, packet.ip_version);
    const DnsForwardStatus status = nat->forwards.forward_query(bytes, packet, resolver, context_.now_tsc);
    if (status == DnsForwardStatus::forwarded) {
      bump(context_.setup.counters->dns_forwarded_queries);
      return InboundTranslation::translated;
    }
    bump(context_.setup.counters->dns_forward_refused);
  }
  return InboundTranslation::none;
}

Reason AddressTranslation::translate_outbound(uint8_t, rte_mbuf* frame, const RouteEntry& route) {
  NatState* nat = context_.setup.nat;
  if (!nat) return Reason::count;
  std::span<uint8_t> bytes = first_segment(frame);
  ParsedPacket packet;
  if (!parse(bytes, packet)) return route.snat && nat->snat ? Reason::snat_untranslatable : Reason::count;
  if (nat->dns_forwarder && route.port == uint8_t(Side::inside) && packet.src_port == kDnsPort)
    nat->forwards.restore_answer(bytes, packet, context_.now_tsc);  // not_ours: left as it is
  if (!route.snat || !nat->snat) return Reason::count;
  const SnatResult result = snat_outbound(bytes, packet, nat->table, context_.now_tsc);
  publish_counters();
  return result.status == SnatStatus::translated ? Reason::count : reason_of(result.status);
}

void AddressTranslation::restore_reply(uint8_t ingress, rte_mbuf* frame) {
  NatState* nat = context_.setup.nat;
  if (!nat || !nat->dns_forwarder || ingress != uint8_t(Side::inside)) return;
  std::span<uint8_t> bytes = first_segment(frame);
  ParsedPacket packet;
  if (parse(bytes, packet) && packet.src_port == kDnsPort) nat->forwards.restore_answer(bytes, packet, context_.now_tsc);
}

void AddressTranslation::age(uint64_t now_tsc) {
  NatState* nat = context_.setup.nat;
  if (!nat) return;
  if (nat->snat && nat->table.age(now_tsc, nat->idle, kAgingBudget) != 0) publish_counters();
  if (nat->snat && nat->table.destinations().sweep(kDestinationSweepBudget)) {
    const SnatDestinationCounts& destinations = nat->table.destinations();
    publish_top_destinations(context_.setup.counters->snat_top_destinations, destinations.top(),
                             destinations.untracked_bindings());
  }
  if (nat->dns_forwarder) nat->forwards.age(now_tsc, kAgingBudget);
}

SourceTranslationStatus AddressTranslation::translated_source(uint8_t protocol, const IpAddress& client,
                                                              uint16_t client_port, const IpAddress& server,
                                                              uint16_t server_port, bool reserve, TranslatedSource& out) {
  NatState* nat = context_.setup.nat;
  if (!nat || !nat->snat || !context_.tables || (protocol != kIpProtoTcp && protocol != kIpProtoUdp))
    return SourceTranslationStatus::untranslated;
  const RouteResult route = context_.tables->lookup(server);
  if (!route.route || !route.route->snat) return SourceTranslationStatus::untranslated;
  // The key snat_outbound looks the flow's packets up by: the same binding, whoever makes it.
  const NatKey inside = make_nat_key(protocol, client, client_port, server, server_port);
  int32_t index = nat->table.find_inside(inside);
  if (index < 0) {
    if (!reserve) return SourceTranslationStatus::untranslated;
    const SnatAllocation allocation = nat->table.allocate(inside, context_.now_tsc);
    publish_counters();
    // Whatever the cause (no port toward the server, a full table, no address of the family),
    // the packet would be refused snat_ports_exhausted by translate_outbound all the same.
    if (allocation.status != SnatAllocationStatus::ok) return SourceTranslationStatus::exhausted;
    index = allocation.index;
  }
  const SnatBinding& binding = nat->table.binding(index);
  out.address = local_address(binding.outside);
  out.port = binding.outside.local_port;
  return SourceTranslationStatus::translated;
}

void AddressTranslation::publish_counters() {
  const SnatTable& table = context_.setup.nat->table;
  WorkerCounters& counters = *context_.setup.counters;
  counters.snat_allocation_failures.store(table.allocation_failures(), std::memory_order_relaxed);
  counters.snat_translations_active.store(table.active(), std::memory_order_relaxed);
  counters.snat_translations_quarantined.store(table.quarantined(), std::memory_order_relaxed);
  for (size_t i = 0; i < table.addresses().size() && i < size_t(kMaxSnatAddresses); ++i)
    counters.snat_ports_in_use[i].store(table.ports_in_use(i), std::memory_order_relaxed);
}

}  // namespace sluice

#include "dataplane/worker/stage/route.h"

#include <algorithm>
#include <cstring>
#include <span>

#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/verdict/icmp_router_error.h"
#include "dataplane/verdict/internet_checksum.h"

namespace sluice {

namespace {

constexpr size_t kEthernetLength = 14;
constexpr uint16_t kEtherTypeArpValue = 0x0806;
constexpr uint16_t kEtherTypeIpv4Value = 0x0800;
constexpr uint16_t kEtherTypeIpv6Value = 0x86dd;
constexpr size_t kIpv4MinimumFrame = kEthernetLength + 20;
constexpr size_t kIpv6MinimumFrame = kEthernetLength + 40;
constexpr uint8_t kNdFirstType = 133;  // router solicitation
constexpr uint8_t kNdLastType = 137;   // redirect

// The first segment's bytes: routed mode reads headers only, and a frame whose headers are not
// in its first segment is left to the processor, which drops it as truncated.
std::span<uint8_t> first_segment(rte_mbuf* frame) {
  return {rte_pktmbuf_mtod(frame, uint8_t*), frame->data_len};
}

IpAddress destination_of(std::span<const uint8_t> bytes, uint16_t ether_type) {
  IpAddress address;
  if (ether_type == kEtherTypeIpv4Value) {
    address.family = 4;
    std::memcpy(address.bytes, bytes.data() + kEthernetLength + 16, 4);
  } else {
    address.family = 6;
    std::memcpy(address.bytes, bytes.data() + kEthernetLength + 24, 16);
  }
  return address;
}

IpAddress source_of(std::span<const uint8_t> bytes, uint16_t ether_type) {
  IpAddress address;
  if (ether_type == kEtherTypeIpv4Value) {
    address.family = 4;
    std::memcpy(address.bytes, bytes.data() + kEthernetLength + 12, 4);
  } else {
    address.family = 6;
    std::memcpy(address.bytes, bytes.data() + kEthernetLength + 8, 16);
  }
  return address;
}

// The IPv4 header (with its options) of a frame at least kIpv4MinimumFrame long.
bool ipv4_header_sums_right(std::span<const uint8_t> bytes) {
  const size_t header = size_t(bytes[kEthernetLength] & 0x0f) * 4;
  if (header < 20 || kEthernetLength + header > bytes.size()) return false;
  return checksum_fold(checksum_sum(bytes.data() + kEthernetLength, header)) == 0;
}

MacAddress mac_at(const uint8_t* bytes) {
  MacAddress mac;
  std::memcpy(mac.bytes, bytes, sizeof mac.bytes);
  return mac;
}

}  // namespace

uint16_t ipv4_checksum_after_ttl_decrement(uint16_t checksum, uint8_t ttl, uint8_t protocol) {
  // HC' = ~(~HC + ~m + m') over the 16-bit word holding TTL and protocol.
  const uint16_t old_word = uint16_t((ttl << 8) | protocol);
  const uint16_t new_word = uint16_t((uint8_t(ttl - 1) << 8) | protocol);
  uint32_t sum = uint32_t(uint16_t(~checksum)) + uint16_t(~old_word) + new_word;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

void RouterContext::send(uint8_t port, rte_mbuf* frame) {
  if (!output.add(port, frame)) drop(frame, Reason::tx_failed);
}

bool RouterContext::report(const NeighbourEvent& event) {
  if (setup.neighbour_events && rte_ring_enqueue_elem(setup.neighbour_events, const_cast<NeighbourEvent*>(&event), sizeof event) == 0) return true;
  bump(setup.counters->neighbour_events_dropped_ring_full);
  return false;
}

void RouterContext::drop(rte_mbuf* frame, Reason reason) {
  bump(setup.counters->dropped_packets[static_cast<int>(reason)]);
  rte_pktmbuf_free(frame);
}

Router::Router(const RouterSetup& setup, uint64_t tsc_hz)
    : setup_(setup), tsc_hz_(tsc_hz), context_(setup_), local_(context_), neighbour_(context_), translation_(context_) {
  error_tokens_ = setup_.icmp_errors_per_second;
}

bool Router::begin(uint64_t now_tsc) {
  context_.now_tsc = now_tsc;
  context_.tables = setup_.tables->load(std::memory_order_acquire);
  context_.neighbours = setup_.neighbours ? setup_.neighbours->load(std::memory_order_acquire) : nullptr;
  if (context_.tables) translation_.age(now_tsc);
  return context_.tables != nullptr;
}

uint16_t Router::before(uint8_t ingress, rte_mbuf** packets, uint16_t count) {
  uint16_t kept = 0;
  uint64_t consumed_bytes = 0;
  uint16_t consumed = 0;
  for (uint16_t i = 0; i < count; ++i) {
    rte_mbuf* frame = packets[i];
    const uint32_t length = rte_pktmbuf_pkt_len(frame);
    if (sort_one(ingress, frame) == Kept::transit) {
      packets[kept++] = frame;
    } else {
      ++consumed;
      consumed_bytes += length;
    }
  }
  // The processor counts what it receives; the router counts the rest as received too.
  if (ingress < kSideCount && consumed) {
    bump(setup_.counters->rx_packets[ingress], consumed);
    bump(setup_.counters->rx_bytes[ingress], consumed_bytes);
  }
  return kept;
}

Router::Kept Router::sort_one(uint8_t ingress, rte_mbuf* frame) {
  const RoutingTables& tables = *context_.tables;
  if (ingress == setup_.local.exception_port) {
    // The host kernel's frames (its answers to the kernel services): routed straight out, not
    // judged by a workload's policy; the tap is NOARP, so nothing but IP comes from it.
    if (local_.from_kernel_acceptable(frame)) route_one(ingress, frame);
    else context_.drop(frame, Reason::exception_source_not_own);
    return Kept::consumed;
  }
  std::span<uint8_t> bytes = first_segment(frame);
  if (bytes.size() < kEthernetLength) return Kept::transit;  // the processor drops it, malformed
  const MacAddress destination_mac = mac_at(bytes.data());
  if (!destination_mac.is_multicast() && !(destination_mac == tables.port(ingress).mac)) {
    // Another host's unicast flooded onto the segment (the port is promiscuous).
    context_.drop(frame, Reason::frame_not_for_appliance);
    return Kept::consumed;
  }
  const uint16_t ether_type = load_be16(bytes.data() + 12);
  if (ether_type == kEtherTypeArpValue) {
    if (!neighbour_.handle(ingress, frame)) context_.drop(frame, Reason::neighbour_protocol_unhandled);
    return Kept::consumed;
  }
  const bool v4 = ether_type == kEtherTypeIpv4Value && bytes.size() >= kIpv4MinimumFrame;
  const bool v6 = ether_type == kEtherTypeIpv6Value && bytes.size() >= kIpv6MinimumFrame;
  if (!v4 && !v6) {
    if (ether_type == kEtherTypeIpv4Value || ether_type == kEtherTypeIpv6Value) return Kept::transit;  // truncated
    context_.drop(frame, Reason::routed_non_ip);  // VLAN tags, LLDP, anything else: not routed
    return Kept::consumed;
  }
  const uint8_t* ip = bytes.data() + kEthernetLength;
  if (v6 && ip[6] == kIpProtoIcmpv6 && bytes.size() > kIpv6MinimumFrame && ip[40] >= kNdFirstType &&
      ip[40] <= kNdLastType) {
    if (!neighbour_.handle(ingress, frame)) context_.drop(frame, Reason::neighbour_protocol_unhandled);
    return Kept::consumed;
  }
  if (destination_mac.is_multicast()) {
    context_.drop(frame, Reason::routed_multicast);  // IP broadcast and multicast are not routed
    return Kept::consumed;
  }
  // Reverse path: a source the routes would not send back out of this port is spoofed — a
  // workload claiming an outside address so that the kernel's answer (an echo), the DNS
  // forwarder's answer or an ICMP error would carry its bytes to that address past the policy.
  const RouteResult back = tables.lookup(source_of(bytes, ether_type));
  if (!back.route || back.route->port != ingress) {
    context_.drop(frame, Reason::source_not_routed_back);
    return Kept::consumed;
  }
  IpAddress destination = destination_of(bytes, ether_type);
  if (tables.owner_of(destination) != kNoPort) {
    const InboundTranslation translated = translation_.translate_inbound(ingress, frame);
    if (translated == InboundTranslation::dropped) return Kept::consumed;
    if (translated == InboundTranslation::translated) {
      bytes = first_segment(frame);
      if (bytes.size() < (v4 ? kIpv4MinimumFrame : kIpv6MinimumFrame)) return Kept::transit;
      destination = destination_of(bytes, ether_type);
    } else {
      if (!local_.deliver(ingress, frame)) context_.drop(frame, Reason::local_not_allowed);
      return Kept::consumed;
    }
  }
  const uint8_t ttl = v4 ? ip[8] : ip[7];
  // An IPv4 header that does not sum right is the processor's to drop (ipv4_header_checksum_bad):
  // the next router would discard it, so the appliance answers nothing about it.
  if (ttl <= 1 && (!v4 || ipv4_header_sums_right(bytes))) {
    send_icmp_error(ingress, frame, false, 0);
    context_.drop(frame, Reason::ttl_expired);
    return Kept::consumed;
  }
  return Kept::transit;
}

void Router::after(uint8_t ingress, BurstOutput& out) {
  for (uint16_t i = 0; i < out.reply_count; ++i) {
    translation_.restore_reply(ingress, out.replies[i]);
    context_.send(ingress, out.replies[i]);
  }
  for (uint16_t i = 0; i < out.forward_count; ++i) route_one(ingress, out.forward[i]);
  out.reply_count = 0;
  out.forward_count = 0;
}

void Router::route_one(uint8_t ingress, rte_mbuf* frame) {
  const RoutingTables& tables = *context_.tables;
  std::span<uint8_t> bytes = first_segment(frame);
  const uint16_t ether_type = bytes.size() >= kEthernetLength ? load_be16(bytes.data() + 12) : 0;
  const bool v4 = ether_type == kEtherTypeIpv4Value && bytes.size() >= kIpv4MinimumFrame;
  const bool v6 = ether_type == kEtherTypeIpv6Value && bytes.size() >= kIpv6MinimumFrame;
  if (!v4 && !v6) {
    context_.drop(frame, Reason::routed_non_ip);
    return;
  }
  uint8_t* ip = bytes.data() + kEthernetLength;
  const RouteResult result = tables.lookup(destination_of(bytes, ether_type));
  if (!result.route) {
    context_.drop(frame, Reason::no_route);
    return;
  }
  const uint8_t port = result.route->port;
  uint8_t& ttl = v4 ? ip[8] : ip[7];
  if (ttl <= 1) {  // only the appliance's own frames can get here (arrivals were sorted before)
    context_.drop(frame, Reason::ttl_expired);
    return;
  }
  const uint32_t ip_length = v4 ? load_be16(ip + 2) : 40u + load_be16(ip + 4);
  const uint32_t mtu = tables.port(port).mtu;
  if (ip_length > mtu) {
    send_icmp_error(ingress, frame, true, mtu);
    context_.drop(frame, Reason::packet_too_big);
    return;
  }
  MacAddress next_hop_mac;
  if (!context_.neighbours || !context_.neighbours->find(port, result.next_hop, next_hop_mac)) {
    NeighbourEvent wanted;
    wanted.kind = NeighbourEventKind::wanted;
    wanted.port = port;
    wanted.address = result.next_hop;
    context_.report(wanted);
    context_.drop(frame, Reason::neighbour_unresolved);
    return;
  }
  if (Reason refused = translation_.translate_outbound(ingress, frame, *result.route); refused != Reason::count) {
    context_.drop(frame, refused);
    return;
  }
  bytes = first_segment(frame);  // translation may have moved nothing, but re-read to be safe
  ip = bytes.data() + kEthernetLength;
  if (v4) {
    store_be16(ip + 10, ipv4_checksum_after_ttl_decrement(load_be16(ip + 10), ip[8], ip[9]));
    ip[8] = uint8_t(ip[8] - 1);
  } else {
    ip[7] = uint8_t(ip[7] - 1);
  }
  std::memcpy(bytes.data(), next_hop_mac.bytes, 6);
  std::memcpy(bytes.data() + 6, tables.port(port).mac.bytes, 6);
  bump(setup_.counters->routed_packets);
  context_.send(port, frame);
}

bool Router::take_error_token() {
  const double rate = setup_.icmp_errors_per_second;
  const uint64_t now = context_.now_tsc;
  if (tsc_hz_ && now > error_tokens_tsc_) {
    error_tokens_ = std::min(rate, error_tokens_ + double(now - error_tokens_tsc_) * rate / double(tsc_hz_));
    error_tokens_tsc_ = now;
  }
  if (error_tokens_ < 1) {
    bump(setup_.counters->icmp_router_errors_rate_limited);
    return false;
  }
  error_tokens_ -= 1;
  return true;
}

// An ICMP error about `frame` (still owned by the caller) back out of `ingress`, from the
// appliance's own address there, to the previous hop (MAC addresses swapped).
void Router::send_icmp_error(uint8_t ingress, rte_mbuf* frame, bool too_big, uint32_t mtu) {
  std::span<uint8_t> bytes = first_segment(frame);
  const uint16_t ether_type = load_be16(bytes.data() + 12);
  const IpAddress* source = context_.tables->own_address(ingress, ether_type == kEtherTypeIpv4Value ? 4 : 6);
  if (!source || !take_error_token()) return;
  rte_mbuf* error = setup_.reply_pool ? rte_pktmbuf_alloc(setup_.reply_pool) : nullptr;
  if (!error) {
    bump(setup_.counters->resets_not_sent);
    return;
  }
  std::span<uint8_t> room{rte_pktmbuf_mtod(error, uint8_t*), rte_pktmbuf_tailroom(error)};
  const size_t length = too_big ? build_icmp_too_big(bytes, kEthernetLength, *source, mtu, room)
                                : build_icmp_time_exceeded(bytes, kEthernetLength, *source, room);
  if (length == 0) {
    rte_pktmbuf_free(error);
    return;
  }
  error->data_len = uint16_t(length);
  error->pkt_len = uint32_t(length);
  bump(too_big ? setup_.counters->icmp_too_big_sent : setup_.counters->icmp_time_exceeded_sent);
  context_.send(ingress, error);
}

void Router::take_control_frames(rte_ring* ring) {
  if (!ring) return;
  rte_mbuf* frames[kBurstSize];
  const unsigned count = rte_ring_dequeue_burst(ring, reinterpret_cast<void**>(frames), kBurstSize, nullptr);
  for (unsigned i = 0; i < count; ++i) {
    const uint16_t port = frames[i]->port;
    if (port >= kMaxRoutedPorts || !context_.tables->port(uint8_t(port)).present) {
      context_.drop(frames[i], Reason::control_frame_bad_port);
      continue;
    }
    bump(setup_.counters->control_frames_sent);
    context_.send(uint8_t(port), frames[i]);
  }
}

}  // namespace sluice

// The router stage of routed mode (routing.mode = ROUTED), around the packet processor:
//   before — a burst received on a routed port: frames not for the appliance's MAC, non-IP
//     frames and IP multicast are dropped; ARP and ND go to the neighbour hook; frames for the
//     appliance's own addresses go to the address-translation hook (answers of translated
//     flows) and otherwise to the local-delivery hook; an expiring TTL / hop limit (at most 1)
//     gets ICMP time exceeded (rate-limited). What is left is transit traffic for the processor.
//   after — every packet the processor forwards is routed: route lookup, MTU check (ICMP
//     fragmentation needed / packet too big), next hop's MAC from the published NeighbourTable
//     (a miss: NeighbourEvent "wanted" to the control thread and a drop), outbound translation,
//     TTL / hop limit decrement, L2 rewrite, onto the outgoing port's list (which may be the
//     port it came in by). The processor's replies go back out of the ingress port.
// Bridge mode never builds a Router. No allocation, lock, syscall or exception.
#pragma once

#include <cstdint>

#include "dataplane/worker/stage/address_translation.h"
#include "dataplane/worker/stage/local_delivery.h"
#include "dataplane/worker/stage/neighbour_protocol.h"
#include "dataplane/worker/stage/router_context.h"

struct rte_mbuf;
struct rte_ring;

namespace sluice {

class Router {
 public:
  Router(const RouterSetup& setup, uint64_t tsc_hz);
  Router(const Router&) = delete;  // the hooks hold references into it
  Router& operator=(const Router&) = delete;

  // Reads the published tables for this loop iteration. False: none is published yet (the
  // caller then neither receives nor sends).
  bool begin(uint64_t now_tsc);
  // The policy generation this loop iteration judges with (the DNS forwarder picks its resolver).
  void use_policy(const CompiledPolicy* policy) { context_.policy = policy; }

  // Sorts `count` frames received on routed port `ingress`; the ones for the packet processor
  // are moved to the front of `packets`, their number returned. The others are handled or freed.
  uint16_t before(uint8_t ingress, rte_mbuf** packets, uint16_t count);

  // Routes what the processor handed back for a burst from `ingress` into output().
  void after(uint8_t ingress, BurstOutput& out);

  // Frames the control thread wants sent (ARP requests, gratuitous ARP, unsolicited NA): up to
  // a burst from `ring` (rte_mbuf pointers; each mbuf's `port` field is the routed port index).
  void take_control_frames(rte_ring* ring);

  // The frames to send this iteration, per routed port; the caller transmits and resets them.
  RoutedOutput& output() { return context_.output; }

  // The packet processor's view of source NAT (PacketProcessor::set_source_translation), so that
  // records carry the source a flow left with. Lives as long as the router.
  SourceTranslation& source_translation() { return translation_; }

 private:
  enum class Kept : uint8_t { transit, consumed };
  Kept sort_one(uint8_t ingress, rte_mbuf* frame);
  void route_one(uint8_t ingress, rte_mbuf* frame);
  void send_icmp_error(uint8_t ingress, rte_mbuf* frame, bool too_big, uint32_t mtu);
  bool take_error_token();

  RouterSetup setup_;
  uint64_t tsc_hz_;
  RouterContext context_;
  LocalDelivery local_;
  NeighbourProtocol neighbour_;
  AddressTranslation translation_;
  double error_tokens_ = 0;
  uint64_t error_tokens_tsc_ = 0;
};

// The IPv4 header checksum after a TTL decrement (RFC 1624 incremental update): `checksum` is
// the field's value, `ttl` the TTL before. Pure; exposed for tests.
uint16_t ipv4_checksum_after_ttl_decrement(uint16_t checksum, uint8_t ttl, uint8_t protocol);

}  // namespace sluice

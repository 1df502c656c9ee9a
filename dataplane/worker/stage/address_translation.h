// Routed mode's address-translation hook: source NAT and the DNS forwarder (dataplane/nat/).
//  - translate_inbound: before the packet processor, a frame addressed to one of the
//    appliance's own addresses. On OUTSIDE, an answer to a SNAT address (or an ICMP error about
//    a translated flow) gets its original destination back, so the processor sees the flow's
//    original tuple, and is then routed as transit. On INSIDE, a DNS query to an own address,
//    port 53, with the forwarder on, goes to the source's policy's first resolver of the
//    query's family (so the DNS guard and learning judge a query to that resolver).
//  - translate_outbound: after the processor and the route lookup, a packet about to leave by
//    `route` (its next hop resolved, its size within the MTU): an answer of a forwarded query
//    gets the address the client asked as its source back; a route with snat gets its source
//    translated. The router decrements the TTL and rewrites L2 afterwards.
// Without a NatState (RouterSetup::nat null, or neither SNAT addresses nor the forwarder),
// nothing is translated.
#pragma once

#include <cstdint>

#include "dataplane/nat/dns_forwarder.h"
#include "dataplane/nat/snat_table.h"
#include "dataplane/reason.h"
#include "dataplane/worker/stage/router_context.h"
#include "dataplane/worker/stage/source_translation.h"

struct rte_mbuf;

namespace sluice {

// One worker's translation state: made by the control thread before the worker starts
// (SnatTable::init, DnsForwardTable::init), then used by that worker alone.
struct NatState {
  bool snat = false;           // routing.snat.addresses is not empty
  SnatTable table;             // this worker's slice of the SNAT range
  SnatIdleTimeouts idle;       // TSC ticks
  bool dns_forwarder = false;  // routing.dns_forwarder.enabled
  DnsForwardTable forwards;
};

enum class InboundTranslation : uint8_t {
  none,        // not translated: the frame is for the appliance itself (local delivery)
  translated,  // rewritten (checksums too); now transit for the processor
  dropped,     // freed by the hook, counted under its reason
};

// Also the packet processor's SourceTranslation (source_translation.h): a new flow that leaves
// by a snat route gets its translation at its verdict, and its records read it back.
class AddressTranslation final : public SourceTranslation {
 public:
  explicit AddressTranslation(RouterContext& context) : context_(context) {}

  InboundTranslation translate_inbound(uint8_t ingress, rte_mbuf* frame);
  // Reason::count: go on. Anything else: the router drops `frame` with that reason.
  Reason translate_outbound(uint8_t ingress, rte_mbuf* frame, const RouteEntry& route);
  // A reply the processor built (a DNS answer refusing a name, a reset) going back out of the
  // INSIDE port to a forwarded query's client: its source becomes the address the client asked,
  // as a resolver's own answer's does (else the client drops it and waits for its timeout).
  void restore_reply(uint8_t ingress, rte_mbuf* frame);
  // Once a loop iteration: ends idle translations, frees quarantined ones, forgets idle
  // forwarded queries (a bounded slice of each table).
  void age(uint64_t now_tsc);

  // SourceTranslation: the route to `server` in this burst's tables decides; only TCP and UDP
  // flows (an ICMP echo's identifier is not in the flow's tuple) are answered.
  SourceTranslationStatus translated_source(uint8_t protocol, const IpAddress& client, uint16_t client_port,
                                            const IpAddress& server, uint16_t server_port, bool reserve,
                                            TranslatedSource& out) override;

 private:
  void publish_counters();

  RouterContext& context_;
};

}  // namespace sluice

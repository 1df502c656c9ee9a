// What a worker tells the control thread about a judged flow: every denial, and every verdict
// when a flow log is on. Copied by value through a bounded rte_ring (worker: enqueue,
// control: dequeue); a full ring is counted, never waited on.
#pragma once

#include <cstdint>

#include "dataplane/domain/hostname.h"
#include "dataplane/flow/flow_entry.h"
#include "dataplane/parse/ip_address.h"

namespace sluice {

inline constexpr int kMaxRecordedAlpn = 32;
inline constexpr int kMaxRecordedPath = 128;

struct alignas(8) FlowEvent {
  uint64_t flow_id = 0;
  uint64_t tsc = 0;  // rte_rdtsc() when the verdict was reached
  uint64_t generation = 0;
  IpAddress src;     // the inside host that opened the flow
  IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t attachment_index = 0;
  uint16_t policy_index = 0;
  uint8_t protocol = 0;
  FlowVerdict verdict = FlowVerdict::pending;
  Reason reason = Reason::allowed_full_access;
  DestinationType destination_type = DestinationType::ip;
  uint8_t name_length = 0;          // the SNI or Host judged; 0 when none
  char name[kMaxHostnameLength] = {};
  // From the ClientHello of a flow judged on its SNI; empty / 0 otherwise.
  uint8_t tls_alpn_length = 0;
  char tls_alpn[kMaxRecordedAlpn] = {};  // the first ALPN protocol offered, cut to size
  uint16_t tls_version = 0;              // the highest version offered (0x0304 = TLS 1.3)
  // A denied DNS query (one message, not a flow; `name` is its query name, empty when it had
  // none readable): the rcode the appliance answered (or, in DRY_RUN, would have answered) it
  // with, -1 when it answers nothing (DROP, a TCP reset, a malformed query).
  bool dns_query = false;
  int8_t dns_rcode = -1;
  // A plain-HTTP request to a storage path-style endpoint: its path, judged for the bucket it
  // names (cut to size; path_length counts what was kept).
  uint8_t path_length = 0;
  char path[kMaxRecordedPath] = {};
  // The numbered rule that decided (index into the judging generation's
  // CompiledRuleset::rules, which the control thread turns into its name); 0xffff (kNoRule):
  // none, the allow lists or nothing decided.
  uint16_t rule_index = 0xffff;
  // Routed mode with source NAT: the address and port the flow left with (family 0: not
  // translated; records then leave the fields out).
  IpAddress translated_src;
  uint16_t translated_src_port = 0;
};
static_assert(sizeof(FlowEvent) % 4 == 0, "rte_ring element size must be a multiple of 4");

}  // namespace sluice

#include "dataplane/flow/flow_key.h"

namespace sluice {

// The event a flow still waiting for its first payload is reported with when a run ends.
inline FlowEvent pending_flow_event(const FlowKey& key, const FlowEntry& flow) {
  FlowEvent event;
  event.flow_id = flow.flow_id;
  event.tsc = flow.last_seen_tsc;
  event.generation = flow.generation;
  event.src.family = event.dst.family = key.family;
  const uint8_t* initiator = flow.initiator_is_a ? key.address_a : key.address_b;
  const uint8_t* responder = flow.initiator_is_a ? key.address_b : key.address_a;
  std::memcpy(event.src.bytes, initiator, 16);
  std::memcpy(event.dst.bytes, responder, 16);
  event.src_port = flow.initiator_is_a ? key.port_a : key.port_b;
  event.dst_port = flow.initiator_is_a ? key.port_b : key.port_a;
  event.attachment_index = flow.attachment_index;
  event.policy_index = flow.policy_index;
  event.protocol = key.protocol;
  event.verdict = flow.verdict;
  event.reason = flow.reason;
  event.destination_type = flow.inspection == PortClass::http   ? DestinationType::http_host
                           : flow.inspection == PortClass::quic ? DestinationType::quic_sni
                                                                : DestinationType::sni;
  return event;
}

}  // namespace sluice

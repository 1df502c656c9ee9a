// Counters of one worker. Worker: the only writer (relaxed load+store, no locked instruction);
// control thread and metrics scrapes: readers (relaxed loads). Cache-aligned per worker so that
// workers never share a line.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/flow/flow_entry.h"
#include "dataplane/nat/snat_destinations.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/reason.h"

namespace sluice {

inline constexpr int kMaxPolicies = 4096;  // the validator refuses more
inline constexpr int kSideCount = 2;
inline constexpr int kMaxSnatAddresses = 16;  // routing.snat.addresses: the config check refuses more

enum class Side : uint8_t { inside = 0, outside = 1 };
inline const char* to_string(Side side) { return side == Side::inside ? "inside" : "outside"; }

using Counter = std::atomic<uint64_t>;

// Single-writer increment: a plain add, visible to readers without tearing.
inline void bump(Counter& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
inline uint64_t read(const Counter& counter) { return counter.load(std::memory_order_relaxed); }

struct alignas(64) WorkerCounters {
  Counter rx_packets[kSideCount] = {};
  Counter rx_bytes[kSideCount] = {};
  Counter tx_packets[kSideCount] = {};   // forwarded or replies sent out of that side's port
  Counter tx_bytes[kSideCount] = {};
  Counter resets_sent = 0;
  Counter resets_not_sent = 0;           // no mbuf for a reset or ICMP error
  Counter onward_resets_sent = 0;        // resets sent on to the far end of a denied TCP flow
  Counter icmp_unreachable_sent = 0;     // ICMP/ICMPv6 administratively-prohibited errors for denied UDP
  Counter replies_rate_limited = 0;      // retries of denied flows not answered (deny_replies_per_second)
  Counter events_dropped_ring_full = 0;  // flow events lost because the control ring was full
  Counter infrastructure_packets = 0;   // ARP and IPv6 neighbour discovery, passed without a flow
  Counter flows_created = 0;
  Counter flows_refused_table_full = 0;  // flows, not packets: retries within 75 s count once (RefusedFlows)
  Counter flows_expired[kFlowStateCount] = {};  // removed by idle aging, by the state they were in
  Counter reassembly_started = 0;        // ClientHellos/heads that needed more than their first segment
  Counter reassembly_refused = 0;        // … while every reassembly slot was in use
  Counter fragments_forwarded = 0;       // non-first IP fragments that followed their flow
  Counter icmp_errors_forwarded = 0;     // ICMP errors from outside forwarded on the flow they quote
  Counter dns_answers_parsed = 0;        // answers from allowed resolvers read for learning
  Counter dns_answers_unparsed = 0;      // … that were not a well-formed response
  Counter dns_answers_name_not_allowed = 0;  // … for a name no allowed domain matches: nothing learned
  Counter dns_addresses_learned = 0;     // addresses sent to the control thread
  Counter dns_learned_dropped_ring_full = 0;  // … lost because the learning ring was full
  Counter dns_queries_allowed = 0;       // queries to allowed resolvers whose name the policy allows
  Counter dns_queries_denied = 0;        // … denied (DRY_RUN ones too), each message once
  Counter dns_refusals_sent = 0;         // NXDOMAIN/REFUSED answers the appliance built for denied queries
  Counter dns_pending_evicted = 0;       // forwarded queries forgotten unanswered to make room
  Counter dns_answers_from_inside = 0;   // answers arriving on the inside port (forged): dropped, nothing learned
  Counter dns_answers_unsolicited = 0;   // answers to no pending query (id, addresses, ports): nothing learned
  Counter dns_answers_question_mismatch = 0;  // … whose question differs from the pending query's
  Counter dns_answers_late = 0;          // … arriving after the query's deadline
  Counter dns_answers_bad_name = 0;      // … with a name outside host-name syntax (query name or CNAME chain)
  // Routed mode (dataplane/worker/stage/route.h).
  Counter routed_packets = 0;                  // forwarded after a route lookup and L2 rewrite
  Counter icmp_time_exceeded_sent = 0;         // ICMP time exceeded for an expiring TTL / hop limit
  Counter icmp_too_big_sent = 0;               // ICMP fragmentation needed / packet too big
  Counter icmp_router_errors_rate_limited = 0; // … not sent (RouterSetup::icmp_errors_per_second)
  Counter neighbour_events_dropped_ring_full = 0;  // NeighbourEvents lost because the ring was full
  Counter control_frames_sent = 0;             // frames the control thread handed the worker to send
  // Several workers (worker_lanes.h): frames handed to their flow's owner, frames taken from
  // other workers, frames put on another worker's transmit ring.
  Counter handoff_sent = 0;
  Counter handoff_received = 0;
  Counter tx_ring_sent = 0;
  Counter dropped_packets[kReasonCount] = {};  // per reason
  Counter flow_verdicts[kReasonCount] = {};    // judged flows per reason
  Counter flows_by_policy[kMaxPolicies][kFlowVerdictCount] = {};  // by CompiledRuleset::counter_slot
  Counter flows_rejudged[kFlowVerdictCount] = {};  // verdicts changed by a new policy generation, by new verdict
  Counter parse_errors[static_cast<int>(PacketParseError::count)] = {};  // per PacketParseError
  Counter last_rx_tsc = 0;                     // for idle detection by the control thread
  Counter loops = 0;                           // poll-loop iterations: the control thread sees the worker alive
  Counter busy_cycles = 0;                     // TSC cycles of loop iterations that moved packets
  Counter cycles = 0;                          // TSC cycles of all loop iterations
  // Age of the oldest flow still waiting for its verdict (0: none), in ms, as the aging sweep
  // found it on its last complete pass over the flow table: it lags by up to one pass.
  Counter oldest_pending_age_ms = 0;
  // Source NAT (routed mode; all 0 in bridge mode). The worker stores its SnatTable's figures
  // after each change: gauges except the failures.
  Counter snat_allocation_failures = 0;              // new flows refused snat_ports_exhausted
  Counter snat_translations_active = 0;
  Counter snat_translations_quarantined = 0;
  Counter snat_ports_in_use[kMaxSnatAddresses] = {};  // by index of routing.snat.addresses
  // The destinations holding the most SNAT ports, as of the worker's last pass over its
  // destination counts (snat_destinations.h; worker: publish, readers: read_top_destinations).
  SnatTopDestinationsSlot snat_top_destinations;
  Counter dns_forwarded_queries = 0;  // DNS forwarder: queries to an INSIDE address sent on to a resolver
  Counter dns_forward_refused = 0;    // … left to local delivery: no resolver of the family, table full
};

}  // namespace sluice

#include "controlplane/daemon/metrics_exporter.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <limits>

#include "controlplane/build_info.h"
#include "controlplane/daemon/neighbour_manager.h"
#include "dataplane/reason.h"

namespace sluice {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr const char* kVerdictLabels[kFlowVerdictCount] = {"PENDING", "ALLOW", "DROP", "DRY_RUN_DENIAL"};

MetricFamily family(const std::string& name, const std::string& help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

void add(MetricFamily& f, double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (f.type == MetricType::Counter) metric.counter.value = value;
  else metric.gauge.value = value;
  f.metric.push_back(std::move(metric));
}

MetricFamily histogram_family(const std::string& name, const std::string& help, const LatencyHistogram& histogram) {
  auto f = family(name, help, MetricType::Histogram);
  ClientMetric metric;
  for (size_t i = 0; i < LatencyHistogram::kUpperBounds.size(); ++i) {
    ClientMetric::Bucket bucket;
    bucket.upper_bound = LatencyHistogram::kUpperBounds[i];
    bucket.cumulative_count = histogram.cumulative(i);
    metric.histogram.bucket.push_back(bucket);
  }
  ClientMetric::Bucket infinity;
  infinity.upper_bound = std::numeric_limits<double>::infinity();
  infinity.cumulative_count = histogram.count();
  metric.histogram.bucket.push_back(infinity);
  metric.histogram.sample_count = histogram.count();
  metric.histogram.sample_sum = histogram.sum_seconds();
  f.metric.push_back(std::move(metric));
  return f;
}

template <typename Field>
uint64_t sum(const MetricsView& view, Field field) {
  uint64_t total = 0;
  for (const auto* worker : view.workers) total += read(field(*worker));
  return total;
}

// Source NAT: the families are there in bridge mode too (no samples, or 0), so that dashboards
// and the catalogue do not depend on the mode.
void collect_snat(const MetricsView& view, std::vector<MetricFamily>& families) {
  auto in_use = family("sluice_snat_ports_in_use",
                       "Source ports of the SNAT range in use (by a translation or its quarantine), by SNAT address.",
                       MetricType::Gauge);
  uint64_t fullest = 0;
  for (size_t i = 0; i < view.snat_addresses.size() && i < size_t(kMaxSnatAddresses); ++i) {
    const uint64_t ports = sum(view, [&](const WorkerCounters& w) -> const Counter& { return w.snat_ports_in_use[i]; });
    fullest = std::max(fullest, ports);
    add(in_use, double(ports), {{"address", view.snat_addresses[i]}});
  }
  families.push_back(std::move(in_use));
  auto ratio = family("sluice_snat_fullest_address_ratio",
                      "The share of the SNAT port range in use on the fullest SNAT address (1: a new flow there may be refused).",
                      MetricType::Gauge);
  add(ratio, view.snat_range_ports == 0 ? 0.0 : double(fullest) / view.snat_range_ports);
  families.push_back(std::move(ratio));
  // Per destination: the fullest few, so the label set stays bounded (kSnatTopDestinations
  // series at most, by rank); each worker keeps its own top (snat_destinations.h).
  std::vector<const SnatTopDestinationsSlot*> slots;
  for (const auto* worker : view.workers) slots.push_back(&worker->snat_top_destinations);
  uint32_t untracked = 0;
  const SnatTopDestinations top = merge_top_destinations(slots, untracked);
  auto by_destination = family("sluice_snat_destination_ports_in_use",
                               "SNAT ports in use toward each of the destinations (server address, port, protocol) holding the most, by rank (1: the fullest); the range is exhausted per destination.",
                               MetricType::Gauge);
  for (int i = 0; i < top.count; ++i)
    add(by_destination, double(top.entries[i].ports_in_use),
        {{"rank", std::to_string(i + 1)}, {"destination", format_destination(top.entries[i])}});
  families.push_back(std::move(by_destination));
  auto destination_ratio = family("sluice_snat_fullest_destination_ratio",
                                  "The share of the SNAT ports toward the fullest destination in use (its ports over the range times the SNAT addresses of its family; 1: a new flow to it is refused).",
                                  MetricType::Gauge);
  double fullest_destination = 0;
  if (top.count > 0 && view.snat_range_ports > 0) {
    const bool v6 = top.entries[0].address.family == 6;
    size_t family_addresses = 0;
    for (const std::string& address : view.snat_addresses)
      family_addresses += (address.find(':') != std::string::npos) == v6;
    if (family_addresses > 0)
      fullest_destination = double(top.entries[0].ports_in_use) / (double(view.snat_range_ports) * double(family_addresses));
  }
  add(destination_ratio, fullest_destination);
  families.push_back(std::move(destination_ratio));
  auto untracked_family = family("sluice_snat_untracked_destination_bindings",
                                 "SNAT translations whose destination is not counted per destination (more destinations in use than the worker tracks).",
                                 MetricType::Gauge);
  add(untracked_family, double(untracked));
  families.push_back(std::move(untracked_family));
  auto failures = family("sluice_snat_allocation_failures_total",
                         "New flows refused because no SNAT address and port was free toward their destination, or the translation table was full (snat_ports_exhausted).",
                         MetricType::Counter);
  add(failures, double(sum(view, [](const WorkerCounters& w) -> const Counter& { return w.snat_allocation_failures; })));
  families.push_back(std::move(failures));
  auto translations = family("sluice_snat_translations", "Source NAT translations held, by state (active, or ended and quarantined).",
                             MetricType::Gauge);
  add(translations, double(sum(view, [](const WorkerCounters& w) -> const Counter& { return w.snat_translations_active; })),
      {{"state", "active"}});
  add(translations, double(sum(view, [](const WorkerCounters& w) -> const Counter& { return w.snat_translations_quarantined; })),
      {{"state", "quarantined"}});
  families.push_back(std::move(translations));
  auto forwarded = family("sluice_dns_forwarder_queries_total",
                          "DNS queries to the appliance's INSIDE addresses, by what the forwarder did: forwarded to a resolver, or left to local delivery (no resolver of the query's family in the policy, or the forwarder's table full).",
                          MetricType::Counter);
  add(forwarded, double(sum(view, [](const WorkerCounters& w) -> const Counter& { return w.dns_forwarded_queries; })),
      {{"result", "forwarded"}});
  add(forwarded, double(sum(view, [](const WorkerCounters& w) -> const Counter& { return w.dns_forward_refused; })),
      {{"result", "not_forwarded"}});
  families.push_back(std::move(forwarded));
}

std::vector<MetricFamily> collect(const MetricsView& view) {
  std::vector<MetricFamily> families;
  auto build = family("sluice_build_info", "The running sluiced's version and git commit; always 1.", MetricType::Gauge);
  add(build, 1, {{"version", build_version()}, {"commit", build_commit()}});
  families.push_back(std::move(build));
  const char* sides[kSideCount] = {"inside", "outside"};

  auto rx_packets = family("sluice_port_rx_packets_total", "Packets received by the workers, by port.", MetricType::Counter);
  auto tx_packets = family("sluice_port_tx_packets_total", "Packets sent by the workers, by port.", MetricType::Counter);
  auto rx_bytes = family("sluice_port_rx_bytes_total", "Bytes received by the workers, by port.", MetricType::Counter);
  auto tx_bytes = family("sluice_port_tx_bytes_total", "Bytes sent by the workers, by port.", MetricType::Counter);
  for (int side = 0; side < kSideCount; ++side) {
    std::vector<ClientMetric::Label> port{{"port", sides[side]}};
    add(rx_packets, double(sum(view, [&](const WorkerCounters& w) -> const Counter& { return w.rx_packets[side]; })), port);
    add(tx_packets, double(sum(view, [&](const WorkerCounters& w) -> const Counter& { return w.tx_packets[side]; })), port);
    add(rx_bytes, double(sum(view, [&](const WorkerCounters& w) -> const Counter& { return w.rx_bytes[side]; })), port);
    add(tx_bytes, double(sum(view, [&](const WorkerCounters& w) -> const Counter& { return w.tx_bytes[side]; })), port);
  }
  families.push_back(std::move(rx_packets));
  families.push_back(std::move(tx_packets));
  families.push_back(std::move(rx_bytes));
  families.push_back(std::move(tx_bytes));

  // Each worker's share (the totals above and below sum over the workers).
  auto worker_rx = family("sluice_worker_rx_packets_total", "Packets the worker took in to judge (from its queues, or handed over by another worker), by worker.",
                          MetricType::Counter);
  auto worker_flows = family("sluice_worker_flows_created_total", "Flows created, by worker: the flows it owns.", MetricType::Counter);
  auto handoff = family("sluice_worker_handoff_packets_total",
                        "Several workers: frames handed to the worker that owns their flow (sent), taken from other workers (received), and put on another worker's transmit ring (tx_ring), by worker.",
                        MetricType::Counter);
  for (size_t worker = 0; worker < view.workers.size(); ++worker) {
    const WorkerCounters& w = *view.workers[worker];
    const std::string label = std::to_string(worker);
    add(worker_rx, double(read(w.rx_packets[0]) + read(w.rx_packets[1])), {{"worker", label}});
    add(worker_flows, double(read(w.flows_created)), {{"worker", label}});
    add(handoff, double(read(w.handoff_sent)), {{"worker", label}, {"direction", "sent"}});
    add(handoff, double(read(w.handoff_received)), {{"worker", label}, {"direction", "received"}});
    add(handoff, double(read(w.tx_ring_sent)), {{"worker", label}, {"direction", "tx_ring"}});
  }
  families.push_back(std::move(worker_rx));
  families.push_back(std::move(worker_flows));
  families.push_back(std::move(handoff));

  auto parse_errors = family("sluice_packet_parse_errors_total", "Frames the packet parser refused, by error (they are dropped as malformed_packet, unsupported_ethertype or arp_malformed).", MetricType::Counter);
  for (int error = 1; error < static_cast<int>(PacketParseError::count); ++error)
    add(parse_errors, double(sum(view, [&](const WorkerCounters& w) -> const Counter& { return w.parse_errors[error]; })),
        {{"error", to_string(static_cast<PacketParseError>(error))}});
  families.push_back(std::move(parse_errors));

  auto dropped = family("sluice_dropped_packets_total", "Packets dropped, by reason (docs/REASONS.md).", MetricType::Counter);
  auto verdicts = family("sluice_flow_verdicts_total", "Flows judged, by the reason of their verdict.", MetricType::Counter);
  for (int reason = 0; reason < kReasonCount; ++reason) {
    std::vector<ClientMetric::Label> label{{"reason", to_string(static_cast<Reason>(reason))}};
    add(dropped, double(sum(view, [&](const WorkerCounters& w) -> const Counter& { return w.dropped_packets[reason]; })), label);
    add(verdicts, double(sum(view, [&](const WorkerCounters& w) -> const Counter& { return w.flow_verdicts[reason]; })), label);
  }
  families.push_back(std::move(dropped));
  families.push_back(std::move(verdicts));

  auto flows = family("sluice_flows_total", "Flows judged, by policy and verdict.", MetricType::Counter);
  std::vector<std::string> names = view.policies ? view.policies->names() : std::vector<std::string>{};
  for (size_t slot = 0; slot < names.size() && slot < size_t(kMaxPolicies); ++slot)
    for (int verdict = 1; verdict < kFlowVerdictCount; ++verdict)
      add(flows, double(sum(view, [&](const WorkerCounters& w) -> const Counter& { return w.flows_by_policy[slot][verdict]; })),
          {{"policy", names[slot]}, {"verdict", kVerdictLabels[verdict]}});
  families.push_back(std::move(flows));
  auto rejudged = family("sluice_flows_rejudged_total", "Flows whose verdict a new policy generation changed, by new verdict.", MetricType::Counter);
  for (int verdict = 1; verdict < kFlowVerdictCount; ++verdict)
    add(rejudged, double(sum(view, [&](const WorkerCounters& w) -> const Counter& { return w.flows_rejudged[verdict]; })),
        {{"verdict", kVerdictLabels[verdict]}});
  families.push_back(std::move(rejudged));

  auto single = [&](const std::string& name, const std::string& help, auto field) {
    auto f = family(name, help, MetricType::Counter);
    add(f, double(sum(view, field)));
    families.push_back(std::move(f));
  };
  single("sluice_flows_created_total", "Flows entered into a flow table.",
         [](const WorkerCounters& w) -> const Counter& { return w.flows_created; });
  single("sluice_infrastructure_packets_total", "ARP and IPv6 neighbour discovery packets passed without a flow.",
         [](const WorkerCounters& w) -> const Counter& { return w.infrastructure_packets; });
  single("sluice_flows_refused_total", "New flows refused because the flow table was full.",
         [](const WorkerCounters& w) -> const Counter& { return w.flows_refused_table_full; });
  single("sluice_tcp_resets_sent_total", "TCP resets sent to clients of denied flows.",
         [](const WorkerCounters& w) -> const Counter& { return w.resets_sent; });
  single("sluice_tcp_resets_failed_total", "TCP resets not sent for want of a packet buffer.",
         [](const WorkerCounters& w) -> const Counter& { return w.resets_not_sent; });
  single("sluice_tcp_onward_resets_sent_total", "TCP resets sent on to the far end (the server) of denied flows that had completed their handshake.",
         [](const WorkerCounters& w) -> const Counter& { return w.onward_resets_sent; });
  single("sluice_icmp_unreachable_sent_total", "ICMP/ICMPv6 administratively-prohibited errors sent to clients of denied UDP flows.",
         [](const WorkerCounters& w) -> const Counter& { return w.icmp_unreachable_sent; });
  single("sluice_deny_replies_rate_limited_total", "Retries of denied flows left unanswered by the deny_replies_per_second limit.",
         [](const WorkerCounters& w) -> const Counter& { return w.replies_rate_limited; });
  single("sluice_reassembly_started_total", "ClientHellos and request heads that needed more than their first segment.",
         [](const WorkerCounters& w) -> const Counter& { return w.reassembly_started; });
  single("sluice_reassembly_refused_total", "ClientHellos and request heads denied because every reassembly slot was in use.",
         [](const WorkerCounters& w) -> const Counter& { return w.reassembly_refused; });
  single("sluice_fragments_forwarded_total", "Non-first IP fragments forwarded after their first fragment's flow.",
         [](const WorkerCounters& w) -> const Counter& { return w.fragments_forwarded; });
  single("sluice_icmp_errors_forwarded_total", "ICMP/ICMPv6 errors from outside (fragmentation needed, packet too big, time exceeded, unreachable) forwarded to the inside host whose live flow they quote.",
         [](const WorkerCounters& w) -> const Counter& { return w.icmp_errors_forwarded; });
  single("sluice_dns_answers_parsed_total", "DNS answers from allowed resolvers read for learning.",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_answers_parsed; });
  single("sluice_dns_answers_unparsed_total", "DNS answers from allowed resolvers that were not well-formed responses (nothing learned).",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_answers_unparsed; });
  single("sluice_dns_answers_name_not_allowed_total", "DNS answers for names no allowed domain matches (nothing learned).",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_answers_name_not_allowed; });
  single("sluice_dns_addresses_learned_total", "Addresses learned from DNS answers, sent to the control thread (refreshes included).",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_addresses_learned; });
  single("sluice_dns_learned_dropped_total", "Learned addresses lost because the ring to the control thread was full.",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_learned_dropped_ring_full; });
  single("sluice_dns_queries_allowed_total", "DNS queries to allowed resolvers for names the policy allows.",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_queries_allowed; });
  single("sluice_dns_queries_denied_total", "DNS queries to allowed resolvers denied on their name or shape (DRY_RUN ones too).",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_queries_denied; });
  single("sluice_dns_refusals_sent_total", "NXDOMAIN/REFUSED answers the appliance sent for denied DNS queries.",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_refusals_sent; });
  single("sluice_dns_pending_evicted_total", "Forwarded DNS queries forgotten unanswered to make room for newer ones.",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_pending_evicted; });
  single("sluice_dns_answers_from_inside_total", "DNS answers arriving from the inside port (dropped, nothing learned).",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_answers_from_inside; });
  single("sluice_dns_answers_unsolicited_total", "DNS answers matching no forwarded query by id, addresses and ports (nothing learned).",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_answers_unsolicited; });
  single("sluice_dns_answers_question_mismatch_total", "DNS answers whose question differs from the forwarded query's (nothing learned).",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_answers_question_mismatch; });
  single("sluice_dns_answers_late_total", "DNS answers arriving after their query's deadline (nothing learned).",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_answers_late; });
  single("sluice_dns_answers_bad_name_total", "DNS answers with a name outside host-name syntax in the question or CNAME chain (nothing learned).",
         [](const WorkerCounters& w) -> const Counter& { return w.dns_answers_bad_name; });
  // Routed mode (dataplane/worker/stage/route.h); 0 in bridge mode.
  single("sluice_routed_packets_total", "Packets routed: route lookup, TTL decrement and L2 rewrite (routed mode).",
         [](const WorkerCounters& w) -> const Counter& { return w.routed_packets; });
  single("sluice_icmp_time_exceeded_sent_total", "ICMP time exceeded errors sent for packets whose TTL or hop limit ran out here.",
         [](const WorkerCounters& w) -> const Counter& { return w.icmp_time_exceeded_sent; });
  single("sluice_icmp_too_big_sent_total", "ICMP fragmentation needed / packet too big errors sent for packets over the outgoing port's MTU.",
         [](const WorkerCounters& w) -> const Counter& { return w.icmp_too_big_sent; });
  single("sluice_icmp_router_errors_rate_limited_total", "ICMP time exceeded and too big errors not sent because of their rate limit.",
         [](const WorkerCounters& w) -> const Counter& { return w.icmp_router_errors_rate_limited; });
  single("sluice_neighbour_events_dropped_total", "Neighbour events (wanted, observed) lost because the worker-to-control ring was full.",
         [](const WorkerCounters& w) -> const Counter& { return w.neighbour_events_dropped_ring_full; });
  single("sluice_control_frames_sent_total", "Frames the control thread handed the worker to send (ARP requests, gratuitous ARP, unsolicited NA).",
         [](const WorkerCounters& w) -> const Counter& { return w.control_frames_sent; });
  auto expired = family("sluice_flows_expired_total", "Flows removed by idle aging, by the state they were in.", MetricType::Counter);
  for (int state = 0; state < kFlowStateCount; ++state)
    add(expired, double(sum(view, [&](const WorkerCounters& w) -> const Counter& { return w.flows_expired[state]; })),
        {{"state", to_string(static_cast<FlowState>(state))}});
  families.push_back(std::move(expired));
  auto capacity = family("sluice_flow_table_capacity", "Flows the worker's flow table holds; a full table refuses new flows.", MetricType::Gauge);
  for (size_t worker = 0; worker < view.flow_capacity.size(); ++worker)
    add(capacity, double(view.flow_capacity[worker]), {{"worker", std::to_string(worker)}});
  families.push_back(std::move(capacity));
  auto pending = family("sluice_oldest_pending_flow_age_seconds",
                        "Age of the worker's oldest flow still waiting for its verdict (0: none), as of the aging sweep's last pass over its flow table.",
                        MetricType::Gauge);
  for (size_t worker = 0; worker < view.workers.size(); ++worker)
    add(pending, double(read(view.workers[worker]->oldest_pending_age_ms)) / 1000.0, {{"worker", std::to_string(worker)}});
  families.push_back(std::move(pending));
  if (view.learned) {
    auto entries = family("sluice_dns_learned_addresses", "Addresses learned from DNS answers and not expired, by policy.", MetricType::Gauge);
    auto expirations = family("sluice_dns_learned_expired_total", "Learned addresses expired (TTL and grace over), by policy.", MetricType::Counter);
    for (size_t slot = 0; slot < names.size() && slot < size_t(kMaxPolicies); ++slot) {
      add(entries, double(view.learned->entries(uint16_t(slot))), {{"policy", names[slot]}});
      add(expirations, double(view.learned->expired(uint16_t(slot))), {{"policy", names[slot]}});
    }
    families.push_back(std::move(entries));
    families.push_back(std::move(expirations));
    auto refused = family("sluice_dns_learned_refused_total", "Learned addresses refused because dns_learning.max_entries was reached.", MetricType::Counter);
    add(refused, double(view.learned->refused()));
    families.push_back(std::move(refused));
  }
  collect_snat(view, families);
  single("sluice_flow_events_dropped_total", "Flow events (denial records) lost because the ring to the control thread was full.",
         [](const WorkerCounters& w) -> const Counter& { return w.events_dropped_ring_full; });

  if (view.neighbours) {  // routed mode only (docs/METRICS.md, "Neighbours")
    const NeighbourStats& n = *view.neighbours;
    auto counter_of = [&](const char* name, const char* help, double value) {
      auto f = family(name, help, MetricType::Counter);
      add(f, value);
      families.push_back(std::move(f));
    };
    counter_of("sluice_neighbour_requests_sent_total", "ARP requests and IPv6 neighbour solicitations sent.",
               double(n.requests_sent.load()));
    counter_of("sluice_neighbour_announcements_sent_total", "Gratuitous ARP and unsolicited neighbour advertisements sent.",
               double(n.announcements_sent.load()));
    auto resolutions = family("sluice_neighbour_resolutions_total", "Neighbour resolutions ended, by result.", MetricType::Counter);
    add(resolutions, double(n.resolved.load()), {{"result", "resolved"}});
    add(resolutions, double(n.failed.load()), {{"result", "failed"}});
    families.push_back(std::move(resolutions));
    counter_of("sluice_neighbour_expired_total", "Resolved neighbours removed because they stopped answering refreshes.",
               double(n.expired.load()));
    counter_of("sluice_neighbour_mac_changes_total", "Neighbours whose MAC address changed.", double(n.mac_changes.load()));
    auto refused = family("sluice_neighbour_refused_total", "Neighbours not entered, by reason.", MetricType::Counter);
    add(refused, double(n.refused_full.load()), {{"reason", "table_full"}});
    add(refused, double(n.refused_not_connected.load()), {{"reason", "not_connected"}});
    add(refused, double(n.ignored_static.load()), {{"reason", "static_or_own"}});
    families.push_back(std::move(refused));
    counter_of("sluice_neighbour_tables_published_total", "Neighbour tables published to the workers.",
               double(n.tables_published.load()));
    auto entries = family("sluice_neighbours", "Neighbour entries, by state.", MetricType::Gauge);
    add(entries, double(n.resolving.load()), {{"state", "resolving"}});
    add(entries, double(n.reachable.load()), {{"state", "reachable"}});
    add(entries, double(n.refreshing.load()), {{"state", "refreshing"}});
    add(entries, double(n.static_entries.load()), {{"state", "static"}});
    families.push_back(std::move(entries));
  }
  if (view.control) {
    const char* port_names[kSideCount] = {"inside", "outside"};
    auto port_family = [&](const char* name, const char* help, auto field) {
      auto f = family(name, help, MetricType::Counter);
      for (int side = 0; side < kSideCount; ++side)
        add(f, double(field(view.control->ports[side]).load()), {{"port", port_names[side]}});
      families.push_back(std::move(f));
    };
    using Stats = ControlCounters::PortStats;
    port_family("sluice_ethdev_rx_packets_total", "Packets the port's driver received (rte_eth_stats).",
                [](const Stats& s) -> const std::atomic<uint64_t>& { return s.rx_packets; });
    port_family("sluice_ethdev_tx_packets_total", "Packets the port's driver sent (rte_eth_stats).",
                [](const Stats& s) -> const std::atomic<uint64_t>& { return s.tx_packets; });
    port_family("sluice_ethdev_missed_packets_total", "Packets the port dropped because the rx queue was full: the worker fell behind.",
                [](const Stats& s) -> const std::atomic<uint64_t>& { return s.missed; });
    port_family("sluice_ethdev_rx_errors_total", "Erroneous packets the port received.",
                [](const Stats& s) -> const std::atomic<uint64_t>& { return s.rx_errors; });
    port_family("sluice_ethdev_tx_errors_total", "Packets the port failed to send.",
                [](const Stats& s) -> const std::atomic<uint64_t>& { return s.tx_errors; });
    port_family("sluice_ethdev_rx_no_mbuf_total", "Packets the port dropped for want of a packet buffer.",
                [](const Stats& s) -> const std::atomic<uint64_t>& { return s.rx_no_mbuf; });
    auto cache = family("sluice_hyperscan_cache_total", "Hyperscan databases looked up in the on-disk cache, by result.", MetricType::Counter);
    add(cache, double(view.control->hyperscan_cache_hits.load()), {{"result", "hit"}});
    add(cache, double(view.control->hyperscan_cache_misses.load()), {{"result", "miss"}});
    families.push_back(std::move(cache));
    // A family of one sample, read from a control counter.
    auto one = [&](MetricType type, const char* name, const char* help, double value,
                   std::vector<ClientMetric::Label> labels = {}) {
      auto f = family(name, help, type);
      add(f, value, std::move(labels));
      families.push_back(std::move(f));
    };
    constexpr auto counter = MetricType::Counter;
    constexpr auto gauge = MetricType::Gauge;
    const size_t workers = std::min(view.workers.size(), size_t(kMaxWorkers));
    auto active = family("sluice_flows_active", "Flow-table entries in use, by worker.", gauge);
    auto busy = family("sluice_worker_busy_ratio",
                       "Share of the worker's cycles spent in loop iterations that moved packets, over the last second.", gauge);
    uint32_t busiest = 0, idlest = 1000;
    for (size_t worker = 0; worker < workers; ++worker) {
      const std::string label = std::to_string(worker);
      add(active, double(view.control->flows_active[worker].load()), {{"worker", label}});
      const uint32_t permille = view.control->worker_busy_permille[worker].load();
      add(busy, permille / 1000.0, {{"worker", label}});
      busiest = std::max(busiest, permille);
      idlest = std::min(idlest, permille);
    }
    families.push_back(std::move(active));
    families.push_back(std::move(busy));
    one(gauge, "sluice_worker_busy_imbalance",
        "The busiest worker's busy ratio minus the idlest one's, over the last second (0 with one worker): flows spread unevenly, or one worker holds an elephant flow.",
        workers == 0 ? 0.0 : (busiest - idlest) / 1000.0);
    one(counter, "sluice_denial_records_written_total", "Denial records written to the denial log.",
        double(view.control->denial_records_written.load()));
    one(counter, "sluice_denial_record_write_errors_total", "Failed writes to the denial log.",
        double(view.control->denial_record_write_errors.load()));
    one(counter, "sluice_denial_records_lost_total", "Denial records given up after write retries (full disk, I/O errors).",
        double(view.control->denial_records_lost.load()));
    one(counter, "sluice_denial_records_aggregated_total", "Repeated denials counted into another record's count instead of a record of their own.",
        double(view.control->denial_records_aggregated.load()));
    one(counter, "sluice_denial_log_rotations_total", "Denial log files rotated.",
        double(view.control->denial_log_rotations.load()));
    families.push_back(histogram_family("sluice_denial_record_latency_seconds",
                                        "From the verdict on the worker to the record on disk.",
                                        view.control->record_latency));
    one(gauge, "sluice_policy_generation", "Generation of the running policy (1 = loaded at start).",
        double(view.control->policy_generation.load()));
    // One sample per service tag file of the running generation; the version label is the
    // file's own (Azure changeNumber, AWS syncToken), so a dashboard sees which publication is
    // enforced. No files: the family has no samples.
    auto tags = family("sluice_service_tags_info",
                       "Service tag files of the running policy, by provider, file and the version the file carries; always 1.",
                       MetricType::Gauge);
    for (const auto& file : view.control->service_tags.get())
      add(tags, 1, {{"provider", file.provider}, {"file", file.path}, {"version", file.version}});
    families.push_back(std::move(tags));
    auto tag_prefixes = family("sluice_service_tag_prefixes",
                               "Distinct prefixes in each service tag file of the running policy.", MetricType::Gauge);
    for (const auto& file : view.control->service_tags.get())
      add(tag_prefixes, double(file.prefixes), {{"provider", file.provider}, {"file", file.path}});
    families.push_back(std::move(tag_prefixes));
    one(counter, "sluice_policy_reloads_total", "Policy reloads applied.",
        double(view.control->policy_reloads.load()));
    one(counter, "sluice_policy_reload_failures_total", "Policy reloads refused (the running policy stayed).",
        double(view.control->policy_reload_failures.load()));
    one(counter, "sluice_policy_reloads_superseded_total", "Reloads whose compile a newer request overtook (result discarded).",
        double(view.control->policy_reloads_superseded.load()));
    one(gauge, "sluice_policy_compiling", "1 while a reload's compile runs on the compile thread.",
        view.control->policy_compiling.load() ? 1.0 : 0.0);
    one(gauge, "sluice_policy_last_reload_timestamp_seconds", "Unix time of the last applied policy (start included).",
        double(view.control->last_reload_unix_ms.load()) / 1000.0);
    one(gauge, "sluice_policy_compile_seconds", "Compile time of the running policy.",
        double(view.control->last_compile_us.load()) / 1e6);
    one(gauge, "sluice_ready", "1 when the policy is loaded and the workers poll (as /readyz).",
        view.control->ready.load() ? 1.0 : 0.0);
    one(gauge, "sluice_draining", "1 while an operator drains the appliance (sluicectl drain): /readyz answers 503.",
        view.control->draining.load() ? 1.0 : 0.0);
  }
  return families;
}

}  // namespace

class MetricsCollector : public prometheus::Collectable {
 public:
  MetricsCollector(MetricsView view, bool health_only) : view_(std::move(view)), health_only_(health_only) {}
  std::vector<MetricFamily> Collect() const override {
    if (!health_only_) return collect(view_);
    auto up = family("sluice_up", "1 while sluiced runs.", MetricType::Gauge);
    add(up, 1);
    return {up};
  }

 private:
  MetricsView view_;
  bool health_only_;
};

MetricsExporter::MetricsExporter() = default;
MetricsExporter::~MetricsExporter() = default;

bool MetricsExporter::start(const std::string& address, const MetricsView& view, std::string& error) {
  try {
    // civetweb serves one connection a thread and waits on a silent one until its request
    // timeout: several threads and a short timeout, so that idle or slow clients cannot hold
    // a scrape (one thread and no timeout let one idle connection block /metrics for 12 s).
    exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", address,
        "num_threads", std::to_string(kServerThreads),
        "request_timeout_ms", std::to_string(kRequestTimeoutMs),
        "enable_keep_alive", "no"});
  } catch (const std::exception& e) {
    error = "metrics address " + address + ": " + e.what();
    return false;
  }
  collector_ = std::make_shared<MetricsCollector>(view, false);
  health_ = std::make_shared<MetricsCollector>(view, true);
  exposer_->RegisterCollectable(collector_, "/metrics");
  exposer_->RegisterCollectable(health_, "/healthz");
  return true;
}

std::string render_metrics(const MetricsView& view) {
  return prometheus::TextSerializer().Serialize(collect(view));
}

}  // namespace sluice

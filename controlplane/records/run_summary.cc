#include "controlplane/records/run_summary.h"

#include <iomanip>

#include "controlplane/records/flow_event_json.h"
#include "controlplane/records/json.h"

namespace sluice {

RunSummary summarize(const std::vector<const WorkerCounters*>& workers, const std::vector<std::string>& policy_names,
                     const FlowEventSink& sink) {
  RunSummary summary;
  summary.by_policy.resize(policy_names.size());
  for (size_t p = 0; p < policy_names.size(); ++p) summary.by_policy[p].policy = policy_names[p];
  uint64_t dropped[kReasonCount] = {};
  uint64_t created = 0;
  for (const auto* worker : workers) {
    for (int side = 0; side < kSideCount; ++side) {
      summary.rx_packets[side] += read(worker->rx_packets[side]);
      summary.tx_packets[side] += read(worker->tx_packets[side]);
    }
    for (int reason = 0; reason < kReasonCount; ++reason) dropped[reason] += read(worker->dropped_packets[reason]);
    for (size_t p = 0; p < summary.by_policy.size() && p < size_t(kMaxPolicies); ++p)
      for (int v = 0; v < kFlowVerdictCount; ++v) {
        uint64_t count = read(worker->flows_by_policy[p][v]);
        summary.by_policy[p].by_verdict[v] += count;
        summary.flows_by_verdict[v] += count;
      }
    summary.resets_sent += read(worker->resets_sent);
    summary.events_lost += read(worker->events_dropped_ring_full);
    created += read(worker->flows_created);
    summary.workers.push_back({read(worker->rx_packets[0]) + read(worker->rx_packets[1]), read(worker->flows_created),
                               read(worker->handoff_sent), read(worker->handoff_received)});
  }
  uint64_t judged = 0;
  for (int v = 1; v < kFlowVerdictCount; ++v) judged += summary.flows_by_verdict[v];
  summary.pending_flows = created > judged ? created - judged : 0;
  for (int reason = 0; reason < kReasonCount; ++reason)
    if (dropped[reason]) summary.dropped_by_reason.emplace_back(to_string(static_cast<Reason>(reason)), dropped[reason]);
  std::vector<const SnatTopDestinationsSlot*> slots;
  for (const auto* worker : workers) slots.push_back(&worker->snat_top_destinations);
  uint32_t untracked = 0;
  const SnatTopDestinations snat_top = merge_top_destinations(slots, untracked);
  for (int i = 0; i < snat_top.count; ++i)
    summary.snat_top_destinations.emplace_back(format_destination(snat_top.entries[i]), snat_top.entries[i].ports_in_use);
  summary.top_denied = sink.top_denied(5);
  summary.denial_records = sink.denial_records();
  summary.aggregated = sink.aggregated_denials();
  return summary;
}

void RunSummary::print(std::ostream& out) const {
  auto allowed = static_cast<int>(FlowVerdict::allowed);
  auto denied = static_cast<int>(FlowVerdict::denied_enforced);
  auto dry_run = static_cast<int>(FlowVerdict::denied_dry_run);
  out << title << "\n";
  out << "  packets   inside:  in " << rx_packets[0] << ", out " << tx_packets[0] << "\n";
  out << "            outside: in " << rx_packets[1] << ", out " << tx_packets[1] << "\n";
  out << "  flows     allowed " << flows_by_verdict[allowed] << ", denied " << flows_by_verdict[denied]
      << ", dry-run-denied " << flows_by_verdict[dry_run] << ", pending " << pending_flows << "\n";
  out << "  resets    " << resets_sent << " sent to clients of denied flows\n";
  out << "  by policy " << std::left << std::setw(24) << "policy" << std::right << std::setw(8) << "ALLOW"
      << std::setw(8) << "DROP" << std::setw(16) << "DRY_RUN_DENIAL" << "\n";
  for (const auto& row : by_policy)
    out << "            " << std::left << std::setw(24) << row.policy << std::right << std::setw(8)
        << row.by_verdict[allowed] << std::setw(8) << row.by_verdict[denied] << std::setw(16) << row.by_verdict[dry_run]
        << "\n";
  for (size_t worker = 0; workers.size() > 1 && worker < workers.size(); ++worker)
    out << "  worker " << worker << "  judged " << workers[worker].rx_packets << " packets, owns "
        << workers[worker].flows_created << " flows; handed over " << workers[worker].handoff_sent << ", taken over "
        << workers[worker].handoff_received << "\n";
  out << "  dropped   ";
  if (dropped_by_reason.empty()) out << "none";
  for (size_t i = 0; i < dropped_by_reason.size(); ++i)
    out << (i ? ", " : "") << dropped_by_reason[i].first << " " << dropped_by_reason[i].second;
  out << "\n  top denied destinations\n";
  if (top_denied.empty()) out << "            none\n";
  for (const auto& [destination, count] : top_denied) out << "            " << count << "  " << destination << "\n";
  out << "  records   " << denial_records << " denial records";
  if (aggregated) out << " (" << aggregated << " repeated denials counted into their `count`)";
  if (events_lost) out << " (" << events_lost << " lost: event ring full)";
  if (records_not_written) out << " (" << records_not_written << " not written: see the denial log errors)";
  out << "\n";
  if (!snat_top_destinations.empty()) {
    out << "  snat      ports in use by destination (fullest first)\n";
    for (const auto& [destination, ports] : snat_top_destinations)
      out << "            " << ports << "  " << destination << "\n";
  }
  for (const auto& file : service_tags)
    out << "  tags      " << file.path << ": " << file.provider << " version " << file.version << ", " << file.tags
        << " tags, " << file.prefixes << " prefixes\n";
  for (const auto& [label, path] : paths) out << "  " << std::left << std::setw(12) << label << path << "\n";
}

std::string RunSummary::to_json() const {
  auto pairs = [](const std::vector<std::pair<std::string, uint64_t>>& list, const char* key, const char* value) {
    Json array = Json::array();
    for (const auto& [name, count] : list) array.push_back({{key, name}, {value, count}});
    return array;
  };
  auto allowed = static_cast<int>(FlowVerdict::allowed);
  auto denied = static_cast<int>(FlowVerdict::denied_enforced);
  auto dry_run = static_cast<int>(FlowVerdict::denied_dry_run);
  Json json;
  json["packets"] = {{"inside", {{"in", rx_packets[0]}, {"out", tx_packets[0]}}},
                     {"outside", {{"in", rx_packets[1]}, {"out", tx_packets[1]}}}};
  json["flows"] = {{"allowed", flows_by_verdict[allowed]},
                   {"denied", flows_by_verdict[denied]},
                   {"dry_run_denied", flows_by_verdict[dry_run]},
                   {"pending", pending_flows}};
  json["resets_sent"] = resets_sent;
  if (workers.size() > 1) {
    Json rows = Json::array();
    for (const auto& row : workers)
      rows.push_back({{"rx_packets", row.rx_packets},
                      {"flows_created", row.flows_created},
                      {"handoff_sent", row.handoff_sent},
                      {"handoff_received", row.handoff_received}});
    json["workers"] = std::move(rows);
  }
  Json policies = Json::array();
  for (const auto& row : by_policy)
    policies.push_back({{"policy", row.policy},
                        {"ALLOW", row.by_verdict[allowed]},
                        {"DROP", row.by_verdict[denied]},
                        {"DRY_RUN_DENIAL", row.by_verdict[dry_run]}});
  json["policies"] = std::move(policies);
  json["dropped"] = pairs(dropped_by_reason, "reason", "packets");
  json["top_denied"] = pairs(top_denied, "destination", "flows");
  json["denial_records"] = denial_records;
  json["aggregated_denials"] = aggregated;
  json["events_lost"] = events_lost;
  json["records_not_written"] = records_not_written;
  if (!snat_top_destinations.empty()) json["snat_top_destinations"] = pairs(snat_top_destinations, "destination", "ports_in_use");
  if (!service_tags.empty()) {
    Json files = Json::array();
    for (const auto& file : service_tags)
      files.push_back({{"provider", file.provider},
                       {"file", file.path},
                       {"version", file.version},
                       {"tags", file.tags},
                       {"prefixes", file.prefixes}});
    json["service_tags"] = std::move(files);
  }
  return json_line(json);
}

}  // namespace sluice

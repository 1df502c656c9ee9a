#include "cli/denial_query.h"

#include <algorithm>
#include <map>
#include <set>

#include "controlplane/records/json.h"

namespace sluice {

bool denial_matches(const DenialRow& row, const DenialFilter& filter) {
  if ((filter.since_ms || filter.until_ms) && !row.time_valid) return false;
  if (filter.since_ms && row.time_ms < *filter.since_ms) return false;
  if (filter.until_ms && row.time_ms >= *filter.until_ms) return false;
  if (filter.policy && row.policy != *filter.policy) return false;
  if (filter.source) {
    auto address = parse_ip(row.src_ip);
    if (!address || address->family != filter.source->address.family) return false;
    unsigned bits = filter.source->prefix_length;
    for (unsigned byte = 0; byte < 16 && bits > 0; ++byte, bits = bits >= 8 ? bits - 8 : 0) {
      uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
      if ((address->bytes[byte] & mask) != filter.source->address.bytes[byte]) return false;
    }
  }
  return true;
}

std::vector<DenialGroup> top_denied(const std::vector<DenialRow>& rows, size_t top) {
  struct Building {
    DenialGroup group;
    std::set<std::string> sources, access_types;
    std::set<uint32_t> ports;
    bool any_time = false;
  };
  std::map<std::pair<std::string, std::string>, Building> groups;
  for (const auto& row : rows) {
    auto& building = groups[{row.policy, row.destination}];
    auto& group = building.group;
    group.policy = row.policy;
    group.destination = row.destination;
    group.denials += row.count;
    ++group.records;
    building.sources.insert(row.src_ip);
    building.access_types.insert(row.access_type);
    building.ports.insert(row.dst_port);
    if (!row.time_valid) continue;
    if (!building.any_time || row.time_ms < group.first_ms) {
      group.first_ms = row.time_ms;
      group.first_seen = row.event_time;
    }
    if (!building.any_time || row.time_ms >= group.last_ms) {
      group.last_ms = row.time_ms;
      group.last_seen = row.event_time;
      group.destination_type = row.destination_type;
    }
    building.any_time = true;
  }
  std::vector<DenialGroup> out;
  for (auto& [key, building] : groups) {
    building.group.sources.assign(building.sources.begin(), building.sources.end());
    building.group.access_types.assign(building.access_types.begin(), building.access_types.end());
    building.group.dst_ports.assign(building.ports.begin(), building.ports.end());
    out.push_back(std::move(building.group));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const DenialGroup& a, const DenialGroup& b) { return a.denials > b.denials; });
  if (top && out.size() > top) out.resize(top);
  return out;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

namespace {

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string joined(const std::vector<uint32_t>& items, const char* separator) {
  std::vector<std::string> text;
  for (auto item : items) text.push_back(std::to_string(item));
  return joined(text, separator);
}

Json row_json(const DenialRow& row) {
  return Json{{"event_time", row.event_time},
              {"access_type", row.access_type},
              {"policy", row.policy},
              {"source_label", row.source_label},
              {"src_ip", row.src_ip},
              {"src_port", row.src_port},
              {"dst_ip", row.dst_ip},
              {"dst_port", row.dst_port},
              {"protocol", row.protocol},
              {"destination_type", row.destination_type},
              {"destination", row.destination},
              {"reason", row.reason},
              {"flow_id", row.flow_id},
              {"appliance", row.appliance},
              {"count", row.count},
              {"event_id", row.event_id}};
}

Json group_json(const DenialGroup& group) {
  return Json{{"policy", group.policy},
              {"destination", group.destination},
              {"destination_type", group.destination_type},
              {"denials", group.denials},
              {"records", group.records},
              {"first_seen", group.first_seen},
              {"last_seen", group.last_seen},
              {"sources", group.sources},
              {"access_types", group.access_types},
              {"dst_ports", group.dst_ports}};
}

// Columns padded to their widest cell; the last column is not padded.
void print_table(const std::vector<std::vector<std::string>>& table, std::ostream& out) {
  std::vector<size_t> widths;
  for (const auto& line : table)
    for (size_t i = 0; i < line.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], line[i].size());
    }
  for (const auto& line : table) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      text += line[i];
      if (i + 1 < line.size()) text += std::string(widths[i] - line[i].size() + 2, ' ');
    }
    out << text << "\n";
  }
}

}  // namespace

void print_denials(const DenialReadResult& read, const std::vector<DenialRow>& rows, std::optional<size_t> top,
                   OutputFormat format, std::ostream& out) {
  uint64_t denials = 0;
  for (const auto& row : rows) denials += row.count;
  if (top) {
    auto groups = top_denied(rows, *top);
    if (format == OutputFormat::json) {
      Json list = Json::array();
      for (const auto& group : groups) list.push_back(group_json(group));
      out << json_line(Json{{"files", read.files},
                            {"records", rows.size()},
                            {"denials", denials},
                            {"torn_records", read.torn_records},
                            {"damaged_records", read.damaged_records},
                            {"top", std::move(list)}})
          << "\n";
      return;
    }
    std::vector<std::vector<std::string>> table = {
        {"denials", "records", "policy", "destination", "type", "ports", "sources", "first_seen", "last_seen"}};
    for (const auto& group : groups)
      table.push_back({std::to_string(group.denials), std::to_string(group.records), group.policy, group.destination,
                       group.destination_type, joined(group.dst_ports, format == OutputFormat::csv ? " " : ","),
                       joined(group.sources, format == OutputFormat::csv ? " " : ","), group.first_seen,
                       group.last_seen});
    if (format == OutputFormat::csv) {
      for (const auto& line : table) {
        std::string text;
        for (const auto& cell : line) text += (text.empty() ? "" : ",") + csv_field(cell);
        out << text << "\n";
      }
      return;
    }
    print_table(table, out);
    out << groups.size() << " destination(s) shown; " << denials << " denial(s) in " << rows.size()
        << " record(s)\n";
    return;
  }
  if (format == OutputFormat::json) {
    Json list = Json::array();
    for (const auto& row : rows) list.push_back(row_json(row));
    out << json_line(Json{{"files", read.files},
                          {"records", rows.size()},
                          {"denials", denials},
                          {"torn_records", read.torn_records},
                          {"damaged_records", read.damaged_records},
                          {"rows", std::move(list)}})
        << "\n";
    return;
  }
  if (format == OutputFormat::csv) {
    out << "event_time,access_type,policy,source_label,src_ip,src_port,dst_ip,dst_port,protocol,"
           "destination_type,destination,reason,flow_id,appliance,count\n";
    for (const auto& row : rows)
      out << csv_field(row.event_time) << ',' << csv_field(row.access_type) << ',' << csv_field(row.policy) << ','
          << csv_field(row.source_label) << ',' << csv_field(row.src_ip) << ',' << row.src_port << ','
          << csv_field(row.dst_ip) << ',' << row.dst_port << ',' << csv_field(row.protocol) << ','
          << csv_field(row.destination_type) << ',' << csv_field(row.destination) << ',' << csv_field(row.reason)
          << ',' << row.flow_id << ',' << csv_field(row.appliance) << ',' << row.count << "\n";
    return;
  }
  std::vector<std::vector<std::string>> table = {
      {"event_time", "access_type", "policy", "source", "destination", "port", "proto", "reason", "count"}};
  for (const auto& row : rows)
    table.push_back({row.event_time, row.access_type, row.policy, row.src_ip + " (" + row.source_label + ")",
                     row.destination, std::to_string(row.dst_port), row.protocol, row.reason,
                     std::to_string(row.count)});
  print_table(table, out);
  out << rows.size() << " record(s), " << denials << " denial(s)\n";
}

}  // namespace sluice

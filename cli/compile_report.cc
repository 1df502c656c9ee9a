#include "cli/compile_report.h"

#include <algorithm>
#include <cstdio>

#include "controlplane/records/json.h"
#include "cli/offline_eal.h"
#include "controlplane/policy/policy_compiler.h"
#include "controlplane/policy/policy_words.h"

namespace sluice {

namespace {

std::string pad_right(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}
std::string pad_left(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

std::string port_list(const std::vector<uint16_t>& ports) {
  std::string text;
  for (size_t i = 0; i < ports.size(); ++i) text += (i ? "," : "") + std::to_string(ports[i]);
  return text.empty() ? "none" : text;
}

// The counts of `row` after whatever `json` already holds.
Json figures_json(Json json, const PolicyFigures& row) {
  json["domain_patterns"] = row.domain_patterns;
  json["database_bytes"] = row.database_bytes;
  json["networks"] = row.networks;
  json["dns_resolvers"] = row.dns_resolvers;
  return json;
}

}  // namespace

CompileFigures compile_figures(const CompiledPolicy& compiled, const sluice::policy::PolicySet& source,
                               double seconds) {
  CompileFigures figures;
  figures.set_name = compiled.set_name;
  figures.totals.name = "total";
  for (size_t i = 0; i < compiled.policies.size(); ++i) {
    const CompiledRuleset& rules = compiled.policies[i];
    PolicyFigures row;
    row.name = rules.name;
    row.access_mode = rules.access_mode;
    row.enforcement = rules.enforcement;
    row.domain_patterns = rules.domains ? rules.domains->pattern_count() : 0;
    row.database_bytes = rules.domains ? rules.domains->database_bytes() : 0;
    // The compiled networks are one table for all policies; the count per policy is the text's.
    row.networks = static_cast<size_t>(source.policies(static_cast<int>(i)).allowed_networks_size());
    row.dns_resolvers = rules.dns_resolvers.size();
    figures.totals.domain_patterns += row.domain_patterns;
    figures.totals.database_bytes += row.database_bytes;
    figures.totals.networks += row.networks;
    figures.totals.dns_resolvers += row.dns_resolvers;
    figures.policies.push_back(std::move(row));
  }
  figures.attachments = compiled.attachments.empty() ? 0 : compiled.attachments.size() - 1;
  if (!compiled.attachments.empty()) {
    figures.default_policy = compiled.policies[compiled.attachments[0].policy_index].name;
    figures.default_source_label = compiled.attachments[0].source_label;
  }
  for (size_t port = 0; port < compiled.port_class.size(); ++port) {
    if (compiled.port_class[port] == PortClass::tls) figures.tls_ports.push_back(static_cast<uint16_t>(port));
    if (compiled.port_class[port] == PortClass::http) figures.http_ports.push_back(static_cast<uint16_t>(port));
    if (compiled.udp_port_class[port] == PortClass::quic) figures.quic_ports.push_back(static_cast<uint16_t>(port));
  }
  figures.seconds = seconds;
  return figures;
}

std::string compile_text(const CompileFigures& figures, const std::string& policy_path) {
  const std::vector<std::string> headers = {"policy", "access", "enforcement", "domains", "database_bytes",
                                            "networks", "resolvers"};
  auto cells = [](const PolicyFigures& row, bool total, size_t policy_count) {
    return std::vector<std::string>{
        row.name,
        total ? std::to_string(policy_count) + (policy_count == 1 ? " policy" : " policies")
              : access_mode_name(row.access_mode),
        total ? "" : enforcement_name(row.enforcement),
        std::to_string(row.domain_patterns),
        std::to_string(row.database_bytes),
        std::to_string(row.networks),
        std::to_string(row.dns_resolvers)};
  };
  std::vector<std::vector<std::string>> rows = {headers};
  for (const auto& row : figures.policies) rows.push_back(cells(row, false, 0));
  rows.push_back(cells(figures.totals, true, figures.policies.size()));
  std::vector<size_t> widths(headers.size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());

  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", figures.seconds);
  std::string text = policy_path + ": policy set " + figures.set_name + " compiled in " + seconds + " s\n";
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      bool numeric = c >= 3;  // counts align right, names left
      if (c) line += "  ";
      line += numeric ? pad_left(row[c], widths[c]) : pad_right(row[c], widths[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    text += line + "\n";
  }
  text += "attachments: " + std::to_string(figures.attachments) + ", default policy " + figures.default_policy +
          " (label " + figures.default_source_label + ")\n";
  text += "tls ports: " + port_list(figures.tls_ports) + "; http ports: " + port_list(figures.http_ports) +
          "; quic ports: " + port_list(figures.quic_ports) + "\n";
  return text;
}

std::string compile_json(const CompileFigures& figures, const std::string& policy_path) {
  Json policies = Json::array();
  for (const auto& row : figures.policies)
    policies.push_back(figures_json({{"name", row.name},
                                     {"access_mode", access_mode_name(row.access_mode)},
                                     {"enforcement", enforcement_name(row.enforcement)}},
                                    row));
  Json json;
  json["policy_file"] = policy_path;
  json["set_name"] = figures.set_name;
  json["compile_seconds"] = figures.seconds;
  json["policies"] = std::move(policies);
  json["totals"] = figures_json({{"policies", figures.policies.size()}}, figures.totals);
  json["attachments"] = figures.attachments;
  json["default_policy"] = figures.default_policy;
  json["default_source_label"] = figures.default_source_label;
  json["tls_ports"] = figures.tls_ports;
  json["http_ports"] = figures.http_ports;
  json["quic_ports"] = figures.quic_ports;
  return json_line(json);
}

int run_compile(const std::string& policy_path, const sluice::policy::PolicySet& source, bool json,
                std::ostream& out, std::ostream& err) {
  OfflineEal eal;
  std::string error;
  if (!eal.start(error)) {
    err << "sluicectl compile: " << error << "\n";
    return 1;
  }
  CompileResult compiled = compile_policy(source, 1, 1);
  if (!compiled.policy) {
    err << "sluicectl compile: " << policy_path << ": compile failed: " << compiled.error << "\n";
    return 1;
  }
  CompileFigures figures = compile_figures(*compiled.policy, source, compiled.seconds);
  compiled.policy.reset();  // its LPM tables go before the EAL
  out << (json ? compile_json(figures, policy_path) + "\n" : compile_text(figures, policy_path));
  return 0;
}

}  // namespace sluice

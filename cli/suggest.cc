#include "cli/suggest.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "controlplane/policy/cidr.h"

namespace sluice {
namespace {

constexpr size_t kWildcardAfterNames = 3;  // this many names below one domain: offer "*.domain"
constexpr size_t kSourcesShown = 5;

template <typename T>
std::vector<T> sorted(const std::set<T>& items) {
  return {items.begin(), items.end()};
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string sources_text(const std::vector<std::string>& sources) {
  std::string out;
  for (size_t i = 0; i < sources.size() && i < kSourcesShown; ++i) out += (i ? ", " : "") + sources[i];
  if (sources.size() > kSourcesShown) out += " and " + std::to_string(sources.size() - kSourcesShown) + " more";
  return out;
}

std::string evidence_text(const SuggestionEvidence& evidence) {
  std::string access;
  for (const auto& type : evidence.access_types) access += (access.empty() ? "" : ", ") + type;
  return std::to_string(evidence.denials) + " denial(s) (" + access + ") in " + std::to_string(evidence.records) +
         " record(s), " + evidence.first_seen + " to " + evidence.last_seen + ", from " +
         sources_text(evidence.sources);
}

std::string network_protocol(const std::string& protocol) {
  if (protocol == "TCP" || protocol == "UDP") return protocol;
  if (protocol == "ICMP" || protocol == "ICMPV6") return "ICMP";
  return "PROTOCOL_ANY";
}

}  // namespace

std::string registrable_domain(const std::string& name, const PublicSuffixList& suffixes) {
  if (name.empty() || suffixes.is_public_suffix(name)) return "";
  // The longest public suffix is the first (leftmost) suffix the list holds; the registrable
  // domain is the suffix one label longer.
  size_t label = 0;  // start of the candidate registrable domain
  while (true) {
    size_t dot = name.find('.', label);
    if (dot == std::string::npos) return name;  // no public suffix inside: the name's last label counts
    if (suffixes.is_public_suffix(std::string_view(name).substr(dot + 1))) return name.substr(label);
    label = dot + 1;
  }
}

void SuggestionEvidence::add(const DenialRow& row) {
  denials += row.count;
  ++records;
  if (row.time_valid) {
    if (first_seen.empty() || row.time_ms < first_ms) {
      first_ms = row.time_ms;
      first_seen = row.event_time;
    }
    if (last_seen.empty() || row.time_ms >= last_ms) {
      last_ms = row.time_ms;
      last_seen = row.event_time;
    }
  }
  std::string source = row.src_ip + (row.source_label.empty() ? "" : " (" + row.source_label + ")");
  if (std::find(sources.begin(), sources.end(), source) == sources.end()) {
    sources.push_back(source);
    std::sort(sources.begin(), sources.end());
  }
  if (std::find(access_types.begin(), access_types.end(), row.access_type) == access_types.end()) {
    access_types.push_back(row.access_type);
    std::sort(access_types.begin(), access_types.end());
  }
}

std::vector<PolicySuggestions> suggest_additions(const std::vector<DenialRow>& rows, const std::string& policy,
                                                 const PublicSuffixList& suffixes) {
  struct Building {
    std::map<std::string, std::pair<std::set<std::string>, SuggestionEvidence>> domains;  // key: registrable or name
    std::map<std::string, std::string> domain_registrable;
    std::map<std::string, std::pair<std::set<std::string>, StorageSuggestion>> storage;  // by StorageEntry::key
    std::map<std::tuple<std::string, std::string>, std::pair<std::set<uint32_t>, SuggestionEvidence>> networks;
    std::map<std::string, SuggestionEvidence> resolvers;
    uint64_t unfixable = 0;
    std::set<std::string> unfixable_reasons;
  };
  std::map<std::string, Building> by_policy;
  for (const auto& row : rows) {
    if (row.access_type != "DROP" && row.access_type != "DRY_RUN_DENIAL") continue;
    if (!policy.empty() && row.policy != policy) continue;
    auto& building = by_policy[row.policy];
    // STORAGE: a name of a storage provider's shape, judged as SNI, Host or QUIC SNI.
    bool named = row.destination_type == "SNI" || row.destination_type == "HTTP_HOST" ||
                 row.destination_type == "QUIC_SNI" || row.destination_type == "STORAGE";
    const std::optional<StorageEntry> storage =
        row.reason == "domain_not_allowed" && named ? storage_entry_of(row.destination) : std::nullopt;
    if (storage) {
      auto [it, inserted] = building.storage.try_emplace(storage->key());
      auto& [names, suggestion] = it->second;
      if (inserted) suggestion.entry = *storage;
      else suggestion.entry.merge(*storage);
      names.insert(row.destination);
      suggestion.evidence.add(row);
    } else if (row.reason == "domain_not_allowed" && named && !row.destination.empty()) {
      std::string registrable = registrable_domain(row.destination, suffixes);
      std::string key = registrable.empty() ? row.destination : registrable;
      building.domain_registrable[key] = registrable;
      auto& [names, evidence] = building.domains[key];
      names.insert(row.destination);
      evidence.add(row);
    } else if (row.reason == "ip_not_allowed" && parse_ip(row.dst_ip)) {
      auto address = parse_ip(row.dst_ip);
      std::string cidr = row.dst_ip + (address->family == 4 ? "/32" : "/128");
      std::string protocol = network_protocol(row.protocol);
      auto& [ports, evidence] = building.networks[{cidr, protocol}];
      if (protocol == "TCP" || protocol == "UDP") ports.insert(row.dst_port);
      evidence.add(row);
    } else if (row.reason == "dns_resolver_not_allowed" && parse_ip(row.dst_ip)) {
      building.resolvers[row.dst_ip].add(row);
    } else {
      building.unfixable += row.count;
      building.unfixable_reasons.insert(row.reason);
    }
  }
  std::vector<PolicySuggestions> out;
  for (auto& [name, building] : by_policy) {
    PolicySuggestions suggestions;
    suggestions.policy = name;
    for (auto& [key, entry] : building.storage) {
      entry.second.names = sorted(entry.first);
      suggestions.storage.push_back(std::move(entry.second));
    }
    for (auto& [key, entry] : building.domains) {
      DomainSuggestion domain;
      domain.registrable = building.domain_registrable[key];
      domain.names = sorted(entry.first);
      size_t below = std::count_if(domain.names.begin(), domain.names.end(),
                                   [&](const std::string& n) { return n != domain.registrable; });
      // Never widen over a public suffix: a registrable domain is not one by construction, and
      // is checked again so a list that changed under us cannot produce "*.co.uk".
      domain.wildcard_alternative = !domain.registrable.empty() && below >= kWildcardAfterNames &&
                                    !suffixes.is_public_suffix(domain.registrable);
      domain.evidence = entry.second;
      suggestions.domains.push_back(std::move(domain));
    }
    for (auto& [key, entry] : building.networks) {
      NetworkSuggestion network;
      network.cidr = std::get<0>(key);
      network.protocol = std::get<1>(key);
      network.ports = sorted(entry.first);
      network.evidence = entry.second;
      suggestions.networks.push_back(std::move(network));
    }
    for (auto& [address, evidence] : building.resolvers) suggestions.resolvers.push_back({address, evidence});
    suggestions.unfixable_denials = building.unfixable;
    suggestions.unfixable_reasons = sorted(building.unfixable_reasons);
    out.push_back(std::move(suggestions));
  }
  return out;
}

void print_suggestions(const std::vector<PolicySuggestions>& suggestions, const DenialReadResult& read,
                       std::ostream& out) {
  out << "# sluicectl suggest: allow-list additions that would have let the denied traffic pass.\n"
      << "# From " << read.files.size() << " file(s), " << read.rows.size()
      << " record(s). Review every line: a denial may be traffic that should stay denied.\n"
      << "# To apply, add each block's lines to the policies { name: ... } block of the same name.\n";
  if (suggestions.empty()) out << "# No DROP or DRY_RUN_DENIAL records matched: nothing to suggest.\n";
  for (const auto& policy : suggestions) {
    out << "policies {\n  name: " << quoted(policy.policy) << "\n";
    for (const auto& storage : policy.storage) {
      std::string names;
      for (const auto& name : storage.names) names += (names.empty() ? "" : ", ") + name;
      out << "  # " << names << ": " << evidence_text(storage.evidence) << "\n";
      if (storage.entry.legacy_global && storage.entry.regions.empty())
        out << "  # the legacy global name names no region: put the bucket's own region in place of us-east-1\n";
      out << "  " << storage_entry_text(storage.entry) << "\n";
    }
    for (const auto& domain : policy.domains) {
      out << "  # " << (domain.registrable.empty() ? domain.names.front() + " (a public suffix itself)" : domain.registrable)
          << ": " << evidence_text(domain.evidence) << "\n";
      for (const auto& name : domain.names) out << "  allowed_domains: " << quoted(name) << "\n";
      if (domain.wildcard_alternative)
        out << "  # or, for every name below " << domain.registrable << ": allowed_domains: "
            << quoted("*." + domain.registrable) << "\n";
    }
    for (const auto& network : policy.networks) {
      out << "  # " << network.cidr << ": " << evidence_text(network.evidence) << "\n";
      out << "  allowed_networks { cidr: " << quoted(network.cidr) << " protocol: " << network.protocol;
      for (auto port : network.ports) out << " ports: " << quoted(std::to_string(port));
      out << " description: " << quoted("suggested from " + std::to_string(network.evidence.denials) + " denial(s)")
          << " }\n";
    }
    for (const auto& resolver : policy.resolvers) {
      out << "  # " << resolver.address << ": " << evidence_text(resolver.evidence) << "\n";
      out << "  dns_resolvers: " << quoted(resolver.address) << "\n";
    }
    if (policy.unfixable_denials) {
      std::string reasons;
      for (const auto& reason : policy.unfixable_reasons) reasons += (reasons.empty() ? "" : ", ") + reason;
      out << "  # not suggested: " << policy.unfixable_denials
          << " denial(s) no allow-list entry would pass (" << reasons << ")\n";
    }
    out << "}\n";
  }
}

}  // namespace sluice

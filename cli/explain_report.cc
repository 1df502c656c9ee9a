#include "cli/explain_report.h"

#include "controlplane/records/flow_event_json.h"
#include "controlplane/records/json.h"
#include "controlplane/policy/policy_words.h"
#include "cli/probe_frames.h"
#include "dataplane/parse/packet_parser.h"
#include "controlplane/policy/quoted_text.h"
#include "controlplane/policy/service_tag_rules.h"

namespace sluice {

namespace {


bool is_icmp(uint8_t protocol) { return protocol == kIpProtoIcmp || protocol == kIpProtoIcmpv6; }

// "198.19.0.10 TCP port 5432", "198.19.0.10 ICMP".
std::string address_and_port(const ExplainAnswer& answer, const IpAddress& address) {
  std::string text = format_ip(address) + " " + protocol_name(answer.question.ip_protocol);
  if (!is_icmp(answer.question.ip_protocol)) text += " port " + std::to_string(answer.question.port);
  return text;
}

std::string endpoint(const IpAddress& address, uint16_t port) {
  std::string text = address.family == 6 ? "[" + format_ip(address) + "]" : format_ip(address);
  return text + ":" + std::to_string(port);
}

// allowed_networks[0] 198.19.0.0/24 TCP port 5432 "metastore"
std::string rule_text(const ExplainNetworkRule& rule) {
  std::string text = "allowed_networks[" + std::to_string(rule.index) + "] " + rule.cidr + " " + rule.protocol;
  if (rule.protocol == "TCP" || rule.protocol == "UDP" || rule.protocol == "any") {
    if (rule.ports.empty()) {
      text += " every port";
    } else {
      bool one_port = rule.ports.size() == 1 && rule.ports[0].find('-') == std::string::npos;
      text += one_port ? " port " : " ports ";
      for (size_t i = 0; i < rule.ports.size(); ++i) text += (i ? "," : "") + rule.ports[i];
    }
  }
  if (!rule.description.empty()) text += " " + quoted_text(rule.description);
  return text;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) text += (i ? separator : "") + items[i];
  return text;
}

std::string probe_text(const ExplainAnswer& answer) {
  const auto& question = answer.question;
  if (is_icmp(question.ip_protocol))
    return "ICMP echo request " + format_ip(question.source) + " -> " + format_ip(answer.probe_destination);
  std::string route =
      endpoint(question.source, kProbeSourcePort) + " -> " + endpoint(answer.probe_destination, question.port);
  if (question.ip_protocol == kIpProtoUdp && answer.inspection == PortClass::quic)
    return question.destination_is_name ? "UDP datagram: a QUIC Initial whose ClientHello has SNI " +
                                               question.destination + ", " + route
                                         : "UDP datagram: a QUIC Initial with the start of a ClientHello, " + route;
  if (question.ip_protocol == kIpProtoUdp) return "UDP datagram " + route;
  if (!question.destination_is_name) return "TCP SYN " + route;
  std::string payload = answer.inspection == PortClass::tls ? "a ClientHello with SNI " : "an HTTP request with Host ";
  return "TCP SYN, then " + payload + question.destination + ", " + route;
}

Json network_rule_json(const ExplainNetworkRule& rule) {
  return {{"index", rule.index},
          {"cidr", rule.cidr},
          {"protocol", rule.protocol},
          {"ports", rule.ports},
          {"description", rule.description}};
}

// "DENY rule \"no-paste\" (priority 100)"
std::string numbered_rule_text(const ExplainRule& rule) {
  return std::string(rule.deny ? "DENY" : "ALLOW") + " rule " + quoted_text(rule.name) + " (priority " +
         std::to_string(rule.priority) + ")";
}

// "member \"*.pastebin.com\" of domain group \"paste\"", or the pattern/CIDR alone.
// A numbered rule's service tag is an ip group named "service tag TAG" (expand_service_tags):
// "prefix \"198.19.40.0/24\" of service tag \"Storage.WestEurope\"".
std::string member_text(const std::string& member, const std::string& group, bool name) {
  if (group.empty()) return quoted_text(member);
  if (!name && group.starts_with(kServiceTagGroupPrefix))
    return "prefix " + quoted_text(member) + " of service tag " +
           quoted_text(group.substr(std::string_view(kServiceTagGroupPrefix).size()));
  return "member " + quoted_text(member) + " of " + (name ? "domain" : "ip") + " group " + quoted_text(group);
}

std::string rule_location(const ExplainAnswer& answer) {
  if (!answer.deciding_rule) return "";
  return answer.policy_file + (answer.deciding_rule->line > 0 ? ":" + std::to_string(answer.deciding_rule->line) : "");
}

}  // namespace

std::string explain_because(const ExplainAnswer& answer) {
  const std::string policy = "policy " + answer.policy_name;
  const std::string destination = address_and_port(answer, answer.probe_destination);
  if (answer.verdict == FlowVerdict::pending) {
    std::string text = answer.covering_networks.empty()
                           ? "no allowed network of " + policy + " holds " + format_ip(answer.probe_destination)
                           : "no allowed network of " + policy + " allows " + destination;
    const char* what = answer.inspection == PortClass::http ? "HTTP port: the dataplane waits for the request and "
                                                              "judges its Host"
                       : answer.inspection == PortClass::quic
                           ? "QUIC port: the dataplane waits for the ClientHello in the client's Initials and judges "
                             "its SNI"
                           : "TLS port: the dataplane waits for the ClientHello and judges its SNI";
    return text + ", and " + std::to_string(answer.question.port) + " is a " + what +
           " (ask again with the host name)";
  }
  if (answer.deciding_rule) {
    const ExplainRule& rule = *answer.deciding_rule;
    const bool by_name = !answer.judged_name.empty();
    std::string what = by_name ? quoted_text(answer.judged_name) : destination;
    std::string text = what + (by_name ? " matches " : " is in ");
    if (!rule.member.empty()) text += member_text(rule.member, rule.group, by_name) + " of ";
    text += numbered_rule_text(rule) + " of " + policy;
    return text + (rule.deny ? ", which denies it before any rule that allows it"
                             : ", which allows it before any rule that denies it");
  }
  switch (answer.reason) {
    case Reason::allowed_full_access:
      return policy + " has access mode FULL: every destination is allowed";
    case Reason::allowed_domain:
      if (answer.matched_domain_index && answer.matched_storage)
        return quoted_text(answer.judged_name) + " is a host name of " + policy + "'s allowed_storage";
      if (answer.matched_domain_index && !answer.matched_group.empty())
        return quoted_text(answer.judged_name) + " matches " + member_text(answer.matched_domain, answer.matched_group, true) +
               " (allowed_domain_groups) of " + policy;
      if (answer.matched_domain_index)
        return quoted_text(answer.judged_name) + " matches allowed_domains[" + std::to_string(*answer.matched_domain_index) +
               "] " + quoted_text(answer.matched_domain) + " of " + policy;
      return quoted_text(answer.judged_name) + " matches an allowed domain of " + policy;
    case Reason::domain_not_allowed:
      if (answer.domain_pattern_count == 0) return quoted_text(answer.judged_name) + ": " + policy + " allows no domain";
      // The name matches a rule, but no rule it matches lists this port.
      if (answer.matched_domain_index && !answer.matched_storage)
        return quoted_text(answer.judged_name) + " matches allowed_domains[" + std::to_string(*answer.matched_domain_index) +
               "] " + quoted_text(answer.matched_domain) + " of " + policy + ", but no allowed domain it matches allows " +
               protocol_name(answer.question.ip_protocol) + " port " + std::to_string(answer.question.port);
      return quoted_text(answer.judged_name) + " matches none of the " + std::to_string(answer.domain_pattern_count) +
             " allowed domains of " + policy;
    case Reason::allowed_network:
      if (answer.matched_network && !answer.matched_group.empty())
        return destination + " is allowed by " + member_text(answer.matched_network->cidr, answer.matched_group, false) +
               " (allowed_ip_groups) of " + policy;
      if (answer.matched_network)
        return destination + " is allowed by " + rule_text(*answer.matched_network) + " of " + policy;
      return destination + " is in an allowed network of " + policy;
    case Reason::ip_not_allowed: {
      if (answer.covering_networks.empty())
        return "no allowed network of " + policy + " holds " + format_ip(answer.probe_destination);
      std::vector<std::string> rules;
      for (const auto& rule : answer.covering_networks) rules.push_back(rule_text(rule));
      return format_ip(answer.probe_destination) + " is in " + join(rules, "; ") + " of " + policy + ", but not for " +
             protocol_name(answer.question.ip_protocol) +
             (is_icmp(answer.question.ip_protocol) ? "" : " port " + std::to_string(answer.question.port));
    }
    case Reason::allowed_dns_resolver:
      return format_ip(answer.probe_destination) + " is a DNS resolver " + policy + " lists";
    case Reason::dns_resolver_not_allowed:
      if (answer.dns_resolvers.empty()) return policy + " lists no DNS resolver";
      return format_ip(answer.probe_destination) + " is not a DNS resolver of " + policy + " (it lists " +
             join(answer.dns_resolvers, ", ") + ")";
    default:
      return describe(answer.reason);
  }
}

std::string explain_text(const ExplainAnswer& answer) {
  const auto& question = answer.question;
  std::string attachment =
      answer.default_attachment
          ? "none covers " + format_ip(question.source) + ": the default policy, label " + answer.source_label
          : answer.source_cidr + ", label " + answer.source_label;
  std::string enforcement = enforcement_name(answer.enforcement);
  if (answer.enforcement_overridden)
    enforcement += std::string(" (the attachment's enforcement_override; the policy's is ") +
                   enforcement_name(answer.policy_enforcement) + ")";
  else
    enforcement += " (the policy's)";
  std::string destination = question.destination + ", " + protocol_name(question.ip_protocol);
  if (!is_icmp(question.ip_protocol)) destination += " port " + std::to_string(question.port);
  if (question.destination_is_name)
    destination += answer.inspection == PortClass::tls    ? " (TLS: judged on the ClientHello's SNI)"
                   : answer.inspection == PortClass::quic ? " (QUIC: judged on the SNI of the Initials' ClientHello)"
                                                          : " (HTTP: judged on the request's Host)";
  std::string verdict = to_string(answer.verdict);
  if (answer.verdict == FlowVerdict::pending) verdict += " (judged on the first payload)";
  else verdict += std::string(" ") + to_string(answer.reason);
  if (answer.tcp_reset) verdict += " (the client gets a TCP reset)";
  if (answer.icmp_unreachable) verdict += " (the client gets an ICMP administratively-prohibited error)";

  std::string text;
  text += "source:      " + format_ip(question.source) + "\n";
  text += "attachment:  " + attachment + "\n";
  text += "policy:      " + answer.policy_name + " (" + access_mode_name(answer.access_mode) + ")\n";
  text += "enforcement: " + enforcement + "\n";
  text += "destination: " + destination + "\n";
  text += "probe:       " + probe_text(answer) + "\n";
  text += "verdict:     " + verdict + "\n";
  if (answer.deciding_rule)
    text += "rule:        " + numbered_rule_text(*answer.deciding_rule) + " at " + rule_location(answer) + "\n";
  text += "because:     " + explain_because(answer) + "\n";
  return text;
}

std::string explain_json(const ExplainAnswer& answer, const std::string& policy_path) {
  const auto& question = answer.question;
  Json json;
  json["policy_file"] = policy_path;
  json["source"] = format_ip(question.source);
  json["destination"] = question.destination;
  json["destination_kind"] = question.destination_is_name ? "name" : "ip";
  json["protocol"] = protocol_name(question.ip_protocol);
  json["dst_port"] = question.port;
  json["dst_ip"] = format_ip(answer.probe_destination);
  json["inspection"] = inspection_name(answer.inspection);
  json["attachment"] = {{"source_cidr", answer.source_cidr},
                        {"source_label", answer.source_label},
                        {"default", answer.default_attachment}};
  json["policy"] = {{"name", answer.policy_name},
                    {"access_mode", access_mode_name(answer.access_mode)},
                    {"enforcement", enforcement_name(answer.policy_enforcement)}};
  json["enforcement"] = enforcement_name(answer.enforcement);
  json["enforcement_overridden"] = answer.enforcement_overridden;
  json["verdict"] = to_string(answer.verdict);
  json["reason"] = answer.verdict == FlowVerdict::pending ? Json() : Json(to_string(answer.reason));
  json["destination_type"] = to_string(answer.destination_type);
  json["judged_name"] = answer.judged_name.empty() ? Json() : Json(answer.judged_name);
  json["matched_domain"] = answer.matched_domain_index
                               ? Json{{"index", *answer.matched_domain_index}, {"pattern", answer.matched_domain}}
                               : Json();
  json["matched_network"] = answer.matched_network ? network_rule_json(*answer.matched_network) : Json();
  Json covering = Json::array();
  for (const auto& rule : answer.covering_networks) covering.push_back(network_rule_json(rule));
  json["covering_networks"] = std::move(covering);
  json["dns_resolvers"] = answer.dns_resolvers;
  json["tcp_reset"] = answer.tcp_reset;
  json["icmp_unreachable"] = answer.icmp_unreachable;
  json["because"] = explain_because(answer);
  if (answer.deciding_rule) {
    const ExplainRule& rule = *answer.deciding_rule;
    json["rule"] = {{"name", rule.name},
                    {"priority", rule.priority},
                    {"action", rule.deny ? "DENY" : "ALLOW"},
                    {"file", answer.policy_file},
                    {"line", rule.line},
                    {"group", rule.group},
                    {"member", rule.member}};
  }
  return json_line(json);
}

}  // namespace sluice

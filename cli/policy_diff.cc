#include "cli/policy_diff.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "cli/explain.h"
#include "cli/explain_question.h"
#include "cli/offline_eal.h"
#include "cli/replay.h"
#include "controlplane/policy/cidr.h"
#include "controlplane/policy/policy_compiler.h"
#include "controlplane/records/json.h"
#include "dataplane/reason.h"

namespace sluice {
namespace {

namespace pb = sluice::policy;

std::string lower_name(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  auto colon = text.find(':');
  std::string name = text.substr(0, colon), ports = colon == std::string::npos ? "" : text.substr(colon);
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name + ports;
}

std::string network_text(const pb::NetworkRule& rule) {
  std::string text = rule.cidr() + " " + pb::Protocol_Name(rule.protocol());
  if (rule.ports_size()) {
    text += " ports ";
    for (int i = 0; i < rule.ports_size(); ++i) text += (i ? "," : "") + rule.ports(i);
  }
  return text;
}

std::string attachment_text(const pb::Attachment& attachment) {
  std::string text = attachment.source_cidr() + " -> " + attachment.policy();
  if (!attachment.source_label().empty()) text += " label " + attachment.source_label();
  if (attachment.enforcement_override() != pb::ENFORCEMENT_UNSPECIFIED)
    text += " enforcement_override " + pb::Enforcement_Name(attachment.enforcement_override());
  return text;
}

void compare(const std::set<std::string>& before, const std::set<std::string>& after, const std::string& policy,
             const std::string& field, std::vector<PolicyChange>& out) {
  for (const auto& entry : before)
    if (!after.count(entry)) out.push_back({'-', policy, field, entry});
  for (const auto& entry : after)
    if (!before.count(entry)) out.push_back({'+', policy, field, entry});
}

template <typename Items, typename Text>
std::set<std::string> texts(const Items& items, Text text) {
  std::set<std::string> out;
  for (const auto& item : items) out.insert(text(item));
  return out;
}

std::set<std::string> one(const std::string& text) { return text.empty() ? std::set<std::string>{} : std::set{text}; }

// Judged under one policy set: the verdict, the reason and the policy, as explain reports them.
struct Judgement {
  std::string verdict;  // ALLOW, DROP, DRY_RUN_DENIAL, PENDING, or NOT_JUDGED
  std::string reason;
  std::string policy;
  bool operator==(const Judgement&) const = default;
};

Judgement judge(const CompiledPolicy& policy, const pb::PolicySet& source, const ExplainQuestion& question,
                std::string& error, bool& failed) {
  ExplainAnswer answer;
  ExplainStatus status = explain_flow(policy, source, question, answer, error);
  if (status == ExplainStatus::bad_question) return {"NOT_JUDGED", "port is neither TLS nor HTTP here", ""};
  if (status != ExplainStatus::answered) {
    failed = true;
    return {};
  }
  std::string reason = answer.verdict == FlowVerdict::pending ? "" : to_string(answer.reason);
  return {to_string(answer.verdict), reason, answer.policy_name};
}

struct FlowQuestion {
  std::string src_ip, destination, protocol, dst_ip;
  uint32_t dst_port = 0;
  auto key() const { return std::tie(src_ip, destination, dst_ip, protocol, dst_port); }
  bool operator<(const FlowQuestion& other) const { return key() < other.key(); }
};

struct FlowChange {
  FlowQuestion flow;
  uint64_t flows = 0;
  Judgement before, after;
};

// The logged flows as distinct questions (source port aside: explain probes from its own),
// with how many flows each stands for. Lines that are not flows are counted in `skipped`.
bool read_flow_questions(const std::string& path, std::map<FlowQuestion, uint64_t>& questions, uint64_t& skipped,
                         std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json flow = Json::parse(line, nullptr, false);
    if (flow.is_discarded() || !flow.is_object()) {
      ++skipped;
      continue;
    }
    auto text = [&](const char* name) {
      auto it = flow.find(name);
      return it != flow.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    FlowQuestion question;
    question.src_ip = text("src_ip");
    question.dst_ip = text("dst_ip");
    question.protocol = text("protocol");
    auto port = flow.find("dst_port");
    question.dst_port = port != flow.end() && port->is_number_unsigned() ? port->get<uint32_t>() : 0;
    std::string sni = text("sni"), host = text("http_host");
    question.destination = !sni.empty() ? sni : !host.empty() ? host : question.dst_ip;
    if (question.src_ip.empty() || question.dst_ip.empty()) {
      ++skipped;
      continue;
    }
    ++questions[question];
  }
  return true;
}

std::optional<ExplainQuestion> to_question(const FlowQuestion& flow) {
  std::string protocol;
  std::optional<std::string> port;
  if (flow.protocol == "TCP") protocol = "tcp";
  else if (flow.protocol == "UDP") protocol = "udp";
  else if (flow.protocol == "ICMP" || flow.protocol == "ICMPV6") protocol = "icmp";
  else return std::nullopt;  // explain probes TCP, UDP and ICMP only
  if (protocol != "icmp") port = std::to_string(flow.dst_port);
  ExplainQuestion question;
  std::optional<std::string_view> port_view;
  if (port) port_view = *port;
  if (!parse_explain_question(flow.src_ip, flow.destination, port_view, std::string_view(protocol), question).empty())
    return std::nullopt;
  if (question.destination_is_name) question.name_address = parse_ip(flow.dst_ip);
  return question;
}

Json judgement_json(const Judgement& judgement) {
  return Json{{"verdict", judgement.verdict},
              {"reason", judgement.reason.empty() ? Json(nullptr) : Json(judgement.reason)},
              {"policy", judgement.policy}};
}

std::string judgement_text(const Judgement& judgement) {
  return judgement.verdict + (judgement.reason.empty() ? "" : " " + judgement.reason) +
         (judgement.policy.empty() ? "" : " (policy " + judgement.policy + ")");
}

}  // namespace

std::vector<PolicyChange> diff_policy_sets(const pb::PolicySet& old_set, const pb::PolicySet& new_set) {
  std::vector<PolicyChange> out;
  compare(one(old_set.default_policy()), one(new_set.default_policy()), "", "default_policy", out);
  compare(one(old_set.default_source_label()), one(new_set.default_source_label()), "", "default_source_label", out);
  auto port_text = [](uint32_t port) { return std::to_string(port); };
  compare(texts(old_set.tls_ports(), port_text), texts(new_set.tls_ports(), port_text), "", "tls_ports", out);
  compare(texts(old_set.http_ports(), port_text), texts(new_set.http_ports(), port_text), "", "http_ports", out);
  compare(texts(old_set.quic_ports(), port_text), texts(new_set.quic_ports(), port_text), "", "quic_ports", out);
  compare(texts(old_set.attachments(), attachment_text), texts(new_set.attachments(), attachment_text), "",
          "attachments", out);
  std::map<std::string, const pb::Policy*> before, after;
  for (const auto& policy : old_set.policies()) before[policy.name()] = &policy;
  for (const auto& policy : new_set.policies()) after[policy.name()] = &policy;
  std::set<std::string> names;
  for (const auto& [name, policy] : before) names.insert(name);
  for (const auto& [name, policy] : after) names.insert(name);
  static const pb::Policy kNone;
  for (const auto& name : names) {
    const pb::Policy& a = before.count(name) ? *before[name] : kNone;
    const pb::Policy& b = after.count(name) ? *after[name] : kNone;
    if (!before.count(name)) out.push_back({'+', name, "policy", name});
    if (!after.count(name)) out.push_back({'-', name, "policy", name});
    auto mode = [](const pb::Policy& p, bool present) {
      return present ? pb::AccessMode_Name(p.access_mode()) + " " + pb::Enforcement_Name(p.enforcement()) : "";
    };
    if (before.count(name) && after.count(name))
      compare(one(mode(a, true)), one(mode(b, true)), name, "mode", out);
    compare(texts(a.allowed_domains(), lower_name), texts(b.allowed_domains(), lower_name), name, "allowed_domains",
            out);
    compare(texts(a.allowed_networks(), network_text), texts(b.allowed_networks(), network_text), name,
            "allowed_networks", out);
    auto same = [](const std::string& text) { return text; };
    compare(texts(a.dns_resolvers(), same), texts(b.dns_resolvers(), same), name, "dns_resolvers", out);
    compare(texts(a.allowed_proxies(), same), texts(b.allowed_proxies(), same), name, "allowed_proxies", out);
    compare(one(a.tls_exceptions().ShortDebugString()), one(b.tls_exceptions().ShortDebugString()), name,
            "tls_exceptions", out);
    auto flag = [](bool on) { return one(on ? "allow_unbound_names: true" : ""); };
    compare(flag(a.allow_unbound_names()), flag(b.allow_unbound_names()), name, "allow_unbound_names", out);
  }
  return out;
}

int run_diff(const std::string& old_path, const pb::PolicySet& old_set, const std::string& new_path,
             const pb::PolicySet& new_set, const std::string& flows_path, const CaptureDiffOptions& capture,
             bool json, std::ostream& out, std::ostream& err) {
  std::vector<PolicyChange> changes = diff_policy_sets(old_set, new_set);
  std::vector<FlowChange> flow_changes;
  uint64_t flows_read = 0, flows_skipped = 0, flows_not_judged = 0;
  std::map<FlowQuestion, uint64_t> questions;
  std::string error;
  // Every input is read before the EAL starts: a bad one costs no DPDK start-up.
  if (!flows_path.empty() && !read_flow_questions(flows_path, questions, flows_skipped, error)) {
    err << "sluicectl diff: " << error << "\n";
    return 2;
  }
  if (!capture.pcap_path.empty()) {
    if (std::string problem = check_capture(capture.pcap_path); !problem.empty()) {
      err << "sluicectl diff: " << problem << "\n";
      return 2;
    }
  }
  // One EAL for the process (DPDK starts once): the flow log's questions and the capture's passes share it.
  OfflineEal eal;
  if ((!flows_path.empty() || !capture.pcap_path.empty()) && !eal.start(error)) {
    err << "sluicectl diff: " << error << "\n";
    return 1;
  }
  if (!flows_path.empty()) {
    {
      CompileResult old_compiled = compile_policy(old_set, 1, 1);
      CompileResult new_compiled = compile_policy(new_set, 2, 1);
      for (auto [compiled, path] : {std::pair{&old_compiled, &old_path}, std::pair{&new_compiled, &new_path}})
        if (!compiled->policy) {
          err << "sluicectl diff: " << *path << ": compile failed: " << compiled->error << "\n";
          return 1;
        }
      for (const auto& [flow, count] : questions) {
        flows_read += count;
        auto question = to_question(flow);
        if (!question) {
          flows_not_judged += count;
          continue;
        }
        bool failed = false;
        Judgement before = judge(*old_compiled.policy, old_set, *question, error, failed);
        Judgement after = judge(*new_compiled.policy, new_set, *question, error, failed);
        if (failed) {
          err << "sluicectl diff: " << error << "\n";
          return 1;
        }
        if (before.verdict != after.verdict || before.reason != after.reason)
          flow_changes.push_back({flow, count, before, after});
      }
    }  // the compiled policies' tables go before the EAL
  }
  CaptureDiff capture_diff;
  if (!capture.pcap_path.empty()) {
    if (int status = diff_capture(capture, old_set, old_path, new_set, new_path, capture_diff, err); status != 0)
      return status;
  }
  if (json) {
    Json list = Json::array();
    for (const auto& change : changes)
      list.push_back({{"change", std::string(1, change.sign)},
                      {"policy", change.policy.empty() ? Json(nullptr) : Json(change.policy)},
                      {"field", change.field},
                      {"entry", change.entry}});
    Json result{{"old_file", old_path}, {"new_file", new_path}, {"changes", std::move(list)}};
    if (!flows_path.empty()) {
      Json flows = Json::array();
      for (const auto& change : flow_changes)
        flows.push_back({{"src_ip", change.flow.src_ip},
                         {"destination", change.flow.destination},
                         {"dst_ip", change.flow.dst_ip},
                         {"protocol", change.flow.protocol},
                         {"dst_port", change.flow.dst_port},
                         {"flows", change.flows},
                         {"old", judgement_json(change.before)},
                         {"new", judgement_json(change.after)}});
      result["flow_log"] = {{"file", flows_path},
                            {"flows", flows_read},
                            {"not_judged", flows_not_judged},
                            {"unreadable_lines", flows_skipped},
                            {"changed", std::move(flows)}};
    }
    if (!capture.pcap_path.empty()) {
      auto side = [](const CaptureVerdict& verdict) {
        return Json{{"verdict", verdict.verdict},
                    {"reason", verdict.reason.empty() ? Json(nullptr) : Json(verdict.reason)},
                    {"policy", verdict.policy.empty() ? Json(nullptr) : Json(verdict.policy)}};
      };
      Json flows = Json::array();
      for (const auto& change : capture_diff.changed)
        flows.push_back({{"src_ip", change.src_ip},
                         {"src_port", change.src_port},
                         {"destination", change.destination},
                         {"dst_ip", change.dst_ip},
                         {"dst_port", change.dst_port},
                         {"protocol", change.protocol},
                         {"old", side(change.before)},
                         {"new", side(change.after)}});
      result["capture"] = {{"file", capture.pcap_path}, {"flows", capture_diff.flows}, {"changed", std::move(flows)}};
    }
    out << json_line(result) << "\n";
    return 0;
  }
  out << "--- " << old_path << "\n+++ " << new_path << "\n";
  std::string heading = "\x01";
  for (const auto& change : changes) {
    if (change.policy != heading) {
      heading = change.policy;
      out << (heading.empty() ? std::string("policy set:") : "policy " + heading + ":") << "\n";
    }
    out << "  " << change.sign << " " << change.field << ": " << change.entry << "\n";
  }
  if (changes.empty()) out << "no policy changes\n";
  if (!capture.pcap_path.empty()) {
    out << "flows of " << capture.pcap_path << " whose verdict changes: " << capture_diff.changed.size() << " of "
        << capture_diff.flows << " flow(s)\n";
    for (const auto& change : capture_diff.changed) {
      const bool ports = change.protocol == "TCP" || change.protocol == "UDP";
      out << "  " << change.src_ip << (ports ? ":" + std::to_string(change.src_port) : "") << " -> "
          << change.destination;
      if (change.destination != change.dst_ip) out << " (" << change.dst_ip << ")";
      out << " " << change.protocol << (ports ? "/" + std::to_string(change.dst_port) : "") << ": "
          << capture_verdict_text(change.before) << " -> " << capture_verdict_text(change.after) << "\n";
    }
  }
  if (flows_path.empty()) return 0;
  out << "flows whose verdict changes: " << flow_changes.size() << " destination(s) of " << flows_read
      << " logged flow(s)";
  if (flows_not_judged) out << " (" << flows_not_judged << " not judged: neither TCP, UDP nor ICMP)";
  out << "\n";
  for (const auto& change : flow_changes)
    out << "  " << change.flow.src_ip << " -> " << change.flow.destination << " " << change.flow.protocol
        << (change.flow.protocol == "TCP" || change.flow.protocol == "UDP" ? "/" + std::to_string(change.flow.dst_port)
                                                                            : "")
        << " (" << change.flows << " flow(s)): " << judgement_text(change.before) << " -> "
        << judgement_text(change.after) << "\n";
  if (flows_skipped) err << "sluicectl diff: " << flows_path << ": skipped " << flows_skipped << " unreadable line(s)\n";
  return 0;
}

}  // namespace sluice

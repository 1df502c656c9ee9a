#include "cli/capture_diff.h"

#include <cstdlib>  // mkdtemp

#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "cli/replay.h"
#include "controlplane/config/config_loader.h"
#include "controlplane/records/json.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

struct LoggedFlow {
  CaptureFlowChange identity;  // the flow's fields; `before` holds its verdict in this pass
  bool matched = false;
};

// A flow's identity across the two passes: its 5-tuple and which occurrence of that 5-tuple it is
// (a capture may reuse a tuple after the first flow ended; both passes see the occurrences in
// capture order, since either pass logs a flow once, at its verdict or at the end).
using FlowIdentity = std::tuple<std::string, std::string, uint32_t, std::string, uint32_t, uint32_t>;

bool read_flow_log(const fs::path& path, std::vector<LoggedFlow>& flows, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = path.string() + ": cannot read the pass's flow log";
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Json flow = Json::parse(line, nullptr, false);
    if (flow.is_discarded() || !flow.is_object()) {
      error = path.string() + ": a flow-log line is not JSON";  // our own writer: a bug, not input
      return false;
    }
    auto text = [&](const char* name) {
      auto it = flow.find(name);
      return it != flow.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    auto number = [&](const char* name) {
      auto it = flow.find(name);
      return it != flow.end() && it->is_number_unsigned() ? it->get<uint32_t>() : 0u;
    };
    LoggedFlow logged;
    CaptureFlowChange& f = logged.identity;
    f.src_ip = text("src_ip");
    f.dst_ip = text("dst_ip");
    f.protocol = text("protocol");
    f.src_port = number("src_port");
    f.dst_port = number("dst_port");
    std::string sni = text("sni"), host = text("http_host");
    f.destination = !sni.empty() ? sni : !host.empty() ? host : f.dst_ip;
    f.before = {text("verdict"), text("reason"), text("policy")};
    flows.push_back(std::move(logged));
  }
  return true;
}

// A directory of our own for the two passes' flow logs, removed with everything in it.
struct ScratchDirectory {
  fs::path path;
  bool create(std::string& error) {
    std::string pattern = (fs::temp_directory_path() / "sluicectl-diff-XXXXXX").string();
    if (!mkdtemp(pattern.data())) {
      error = "cannot create a temporary directory under " + fs::temp_directory_path().string();
      return false;
    }
    path = pattern;
    return true;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    if (!path.empty()) fs::remove_all(path, ignored);
  }
};

}  // namespace

std::string capture_verdict_text(const CaptureVerdict& verdict) {
  std::string text = verdict.verdict;
  if (!verdict.reason.empty()) text += " " + verdict.reason;
  if (!verdict.policy.empty()) text += " (policy " + verdict.policy + ")";
  return text;
}

int diff_capture(const CaptureDiffOptions& options, const policy::PolicySet& old_set, const std::string& old_path,
                 const policy::PolicySet& new_set, const std::string& new_path, CaptureDiff& result,
                 std::ostream& err) {
  std::string error;
  ScratchDirectory scratch;
  if (!scratch.create(error)) {
    err << "sluicectl diff: " << error << "\n";
    return 1;
  }
  config::ApplianceConfig settings;
  apply_config_defaults(settings);
  std::vector<LoggedFlow> passes[2];
  const std::pair<const policy::PolicySet*, const std::string*> sets[2] = {{&old_set, &old_path},
                                                                          {&new_set, &new_path}};
  for (int i = 0; i < 2; ++i) {
    ReplayOptions replay;
    replay.command = "diff";
    replay.pcap_path = options.pcap_path;
    replay.policy_path = *sets[i].second;
    replay.has_outside_mac = options.has_outside_mac;
    replay.outside_mac = options.outside_mac;
    replay.flows_path = (scratch.path / (i ? "new.jsonl" : "old.jsonl")).string();
    ReplayPass pass;
    // A pass that replayed and still failed met a damaged capture (2); any other failure (a
    // policy that does not compile, the scratch file, the platform) is not the input's (1).
    if (int status = replay_capture(replay, *sets[i].first, settings, pass, err); status != 0)
      return status == 2 && pass.summarized ? 2 : 1;
    if (!read_flow_log(replay.flows_path, passes[i], error)) {
      err << "sluicectl diff: " << error << "\n";
      return 1;
    }
  }

  std::map<FlowIdentity, LoggedFlow*> new_flows;
  std::map<std::tuple<std::string, std::string, uint32_t, std::string, uint32_t>, uint32_t> seen[2];
  auto identity = [&](int pass, const CaptureFlowChange& f) {
    uint32_t occurrence = seen[pass][{f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port}]++;
    return FlowIdentity{f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port, occurrence};
  };
  for (auto& flow : passes[1]) new_flows[identity(1, flow.identity)] = &flow;
  for (auto& flow : passes[0]) {
    ++result.flows;
    auto it = new_flows.find(identity(0, flow.identity));
    CaptureVerdict after{"NO_FLOW", "", ""};
    if (it != new_flows.end()) {
      it->second->matched = true;
      after = it->second->identity.before;
    }
    if (after == flow.identity.before) continue;
    CaptureFlowChange change = flow.identity;
    change.after = after;
    // The name a flow was judged on may be known to one pass only (a flow denied on its address
    // before its ClientHello); show the one there is.
    if (it != new_flows.end() && change.destination == change.dst_ip)
      change.destination = it->second->identity.destination;
    result.changed.push_back(std::move(change));
  }
  for (auto& flow : passes[1]) {
    if (flow.matched) continue;
    ++result.flows;
    CaptureFlowChange change = flow.identity;
    change.after = change.before;
    change.before = {"NO_FLOW", "", ""};
    result.changed.push_back(std::move(change));
  }
  return 0;
}

}  // namespace sluice

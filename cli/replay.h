// `sluicectl replay`: the dataplane's own PacketProcessor over a pcap, offline — "what would this
// policy do to this traffic?". A pcap has no ingress port: without an outside MAC every packet
// enters as if received on the inside port (a packet of a known flow sent by the flow's
// responder is that flow's return traffic); with one, frames from that source MAC enter on the
// outside port, so the sides are judged as sluiced judges them (flows start only inside).
#pragma once

#include <array>
#include <cstdint>
#include <ostream>
#include <string_view>
#include <string>
#include <vector>

#include "config.pb.h"
#include "controlplane/records/run_summary.h"
#include "policy.pb.h"

namespace sluice {

struct ReplayOptions {
  std::string policy_path;
  std::string pcap_path;
  std::string flows_path;    // one JSON line per flow; "" = none
  std::string denials_path;  // denial records; "" = none
  std::string forwarded_path;  // frames the appliance would forward, as a pcap; "" = none
  std::string replies_path;    // frames it would send back (resets, ICMP errors); "" = none
  std::string config_path;     // appliance config whose dataplane settings apply; "" = defaults
  std::string learned_state_path;  // sluiced's learned-address state file, read before the first packet; "" = none
  std::vector<std::string> service_tag_files;  // besides the config's service_tag_files
  std::string appliance_name = "sluicectl-replay";
  uint32_t flow_capacity = 65536;
  bool json = false;  // the summary as one JSON object (RunSummary::to_json)
  bool has_outside_mac = false;           // --outside-mac given
  std::array<uint8_t, 6> outside_mac{};   // frames with this source MAC came in on the outside port
  std::string command = "replay";         // names the command in messages ("diff" runs replays too)
};

// What one pass of a capture through a policy set ends with.
struct ReplayPass {
  bool summarized = false;  // the capture was replayed (perhaps only up to damage) and `summary` holds it
  RunSummary summary;
};

// "02:00:5e:00:00:02" (hex, either case, colons) into `out`; false for anything else.
bool parse_mac_address(std::string_view text, std::array<uint8_t, 6>& out);

// "" when `path` opens as an Ethernet capture, else why not (PATH: message). Checked before the
// EAL starts, so that a bad capture costs no DPDK start-up.
std::string check_capture(const std::string& path);

// One pass of options.pcap_path through `policy_set` on a WorkerRig, with the EAL already up (it
// is started once a process: `diff --pcap` runs two passes in one). Writes the outputs `options`
// names (policy_path only titles the summary). Returns 0; 2 for an unreadable or damaged capture,
// an unwritable output or a policy that does not compile; 1 for platform failures.
int replay_capture(const ReplayOptions& options, const sluice::policy::PolicySet& policy_set,
                   const sluice::config::ApplianceConfig& settings, ReplayPass& pass, std::ostream& err);

// The command: loads and checks its inputs, starts the EAL and runs one pass, then prints the
// summary. Returns 0 after a replay, 2 for a refused policy or unreadable pcap, 1 for platform failures.
int run_replay(const ReplayOptions& options, std::ostream& out, std::ostream& err);

}  // namespace sluice

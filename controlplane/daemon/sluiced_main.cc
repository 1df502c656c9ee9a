// sluiced: the Sluice appliance daemon. See `sluiced --help` and README.md.
#include <iostream>

#include "controlplane/build_info.h"
#include "controlplane/daemon/appliance.h"
#include "controlplane/daemon/config_check.h"
#include "controlplane/config/cli_args.h"
#include "controlplane/config/config_loader.h"

namespace {

constexpr const char* kUsage = R"(usage: sluiced [options]

Runs the Sluice egress firewall. Without --config it runs its embedded default: two pcap-backed
ports (the inside port reads configs/demo/demo.pcap), the demo policy, no NIC and no hugepages;
it exits when the input is consumed and prints a summary.

options (each overrides its config field and is checked like it: a bad value is refused with
"command line: --flag: message" and exit code 2):
  --config FILE             appliance config (text protobuf, proto/config.proto)
  --policy FILE             policy set (*.textproto, or binary *.pb / *.binpb)
  --inside DEVICE           EAL device of the inside port, e.g. net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap
  --outside DEVICE          EAL device of the outside port
  --log-dir DIR             where denials.jsonl is written
  --flow-log FILE           also write one JSON line per judged flow (every verdict)
  --metrics-address ADDR    HOST:PORT of /metrics and /healthz; "" turns them off
  --exit-on-idle-ms N       exit after N ms without a received packet; 0 runs until SIGTERM
  --appliance-name NAME     the `appliance` field of records
  --admin-socket PATH       the socket of sluicectl reload/stats; "" turns it off
  --health-address ADDR     HOST:PORT of /healthz and /readyz; "" turns them off
  --denial-aggregation-ms N repeats of a source, destination and reason within N ms become one
                            record with a count (default 10000); 0: one record every denied flow
  --learned-state FILE      keep learned DNS addresses in FILE across restarts (read at start,
                            rewritten in the background); "" (default) keeps none
  --check-config FILE       load and validate the appliance config FILE, the policy it names and
                            the public suffix list (the other options apply to it as above), start
                            nothing, print what was checked; exit 0, or 2 with every error as
                            FILE:LINE: field: message
  --version                 the version and the git commit it was built from
  --help                    this text

exit codes: 0 clean run (or config valid), 1 platform failure (EAL, ports, memory), 2 refused config,
policy or arguments
)";

int usage_error(const std::string& message) {
  std::cerr << "sluiced: " << message << "\n(see sluiced --help)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice;
  std::string config_path;
  std::string check_path;  // --check-config: validate this config and start nothing
  ConfigOverrides overrides;  // validated with the config, by the same checks

  for (ArgCursor args(argc, argv, 1); !args.done(); args.next()) {
    if (args.current() == "--help" || args.current() == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (args.current() == "--version") {
      std::cout << version_line("sluiced") << "\n";
      return 0;
    }
    bool missing = false, matched = false;
    std::string value;
    if (args.take("--config", value, missing)) {
      if (missing) return usage_error("--config needs a value");
      config_path = value;
      continue;
    }
    if (args.take("--check-config", value, missing)) {
      if (missing || value.empty()) return usage_error("--check-config needs a value");
      check_path = value;
      continue;
    }
    for (const OverrideFlag& flag : config_override_flags()) {
      if (args.take(flag.flag, value, missing)) {
        if (missing) return usage_error(std::string(flag.flag) + " needs a value");
        overrides.push_back({std::string(flag.flag), value});
        matched = true;
        break;
      }
    }
    if (!matched) return usage_error("unknown argument \"" + std::string(args.current()) + "\"");
  }

  if (!check_path.empty()) {
    if (!config_path.empty()) return usage_error("--check-config takes the config itself; leave out --config");
    return check_config(check_path, overrides, std::cout, std::cerr);
  }
  LoadedConfig loaded = config_path.empty()
                            ? load_config_text(embedded_default_config_text(), "<embedded default>", overrides)
                            : load_config_file(config_path, overrides);
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) std::cerr << error.to_string() << "\n";
    std::cerr << "sluiced: config refused\n";
    return 2;
  }
  return run_appliance(loaded.config, std::cout, std::cerr);
}

// sluiced: the Sluice appliance daemon. See `sluiced --help` and README.md.
#include <iostream>

#include "controlplane/daemon/appliance.h"
#include "controlplane/config/cli_args.h"
#include "controlplane/config/config_loader.h"

namespace {

constexpr const char* kUsage = R"(usage: sluiced [options]

Runs the Sluice egress firewall. Without --config it runs its embedded default: two pcap-backed
ports (the inside port reads configs/demo/demo.pcap), the demo policy, no NIC and no hugepages;
it exits when the input is consumed and prints a summary.

options (each overrides the config):
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
  --help                    this text

exit codes: 0 clean run, 1 platform failure (EAL, ports, memory), 2 refused config, policy or arguments
)";

int usage_error(const std::string& message) {
  std::cerr << "sluiced: " << message << "\n(see sluiced --help)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice;
  std::string config_path;
  struct Override {
    const char* flag;
    std::string value;
    bool given = false;
  };
  Override policy{"--policy", "", false}, inside{"--inside", "", false}, outside{"--outside", "", false},
      log_dir{"--log-dir", "", false}, flow_log{"--flow-log", "", false}, metrics{"--metrics-address", "", false},
      idle{"--exit-on-idle-ms", "", false}, name{"--appliance-name", "", false},
      admin{"--admin-socket", "", false}, health{"--health-address", "", false},
      aggregation{"--denial-aggregation-ms", "", false};
  Override* overrides[] = {&policy, &inside, &outside, &log_dir, &flow_log, &metrics, &idle, &name, &admin, &health,
                           &aggregation};

  for (ArgCursor args(argc, argv, 1); !args.done(); args.next()) {
    if (args.current() == "--help" || args.current() == "-h") {
      std::cout << kUsage;
      return 0;
    }
    bool missing = false, matched = false;
    std::string value;
    if (args.take("--config", value, missing)) {
      if (missing) return usage_error("--config needs a value");
      config_path = value;
      continue;
    }
    for (auto* override : overrides) {
      if (args.take(override->flag, value, missing)) {
        if (missing) return usage_error(std::string(override->flag) + " needs a value");
        override->value = value;
        override->given = true;
        matched = true;
        break;
      }
    }
    if (!matched) return usage_error("unknown argument \"" + std::string(args.current()) + "\"");
  }

  LoadedConfig loaded = config_path.empty() ? load_config_text(embedded_default_config_text(), "<embedded default>")
                                            : load_config_file(config_path);
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) std::cerr << error.to_string() << "\n";
    std::cerr << "sluiced: config refused\n";
    return 2;
  }
  auto& config = loaded.config;
  if (policy.given) config.set_policy_path(policy.value);
  if (log_dir.given) config.set_log_dir(log_dir.value);
  if (flow_log.given) config.set_flow_log_path(flow_log.value);
  if (metrics.given) config.set_metrics_address(metrics.value);
  if (name.given) config.set_appliance_name(name.value);
  if (admin.given) config.set_admin_socket(admin.value);
  if (aggregation.given) {
    auto value = parse_uint32(aggregation.value);
    if (!value)
      return usage_error("--denial-aggregation-ms needs a whole number of milliseconds, got \"" + aggregation.value + "\"");
    config.mutable_denial_log()->set_aggregation_window_ms(*value);
  }
  if (health.given) config.set_health_address(health.value);
  if (idle.given) {
    auto value = parse_uint32(idle.value);
    if (!value) return usage_error("--exit-on-idle-ms needs a whole number of milliseconds, got \"" + idle.value + "\"");
    config.set_exit_on_idle_ms(*value);
  }
  for (auto& port : *config.mutable_ports()) {
    if (port.role() == config::INSIDE && inside.given) port.set_device(inside.value);
    if (port.role() == config::OUTSIDE && outside.given) port.set_device(outside.value);
  }
  return run_appliance(config, std::cout, std::cerr);
}

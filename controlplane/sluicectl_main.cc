// sluicectl: validate policies and replay captures through the dataplane. See `sluicectl --help`.
#include <iostream>

#include "controlplane/admin_socket.h"
#include "controlplane/cli_args.h"
#include "controlplane/policy_loader.h"
#include "controlplane/public_suffix_list.h"
#include "controlplane/replay.h"

namespace {

constexpr const char* kUsage = R"(usage: sluicectl COMMAND [options]

commands:
  validate POLICY        check a policy set; prints each error as FILE:LINE: FIELD: message
  replay --policy P --pcap IN [--flows OUT.jsonl] [--denials OUT.jsonl] [--flow-capacity N]
                         run the dataplane over a capture offline and print what the policy does:
                         one JSON line per flow (--flows), denial records (--denials), a summary
  reload [--socket PATH] ask the running sluiced to load its policy file again; prints the new
                         generation, or every error (the running policy then stays)
  stats [--socket PATH] [--json]
                         the running sluiced's figures: packets, flows by verdict and policy,
                         drops by reason, top denied destinations
  help                   this text

The admin socket defaults to /run/sluice/sluiced.sock (the config's admin_socket).

exit codes: validate: 0 valid, 1 invalid (errors on stderr), 2 bad arguments
            reload:   0 applied, 1 refused (errors on stderr), 2 daemon unreachable or bad arguments
            stats:    0, or 2 daemon unreachable or bad arguments
            replay:   0 replayed, 1 platform failure (EAL, memory), 2 refused policy, unreadable
                      capture or bad arguments; a capture damaged part-way is replayed
                      up to the damage, reported, and exits 2
)";

int usage_error(const std::string& message) {
  std::cerr << "sluicectl: " << message << "\n(see sluicectl help)\n";
  return 2;
}

int validate(int argc, char** argv) {
  if (argc != 3) return usage_error("validate takes exactly one policy file");
  sluice::PublicSuffixList suffixes;
  suffixes.load();
  auto loaded = sluice::load_policy_file(argv[2], suffixes);
  if (!loaded.ok()) {
    for (const auto& error : loaded.errors) std::cerr << error.to_string() << "\n";
    std::cerr << "sluicectl: " << argv[2] << ": " << loaded.errors.size() << " error(s); policy refused\n";
    return 1;
  }
  const auto& set = loaded.policy_set;
  std::cout << argv[2] << ": valid (" << set.policies_size() << " policies, " << set.attachments_size()
            << " attachments, default " << set.default_policy() << ")\n";
  return 0;
}

int replay(int argc, char** argv) {
  sluice::ReplayOptions options;
  for (sluice::ArgCursor args(argc, argv, 2); !args.done(); args.next()) {
    std::string value;
    bool missing = false;
    if (args.take("--policy", value, missing)) options.policy_path = value;
    else if (args.take("--pcap", value, missing)) options.pcap_path = value;
    else if (args.take("--flows", value, missing)) options.flows_path = value;
    else if (args.take("--denials", value, missing)) options.denials_path = value;
    else if (args.take("--flow-capacity", value, missing)) {
      auto capacity = sluice::parse_uint32(value);
      if (!missing && (!capacity || *capacity == 0)) return usage_error("--flow-capacity needs a positive number");
      if (capacity) options.flow_capacity = *capacity;
    } else {
      return usage_error("replay: unknown argument \"" + std::string(args.current()) + "\"");
    }
    if (missing) return usage_error("replay: " + std::string(args.current()) + " needs a value");
  }
  if (options.policy_path.empty() || options.pcap_path.empty()) return usage_error("replay needs --policy and --pcap");
  return sluice::run_replay(options, std::cout, std::cerr);
}

constexpr const char* kDefaultAdminSocket = "/run/sluice/sluiced.sock";

// reload and stats: one request to the daemon's admin socket.
int ask_daemon(int argc, char** argv, const std::string& command) {
  std::string socket_path = kDefaultAdminSocket;
  bool json = false;
  for (sluice::ArgCursor args(argc, argv, 2); !args.done(); args.next()) {
    std::string value;
    bool missing = false;
    if (args.take("--socket", value, missing)) {
      if (missing) return usage_error("--socket needs a value");
      socket_path = value;
    } else if (command == "stats" && args.current() == "--json") {
      json = true;
    } else {
      return usage_error(command + ": unknown argument \"" + std::string(args.current()) + "\"");
    }
  }
  std::string answer, error;
  if (!sluice::admin_request(socket_path, json ? command + " json" : command, answer, error)) {
    std::cerr << "sluicectl " << command << ": " << error << "\n";
    return 2;
  }
  auto newline = answer.find('\n');
  std::string status = answer.substr(0, newline);
  std::string body = newline == std::string::npos ? "" : answer.substr(newline + 1);
  if (status == "ok") {
    std::cout << (command == "reload" ? "reloaded: " : "") << body;
    return 0;
  }
  std::cerr << "sluicectl " << command << ": refused by sluiced:\n" << body;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage_error("a command is needed");
  std::string command = argv[1];
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "validate") return validate(argc, argv);
  if (command == "replay") return replay(argc, argv);
  if (command == "reload" || command == "stats") return ask_daemon(argc, argv, command);
  return usage_error("unknown command \"" + command + "\"");
}

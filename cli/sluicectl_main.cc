// sluicectl: check, compile and explain policies, replay captures through the dataplane, and
// talk to a running sluiced. See `sluicectl help` and `sluicectl COMMAND --help`.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/admin_client.h"
#include "controlplane/build_info.h"
#include "controlplane/config/cli_args.h"
#include "cli/compile_report.h"
#include "cli/denial_query.h"
#include "cli/explain.h"
#include "cli/explain_question.h"
#include "controlplane/records/json.h"
#include "controlplane/policy/policy_loader.h"
#include "controlplane/policy/public_suffix_list.h"
#include "cli/policy_diff.h"
#include "cli/record_time.h"
#include "cli/replay.h"
#include "cli/service_tag_files.h"
#include "cli/suggest.h"

namespace {

constexpr const char* kUsage = R"(usage: sluicectl COMMAND [options]

commands:
  validate POLICY [--json] [--service-tags FILES] [--config CONFIG]
                         check a policy set; prints each error as FILE:LINE: FIELD: message
  compile POLICY [--json] [--service-tags FILES] [--config CONFIG]
                         compile a policy set as sluiced would: per policy its domain patterns,
                         Hyperscan database bytes, networks and resolvers; totals; compile time
  explain POLICY SRC_IP DEST [--port N] [--protocol tcp|udp|icmp] [--json] [--service-tags FILES]
          [--config CONFIG]
                         which attachment, policy and rule decide a flow from SRC_IP to DEST (a
                         host name or an IP address), and the dataplane's verdict
  replay --policy P --pcap IN [--flows OUT.jsonl] [--denials OUT.jsonl] [--forwarded OUT.pcap]
         [--replies OUT.pcap] [--config CONFIG] [--flow-capacity N] [--outside-mac MAC] [--json]
         [--service-tags FILES]
                         run the dataplane over a capture offline and print what the policy does:
                         one JSON line per flow (--flows), denial records (--denials), a summary
  reload [--socket PATH] ask the running sluiced to load its policy file again; prints the new
                         generation, or every error (the running policy then stays)
  stats [--socket PATH] [--json]
                         the running sluiced's figures: packets, flows by verdict and policy,
                         drops by reason, top denied destinations
  drain [--socket PATH]  make the running sluiced answer 503 on /readyz (traffic still flows), so
                         load balancers take it out before a restart; undrain [--socket PATH] ends it
  denials [--log-dir DIR | FILES...] [--since T] [--until T] [--policy P] [--source CIDR]
          [--top N] [--json | --csv]
                         the denial records (current and rotated, JSON lines or protobuf), filtered;
                         --top N: the most denied destinations with counts, first and last seen
  suggest --from DENIALS... [--policy P] [--since T] [--until T]
                         the allow-list additions that would have let denied traffic pass, as a
                         textproto patch to review (names grouped by registrable domain)
  diff OLD NEW [--flows FLOWLOG] [--pcap FILE [--outside-mac MAC]] [--json]
                         per policy, names, networks and resolvers added and removed, attachments;
                         with --flows or --pcap, the logged or captured flows whose verdict
                         would change
  help [COMMAND]         this text, or one command's
  --version              the version and the git commit it was built from

Policies with allowed_service_tags need the tag files: --service-tags FILE[,FILE...] (Azure
ServiceTags_Public_*.json, AWS ip-ranges.json) and/or --config CONFIG (its service_tag_files).
`sluicectl COMMAND --help` prints one command's usage. Errors go to stderr; --json prints one
JSON object on stdout (fields: docs/SLUICECTL.md).
The admin socket defaults to /run/sluice/sluiced.sock (the config's admin_socket).

exit codes: validate: 0 valid, 1 invalid (errors on stderr), 2 bad arguments
            compile:  0 compiled, 1 invalid policy (errors on stderr) or compile/platform failure,
                      2 bad arguments
            explain:  0 answered, 1 invalid policy (errors on stderr) or platform failure,
                      2 bad arguments (malformed SRC_IP, DEST, --port or --protocol; a host name
                      on a port that is neither a TLS nor an HTTP port)
            reload:   0 applied, 1 refused (errors on stderr), 2 daemon unreachable or bad arguments
            stats:    0, or 2 daemon unreachable or bad arguments
            drain, undrain: 0 done, 2 daemon unreachable or bad arguments
            replay:   0 replayed, 1 platform failure (EAL, memory), 2 refused policy, unreadable
                      capture or bad arguments; a capture damaged part-way is replayed
                      up to the damage, reported, and exits 2
            denials:  0 read (a torn last record is skipped and counted), 1 records damaged
                      before the end (skipped, counted; the rest is printed), 2 bad arguments,
                      an unreadable file or directory
            suggest:  as denials
            diff:     0 compared, 1 invalid policy (errors on stderr) or platform failure,
                      2 bad arguments, an unreadable flow log or capture
)";

const std::map<std::string, std::string> kCommandUsage = {
    {"validate", R"usage(usage: sluicectl validate POLICY [--json] [--service-tags FILES] [--config CONFIG]

Checks a policy set (text or binary protobuf) whole, as sluiced does before it applies one.
Prints "POLICY: valid (N policies, N attachments, default P)", or every error on stderr as
FILE:LINE: FIELD: message.

  --service-tags FILES  service tag files (comma-separated) the policies' allowed_service_tags
                        are checked against: Azure ServiceTags_Public_*.json, AWS ip-ranges.json
  --config CONFIG       also the service_tag_files of this appliance config (itself validated)

  --json   one JSON object on stdout: policy_file, valid, set_name, policies, attachments,
           default_policy, errors [{file, line, field, message}] (errors still go to stderr too)

exit codes: 0 valid, 1 invalid (errors on stderr), 2 bad arguments
)usage"},
    {"compile", R"usage(usage: sluicectl compile POLICY [--json] [--service-tags FILES] [--config CONFIG]

Validates and compiles a policy set exactly as sluiced would (Hyperscan databases, LPM tables;
runs DPDK's EAL without hugepages) and prints, per policy: access mode, enforcement, domain
patterns, Hyperscan database bytes, allowed networks and DNS resolvers; the totals, the
attachments, the TLS and HTTP ports, and how long the compile took. Service tags are compiled
as the networks they expand to (--service-tags and --config as for validate).

  --json   one JSON object on stdout

exit codes: 0 compiled, 1 invalid policy (errors on stderr, as validate) or compile/platform
            failure, 2 bad arguments
)usage"},
    {"explain", R"usage(usage: sluicectl explain POLICY SRC_IP DEST [--port N] [--protocol tcp|udp|icmp] [--json]
                         [--service-tags FILES] [--config CONFIG]

What the dataplane does with a new flow from SRC_IP to DEST, and why: the attachment covering
SRC_IP (its CIDR and label, or the default), its policy and access mode, the effective
enforcement, the verdict (ALLOW, DROP or DRY_RUN_DENIAL, with the reason of docs/REASONS.md)
and the rule behind it: the domain pattern that matched, the allowed network, the DNS resolver.

The question goes through the dataplane's own packet path: a TCP SYN (then, for a host name, a
TLS ClientHello or an HTTP request), a UDP datagram or an ICMP echo, so the answer is the
dataplane's. An IP address on a TLS or HTTP port that no allowed network lets through is
PENDING: the dataplane waits for the client's first payload and judges the name in it.

  DEST             a host name (judged as the TLS SNI on a TLS port, the HTTP Host on an HTTP
                   port; sent to an address outside the policy's allowed networks) or an IPv4
                   or IPv6 address of SRC_IP's family
  --port N         TCP or UDP destination port, 1-65535 (default 443)
  --protocol P     tcp (default), udp or icmp; a host name is TCP only; icmp takes no port
  --json           one JSON object on stdout
  --service-tags FILES, --config CONFIG
                   the service tag files, as for validate; a tag's prefixes are allowed
                   networks described "service tag TAG"

exit codes: 0 answered, 1 invalid policy (errors on stderr, as validate) or platform failure,
            2 bad arguments: malformed SRC_IP, DEST, --port or --protocol, or a host name on a
            port that is neither a TLS nor an HTTP port of the policy set
)usage"},
    {"replay", R"usage(usage: sluicectl replay --policy P --pcap IN [--flows OUT.jsonl] [--denials OUT.jsonl]
                      [--forwarded OUT.pcap] [--replies OUT.pcap] [--config CONFIG]
                      [--flow-capacity N] [--outside-mac MAC] [--learned-state FILE] [--json]
                      [--service-tags FILES]

Runs the dataplane over an Ethernet capture offline and prints what the policy does: a summary,
one JSON line per flow (--flows), the denial records (--denials). Without --outside-mac every
packet enters as if received on the inside port; a known flow's responder's packets are its
return traffic. The capture's timestamps are the clock: flow timeouts and DNS TTLs replay as
they happened.

  --forwarded OUT.pcap  the frames the appliance would pass on (and resets it sends on)
  --replies OUT.pcap    the frames it would send back to their sender (resets, ICMP errors)
  --config CONFIG       take flow timeouts, inspection bounds, DNS learning and the service tag
                        files from an appliance config (ports and other paths in it are ignored)
  --service-tags FILES  more service tag files (comma-separated), as for validate
  --flow-capacity N     flow table size (default 65536)
  --outside-mac MAC     frames whose source MAC is MAC (02:00:5e:00:00:02) enter on the outside
                        port, the others on the inside port, as sluiced sees them: a flow starts
                        only inside, and an outside frame of no flow is dropped
                        (unsolicited_inbound)
  --learned-state FILE  addresses learned from DNS before the capture began, as sluiced's
                        --learned-state file holds them; their remaining TTL counts from the
                        capture's first packet
  --json              the summary as one JSON object (fields: docs/SLUICECTL.md)

exit codes: 0 replayed, 1 platform failure (EAL, memory), 2 refused policy, unreadable capture or
            bad arguments; a capture damaged part-way is replayed up to the damage, reported,
            and exits 2
)usage"},
    {"reload", R"usage(usage: sluicectl reload [--socket PATH]

Asks the running sluiced to load its policy file again. Prints the new generation, or every
error on stderr (the running policy then stays).

  --socket PATH   the admin socket (default /run/sluice/sluiced.sock, the config's admin_socket)

exit codes: 0 applied, 1 refused (errors on stderr), 2 daemon unreachable or bad arguments
)usage"},
    {"stats", R"usage(usage: sluicectl stats [--socket PATH] [--json]

The running sluiced's figures: packets, flows by verdict and policy, drops by reason, top denied
destinations.

  --socket PATH   the admin socket (default /run/sluice/sluiced.sock, the config's admin_socket)
  --json          one JSON object on stdout

exit codes: 0, or 2 daemon unreachable or bad arguments
)usage"},
    {"drain", R"usage(usage: sluicectl drain [--socket PATH]

Asks the running sluiced to report not ready: /readyz answers 503 ("draining") and
sluice_draining is 1, while traffic keeps flowing. Load balancers that probe /readyz stop
sending new connections; wait their probe interval times their failure threshold, then restart
or upgrade. A restart ends the drain (a new sluiced starts undrained), and so does
sluicectl undrain.

  --socket PATH   the admin socket (default /run/sluice/sluiced.sock, the config's admin_socket)

exit codes: 0 draining, 2 daemon unreachable or bad arguments
)usage"},
    {"undrain", R"usage(usage: sluicectl undrain [--socket PATH]

Ends a drain: /readyz answers 200 again while the policy is loaded and the worker polls.

  --socket PATH   the admin socket (default /run/sluice/sluiced.sock, the config's admin_socket)

exit codes: 0 not draining, 2 daemon unreachable or bad arguments
)usage"},
    {"denials", R"usage(usage: sluicectl denials [--log-dir DIR | FILES...] [--since T] [--until T] [--policy P]
                        [--source CIDR] [--top N] [--json | --csv]

Reads denial records and prints them, oldest first: DIR's denials.jsonl and its rotations
(denials.jsonl.N; the protobuf denials.pb and denials.pb.N when there is no JSON lines file), or
the FILES given (a name ending in .pb or .pb.N is read as length-delimited protobuf). Aggregated
records count as their `count` denials. A torn last record (a crash mid-write) is skipped and
counted on stderr.

  --log-dir DIR   the log directory (default /var/log/sluice, the packaged config's log_dir)
  --since T       records at or after T: a duration back from now (90s, 15m, 2h, 3d, 1w) or an
                  RFC 3339 time (2026-11-22T20:15:00Z, 2026-11-22T21:15:00+01:00)
  --until T       records before T (same forms)
  --policy P      records of policy P
  --source CIDR   records whose src_ip is inside CIDR (198.18.1.0/24, 2001:db8::/32, an address)
  --top N         group by policy and destination: denials (sum of count), records, ports,
                  sources, first and last seen; the N most denied (0: all)
  --json          one JSON object on stdout (fields: docs/SLUICECTL.md)
  --csv           CSV with a header line (RFC 4180 quoting)

$SLUICECTL_NOW (an RFC 3339 time) replaces the clock for --since/--until durations.

exit codes: 0 read, 1 records damaged before the end (skipped and counted; the rest printed),
            2 bad arguments (a bad duration, time, CIDR or --top), an unreadable file or a
            directory without denial files
)usage"},
    {"suggest", R"usage(usage: sluicectl suggest --from DENIALS... [--policy P] [--since T] [--until T]

From DROP and DRY_RUN_DENIAL records, the allow-list additions that would have let the traffic
pass, as a textproto patch: per policy, the names denied (domain_not_allowed), grouped by
registrable domain (public suffix aware; with three or more names below one domain, the
wildcard over it is offered as a comment, never over a public suffix), the networks
(ip_not_allowed: the address, protocol and ports) and the DNS resolvers
(dns_resolver_not_allowed), each with its denials, first and last seen and sources. Denials no
allow-list entry would pass (a malformed ClientHello, say) are counted, not suggested.

  --from DENIALS  denial files or log directories (as denials reads them); more may follow
  --policy P      suggestions for policy P only
  --since T, --until T   as for denials

exit codes: as denials: 0, 1 damaged records skipped, 2 bad arguments or unreadable input
)usage"},
    {"diff", R"usage(usage: sluicectl diff OLD NEW [--flows FLOWLOG] [--pcap FILE [--outside-mac MAC]] [--json]

Compares two policy sets (each validated as sluicectl validate does): per policy, the
allowed_domains, allowed_networks and dns_resolvers added (+) and removed (-), its access mode
and enforcement, tls_exceptions; for the set, attachments, default policy and label, TLS and
HTTP ports. With --flows (the flow log of sluiced --flow-log or sluicectl replay --flows),
every logged flow is judged under both sets by explain's code (the dataplane's own packet path,
at the address the flow went to) and the flows whose verdict or reason changes are listed.
With --pcap, the capture is replayed under each set (as sluicectl replay does, one pass each)
and its flows whose verdict or reason changes are listed, each with its old and new verdict,
reason and policy (NO_FLOW: that pass had no such flow).

  --flows FLOWLOG  a flow log (docs/RECORDS.md)
  --pcap FILE      an Ethernet capture (pcap)
  --outside-mac MAC  frames from this source MAC entered on the outside port (as for replay)
  --json           one JSON object on stdout (fields: docs/SLUICECTL.md)

exit codes: 0 compared (changes or not), 1 invalid policy (errors on stderr, as validate) or
            platform failure, 2 bad arguments, an unreadable flow log or an unreadable or damaged
            capture
)usage"},
    {"help", R"usage(usage: sluicectl help [COMMAND]

Prints the overview of every command, or COMMAND's usage (as `sluicectl COMMAND --help`).

exit codes: 0, or 2 for an unknown COMMAND
)usage"},
};

// Bad arguments: the message on stderr, exit 2. `command` points at its own --help.
int usage_error(const std::string& message, const std::string& command = "") {
  std::cerr << "sluicectl: " << message << "\n(see sluicectl " << (command.empty() ? "help" : command + " --help")
            << ")\n";
  return 2;
}

// A command's arguments: positionals in order, flag values, --json.
struct ParsedArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // flag → value
  bool json = false;
  std::map<std::string, bool> switches;  // the command's other flags without a value (--csv)
};

// Splits argv[2..] with CLI11: "--flag VALUE" and "--flag=VALUE" (the last one counts), --json
// when the command takes it. CLI11 only reads: help is ours (kCommandUsage), and so are the
// messages, which docs/SLUICECTL.md and the golden tests hold. For an unknown flag or a flag
// without its value, prints why and returns false: the command then exits 2.
bool parse_args(int argc, char** argv, const std::string& command, const std::vector<std::string>& value_flags,
                bool takes_json, ParsedArgs& parsed, const std::vector<std::string>& switch_flags = {}) {
  CLI::App app;
  app.set_help_flag();
  app.allow_extras();  // positionals and unknown flags come back in order, for the messages below
  std::map<std::string, std::string> values;
  std::vector<std::pair<std::string, CLI::Option*>> options;
  for (const auto& flag : value_flags)
    options.emplace_back(flag, app.add_option(flag, values[flag])
                                   ->expected(0, 1)
                                   ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast));
  if (takes_json) app.add_flag("--json", parsed.json)->disable_flag_override();
  for (const auto& flag : switch_flags) app.add_flag(flag, parsed.switches[flag])->disable_flag_override();
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::ParseError& error) {
    usage_error(command + ": " + error.what(), command);
    return false;
  }
  for (const auto& [flag, option] : options) {
    if (!option->count()) continue;
    if (values[flag].empty()) {
      usage_error(command + ": " + flag + " needs a value", command);
      return false;
    }
    parsed.values[flag] = values[flag];
  }
  for (const auto& arg : app.remaining()) {
    if (arg.size() > 1 && arg[0] == '-' && arg[1] == '-') {
      usage_error(command + ": unknown argument \"" + arg + "\"", command);
      return false;
    }
    parsed.positional.push_back(arg);
  }
  return true;
}

// The service tag files of --config and --service-tags; a file that cannot be read or parsed
// refuses the policy like an error in it.
sluice::LoadedPolicy read_policy(const std::string& path, const ParsedArgs& args) {
  auto flag = [&](const char* name) {
    auto it = args.values.find(name);
    return it == args.values.end() ? std::string() : it->second;
  };
  sluice::ServiceTagCatalog service_tags;
  sluice::LoadedPolicy refused;
  if (!sluice::load_service_tag_files(flag("--config"), sluice::split_file_list(flag("--service-tags")), service_tags,
                                      refused.errors))
    return refused;
  sluice::PublicSuffixList suffixes;
  suffixes.load();
  return sluice::load_policy_file(path, suffixes, &service_tags);
}

// How every command reports a refused policy: each error, then the count.
void print_refusal(const std::string& path, const sluice::LoadedPolicy& loaded) {
  for (const auto& error : loaded.errors) std::cerr << error.to_string() << "\n";
  std::cerr << "sluicectl: " << path << ": " << loaded.errors.size() << " error(s); policy refused\n";
}

// compile and explain: the policy set, or nullopt after printing its errors as validate does.
std::optional<sluice::LoadedPolicy> load_valid_policy(const std::string& path, const ParsedArgs& args) {
  auto loaded = read_policy(path, args);
  if (loaded.ok()) return loaded;
  print_refusal(path, loaded);
  return std::nullopt;
}

std::string validation_json(const std::string& path, const sluice::LoadedPolicy& loaded) {
  sluice::Json errors = sluice::Json::array();
  for (const auto& error : loaded.errors)
    errors.push_back({{"file", error.file},
                      {"line", error.line < 0 ? 0 : error.line},
                      {"field", error.field},
                      {"message", error.message}});
  sluice::Json json;
  json["policy_file"] = path;
  json["valid"] = loaded.ok();
  if (loaded.ok()) {
    const auto& set = loaded.policy_set;
    json["set_name"] = set.name();
    json["policies"] = set.policies_size();
    json["attachments"] = set.attachments_size();
    json["default_policy"] = set.default_policy();
  }
  json["errors"] = std::move(errors);
  if (!loaded.warnings.empty()) {
    sluice::Json warnings = sluice::Json::array();
    for (const auto& warning : loaded.warnings)
      warnings.push_back({{"file", warning.file},
                          {"line", warning.line < 0 ? 0 : warning.line},
                          {"field", warning.field},
                          {"message", warning.message}});
    json["warnings"] = std::move(warnings);
  }
  return sluice::json_line(json);
}

int validate(int argc, char** argv) {
  ParsedArgs args;
  if (!parse_args(argc, argv, "validate", {"--service-tags", "--config"}, true, args)) return 2;
  if (args.positional.size() != 1) return usage_error("validate takes exactly one policy file", "validate");
  const std::string& path = args.positional[0];
  auto loaded = read_policy(path, args);
  if (args.json) std::cout << validation_json(path, loaded) << "\n";
  // Warnings never refuse a policy; they go to stderr beside the verdict.
  for (const auto& warning : loaded.warnings) std::cerr << sluice::warning_text(warning) << "\n";
  if (!loaded.ok()) {
    print_refusal(path, loaded);
    return 1;
  }
  const auto& set = loaded.policy_set;
  if (!args.json)
    std::cout << path << ": valid (" << set.policies_size() << " policies, " << set.attachments_size()
              << " attachments, default " << set.default_policy() << ")\n";
  return 0;
}

int compile(int argc, char** argv) {
  ParsedArgs args;
  if (!parse_args(argc, argv, "compile", {"--service-tags", "--config"}, true, args)) return 2;
  if (args.positional.size() != 1) return usage_error("compile takes exactly one policy file", "compile");
  auto loaded = load_valid_policy(args.positional[0], args);
  if (!loaded) return 1;
  return sluice::run_compile(args.positional[0], loaded->policy_set, args.json, std::cout, std::cerr);
}

int explain(int argc, char** argv) {
  ParsedArgs args;
  if (!parse_args(argc, argv, "explain", {"--port", "--protocol", "--service-tags", "--config"}, true, args)) return 2;
  if (args.positional.size() != 3) return usage_error("explain takes POLICY SRC_IP DEST", "explain");
  auto option = [&](const std::string& flag) -> std::optional<std::string_view> {
    auto it = args.values.find(flag);
    return it == args.values.end() ? std::nullopt : std::optional<std::string_view>(it->second);
  };
  // The question is checked before the policy is read: a malformed one is exit 2 whatever the file.
  sluice::ExplainQuestion question;
  std::string problem = sluice::parse_explain_question(args.positional[1], args.positional[2], option("--port"),
                                                       option("--protocol"), question);
  if (!problem.empty()) return usage_error("explain: " + problem, "explain");
  auto loaded = load_valid_policy(args.positional[0], args);
  if (!loaded) return 1;
  return sluice::run_explain(args.positional[0], loaded->policy_set, question, args.json, std::cout, std::cerr,
                             &loaded->rule_lines);
}

int replay(int argc, char** argv) {
  ParsedArgs args;
  if (!parse_args(argc, argv, "replay",
                  {"--policy", "--pcap", "--flows", "--denials", "--forwarded", "--replies", "--config",
                   "--flow-capacity", "--outside-mac", "--learned-state", "--service-tags"},
                  true, args))
    return 2;
  if (!args.positional.empty())
    return usage_error("replay: unknown argument \"" + args.positional[0] + "\"", "replay");
  sluice::ReplayOptions options;
  auto value = [&](const std::string& flag, std::string& into) {
    if (auto it = args.values.find(flag); it != args.values.end()) into = it->second;
  };
  value("--policy", options.policy_path);
  value("--pcap", options.pcap_path);
  value("--flows", options.flows_path);
  value("--denials", options.denials_path);
  value("--forwarded", options.forwarded_path);
  value("--replies", options.replies_path);
  value("--config", options.config_path);
  value("--learned-state", options.learned_state_path);
  if (auto it = args.values.find("--service-tags"); it != args.values.end())
    options.service_tag_files = sluice::split_file_list(it->second);
  if (auto it = args.values.find("--flow-capacity"); it != args.values.end()) {
    auto capacity = sluice::parse_uint32(it->second);
    if (!capacity || *capacity == 0) return usage_error("--flow-capacity needs a positive number", "replay");
    options.flow_capacity = *capacity;
  }
  if (auto it = args.values.find("--outside-mac"); it != args.values.end()) {
    if (!sluice::parse_mac_address(it->second, options.outside_mac))
      return usage_error("--outside-mac needs a MAC address like 02:00:5e:00:00:02, not \"" + it->second + "\"",
                         "replay");
    options.has_outside_mac = true;
  }
  options.json = args.json;
  if (options.policy_path.empty() || options.pcap_path.empty())
    return usage_error("replay needs --policy and --pcap", "replay");
  return sluice::run_replay(options, std::cout, std::cerr);
}

constexpr const char* kDefaultLogDir = "/var/log/sluice";

// denials and suggest: the records of the files and directories named (a directory: its
// denial files, as list_denial_files orders them), or nullopt after saying why (exit 2).
std::optional<sluice::DenialReadResult> read_denials(const std::vector<std::string>& inputs,
                                                     const std::string& command) {
  sluice::DenialReadResult read;
  for (const auto& input : inputs) {
    std::vector<std::string> files;
    std::string error;
    std::error_code code;
    if (std::filesystem::is_directory(input, code)) {
      if (!sluice::list_denial_files(input, files, error)) {
        std::cerr << "sluicectl " << command << ": " << error << "\n";
        return std::nullopt;
      }
    } else {
      files.push_back(input);
    }
    for (const auto& file : files)
      if (!sluice::read_denial_file(file, read, error)) {
        std::cerr << "sluicectl " << command << ": " << error << "\n";
        return std::nullopt;
      }
  }
  for (const auto& note : read.notes) std::cerr << "sluicectl " << command << ": " << note << "\n";
  return read;
}

// --since, --until, --policy, --source as a filter; false after a usage error.
bool record_filter(const ParsedArgs& args, const std::string& command, sluice::DenialFilter& filter) {
  const int64_t now = sluice::now_ms();
  for (const char* flag : {"--since", "--until"}) {
    auto it = args.values.find(flag);
    if (it == args.values.end()) continue;
    std::string error;
    auto bound = sluice::parse_time_bound(it->second, now, error);
    if (!bound) {
      usage_error(command + ": " + flag + ": " + error, command);
      return false;
    }
    (std::string_view(flag) == "--since" ? filter.since_ms : filter.until_ms) = *bound;
  }
  if (auto it = args.values.find("--policy"); it != args.values.end()) filter.policy = it->second;
  if (auto it = args.values.find("--source"); it != args.values.end()) {
    sluice::Cidr cidr;
    sluice::CidrError error = sluice::parse_cidr(it->second, cidr);
    if (error != sluice::CidrError::none) {
      usage_error(command + ": --source: \"" + it->second + "\" is not a CIDR: " + sluice::describe(error), command);
      return false;
    }
    filter.source = cidr;
  }
  return true;
}

int denials(int argc, char** argv) {
  ParsedArgs args;
  if (!parse_args(argc, argv, "denials", {"--log-dir", "--since", "--until", "--policy", "--source", "--top"}, true,
                  args, {"--csv"}))
    return 2;
  if (args.json && args.switches["--csv"]) return usage_error("denials: --json and --csv exclude each other", "denials");
  if (args.values.count("--log-dir") && !args.positional.empty())
    return usage_error("denials: give --log-dir or FILES, not both", "denials");
  sluice::DenialFilter filter;
  if (!record_filter(args, "denials", filter)) return 2;
  std::optional<size_t> top;
  if (auto it = args.values.find("--top"); it != args.values.end()) {
    auto value = sluice::parse_uint32(it->second);
    if (!value) return usage_error("denials: --top needs a number (0: every destination)", "denials");
    top = *value;
  }
  std::vector<std::string> inputs = args.positional;
  if (inputs.empty()) inputs.push_back(args.values.count("--log-dir") ? args.values["--log-dir"] : kDefaultLogDir);
  auto read = read_denials(inputs, "denials");
  if (!read) return 2;
  std::vector<sluice::DenialRow> rows;
  for (const auto& row : read->rows)
    if (sluice::denial_matches(row, filter)) rows.push_back(row);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const sluice::DenialRow& a, const sluice::DenialRow& b) { return a.time_ms < b.time_ms; });
  auto format = args.json ? sluice::OutputFormat::json
                : args.switches["--csv"] ? sluice::OutputFormat::csv
                                         : sluice::OutputFormat::table;
  sluice::print_denials(*read, rows, top, format, std::cout);
  return read->damaged_records ? 1 : 0;
}

int suggest(int argc, char** argv) {
  ParsedArgs args;
  if (!parse_args(argc, argv, "suggest", {"--from", "--policy", "--since", "--until"}, false, args)) return 2;
  if (!args.values.count("--from")) return usage_error("suggest needs --from DENIALS", "suggest");
  sluice::DenialFilter filter;
  if (!record_filter(args, "suggest", filter)) return 2;
  std::vector<std::string> inputs = {args.values["--from"]};
  inputs.insert(inputs.end(), args.positional.begin(), args.positional.end());
  auto read = read_denials(inputs, "suggest");
  if (!read) return 2;
  sluice::PublicSuffixList suffixes;
  if (!suffixes.load()) {
    std::cerr << "sluicectl suggest: " << suffixes.error() << "\n";
    return 2;
  }
  std::vector<sluice::DenialRow> rows;
  for (const auto& row : read->rows)
    if (sluice::denial_matches(row, filter)) rows.push_back(row);
  auto suggestions = sluice::suggest_additions(rows, filter.policy.value_or(""), suffixes);
  sluice::print_suggestions(suggestions, *read, std::cout);
  return read->damaged_records ? 1 : 0;
}

int diff(int argc, char** argv) {
  ParsedArgs args;
  if (!parse_args(argc, argv, "diff", {"--flows", "--pcap", "--outside-mac", "--service-tags", "--config"}, true, args))
    return 2;
  if (args.positional.size() != 2) return usage_error("diff takes OLD and NEW policy files", "diff");
  sluice::CaptureDiffOptions capture;
  if (auto it = args.values.find("--pcap"); it != args.values.end()) capture.pcap_path = it->second;
  if (auto it = args.values.find("--outside-mac"); it != args.values.end()) {
    if (capture.pcap_path.empty()) return usage_error("diff: --outside-mac goes with --pcap", "diff");
    if (!sluice::parse_mac_address(it->second, capture.outside_mac))
      return usage_error("--outside-mac needs a MAC address like 02:00:5e:00:00:02, not \"" + it->second + "\"",
                         "diff");
    capture.has_outside_mac = true;
  }
  auto old_set = load_valid_policy(args.positional[0], args);
  if (!old_set) return 1;
  auto new_set = load_valid_policy(args.positional[1], args);
  if (!new_set) return 1;
  std::string flows = args.values.count("--flows") ? args.values["--flows"] : "";
  return sluice::run_diff(args.positional[0], old_set->policy_set, args.positional[1], new_set->policy_set, flows,
                          capture, args.json, std::cout, std::cerr);
}

constexpr const char* kDefaultAdminSocket = "/run/sluice/sluiced.sock";

// reload, stats, drain and undrain: one request to the daemon's admin socket.
int ask_daemon(int argc, char** argv, const std::string& command) {
  ParsedArgs args;
  if (!parse_args(argc, argv, command, {"--socket"}, command == "stats", args)) return 2;
  if (!args.positional.empty())
    return usage_error(command + ": unknown argument \"" + args.positional[0] + "\"", command);
  std::string socket_path = kDefaultAdminSocket;
  if (auto it = args.values.find("--socket"); it != args.values.end()) socket_path = it->second;
  const bool json = args.json;
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

bool asks_for_help(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage_error("a command is needed");
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || (command == "help" && argc == 2)) {
    std::cout << kUsage;
    return 0;
  }
  if (command == "--version") {
    std::cout << sluice::version_line("sluicectl") << "\n";
    return 0;
  }
  if (command == "help") {
    std::string_view topic = argv[2];
    auto usage = kCommandUsage.find(topic == "--help" || topic == "-h" ? "help" : std::string(topic));
    if (usage == kCommandUsage.end()) return usage_error("help: unknown command \"" + std::string(argv[2]) + "\"");
    std::cout << usage->second;
    return 0;
  }
  if (auto usage = kCommandUsage.find(command); usage != kCommandUsage.end() && asks_for_help(argc, argv)) {
    std::cout << usage->second;
    return 0;
  }
  if (command == "validate") return validate(argc, argv);
  if (command == "compile") return compile(argc, argv);
  if (command == "explain") return explain(argc, argv);
  if (command == "replay") return replay(argc, argv);
  if (command == "denials") return denials(argc, argv);
  if (command == "suggest") return suggest(argc, argv);
  if (command == "diff") return diff(argc, argv);
  if (command == "reload" || command == "stats" || command == "drain" || command == "undrain")
    return ask_daemon(argc, argv, command);
  return usage_error("unknown command \"" + command + "\"");
}

#include "controlplane/config/config_loader.h"

#include <grp.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_config.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <map>
#include <optional>
#include <type_traits>

#include "controlplane/config/cli_args.h"
#include "controlplane/config/routing_config.h"
#include "controlplane/config/exception_config.h"
#include "controlplane/config/snat_config.h"
#include "controlplane/policy/cidr.h"
#include "controlplane/policy/file_text.h"
#include "controlplane/policy/policy_validator.h"
#include "dataplane/domain/hostname.h"

namespace sluice {

namespace {

using sluice::config::ApplianceConfig;

constexpr uint32_t kDefaultWorkerLcore = 1;
constexpr uint32_t kDefaultFlowCapacity = 1u << 20;
constexpr const char* kDefaultMetricsAddress = "127.0.0.1:9617";
constexpr uint32_t kDefaultMbufCount = 8191;
constexpr uint32_t kDefaultDenialRingSize = 4096;
constexpr const char* kDefaultAdminSocket = "/run/sluice/sluiced.sock";
constexpr const char* kDefaultHealthAddress = "127.0.0.1:9618";
constexpr const char* kDefaultHyperscanCacheDir = "/var/cache/sluice/hyperscan";
constexpr uint64_t kDefaultDenialLogMaxBytes = 64ull << 20;
constexpr uint32_t kDefaultDenialLogMaxAgeSeconds = 3600;
constexpr uint32_t kDefaultDenialLogKeepFiles = 10;
constexpr uint32_t kDefaultAggregationWindowMs = 10000;
constexpr size_t kMaxUnixSocketPath = sizeof(sockaddr_un::sun_path) - 1;

// Every numeric field and its range (docs/OPERATIONS.md has the same table, with the reasons).
// Memory bounds are per worker unless said.
constexpr NumericBound kNumericBounds[] = {
    {"worker_lcores", 1, RTE_MAX_LCORE - 1, false,
     "lcore 0 runs the control thread; workers need other lcores this DPDK build knows"},
    {"flow_capacity", 1, 1u << 24, false, "each flow costs ~170 bytes of DPDK memory, reserved at start"},
    {"exit_on_idle_ms", 0, 86'400'000, false, "a day"},
    {"mbuf_count", 4095, (1u << 22) - 1, false,
     "2 ports × 1024 receive descriptors are filled at start; each buffer is ~2.3 KiB of DPDK memory"},
    {"denial_ring_size", 64, 1u << 20, true, "an rte_ring; a burst of denials must fit"},
    {"denial_log.max_bytes", 4096, 1ull << 40, false},
    {"denial_log.max_age_seconds", 1, 2'592'000, false, "30 days"},
    {"denial_log.keep_files", 1, 1000, false, "every rotation renames each kept file"},
    {"denial_log.aggregation_window_ms", 0, 3'600'000, false, "an hour"},
    {"flow_timeouts.tcp_handshake_seconds", 1, 604'800, false, "7 days"},
    {"flow_timeouts.tcp_established_seconds", 1, 604'800, false, "7 days"},
    {"flow_timeouts.tcp_closing_seconds", 1, 604'800, false, "7 days"},
    {"flow_timeouts.tcp_closed_seconds", 1, 604'800, false, "7 days"},
    {"flow_timeouts.udp_seconds", 1, 604'800, false, "7 days"},
    {"flow_timeouts.other_seconds", 1, 604'800, false, "7 days"},
    {"inspection.tls_max_client_hello_bytes", 512, 65535, false, "no ClientHello is shorter; a TLS record is at most 64 KiB"},
    {"inspection.http_max_head_bytes", 512, 65535, false, "no request head worth judging is shorter"},
    {"inspection.reassembly_slots", 1, 65536, false, "each slot reserves max(tls_max_client_hello_bytes, http_max_head_bytes)"},
    {"inspection.fragment_slots", 1, 1u << 20, false, "rounded up to a power of two, 64 bytes each, allocated at start"},
    {"inspection.fragment_lifetime_seconds", 1, 600, false},
    {"inspection.deny_replies_per_second", 1, 10'000'000, false},
    {"dns_learning.min_ttl_seconds", 0, 604'800, false, "7 days"},
    {"dns_learning.max_ttl_seconds", 1, 604'800, false, "0 would expire every learned address at once"},
    {"dns_learning.grace_seconds", 0, 86'400, false, "a day"},
    {"dns_learning.max_entries", 1, 1u << 22, false},
    {"dns_learning.ring_size", 64, 1u << 20, true, "an rte_ring; a burst of answers must fit"},
    {"ports.mtu", 576, 9000, false, "IPv4's minimum to a jumbo frame's payload (a port with IPv6 needs 1280)"},
    {"routing.snat.port_min", 1024, 65535, false, "ports below 1024 are left to the kernel's services"},
    {"routing.snat.port_max", 1024, 65535, false},
    {"routing.snat.quarantine_seconds", 0, 3600, false, "an hour"},
    {"routing.exception_port.services.ports", 1, 65535, false},
    {"routing.health_probe.tcp_port", 0, 65535, false, "0 turns the probe answer off"},
    {"routing.neighbour_timers.reachable_seconds", 5, 86'400, false, "a day"},
    {"routing.neighbour_timers.retry_ms", 100, 60'000, false, "a minute"},
};

constexpr OverrideFlag kOverrideFlags[] = {
    {"--policy", "policy_path"},
    {"--inside", "ports[INSIDE].device"},
    {"--outside", "ports[OUTSIDE].device"},
    {"--log-dir", "log_dir"},
    {"--flow-log", "flow_log_path"},
    {"--metrics-address", "metrics_address"},
    {"--exit-on-idle-ms", "exit_on_idle_ms"},
    {"--appliance-name", "appliance_name"},
    {"--admin-socket", "admin_socket"},
    {"--health-address", "health_address"},
    {"--denial-aggregation-ms", "denial_log.aggregation_window_ms"},
    {"--learned-state", "dns_learning.state_file"},
};

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// The message that holds the last part of a dotted `path`, and that part's descriptor.
template <typename MessageT>
std::pair<MessageT*, const FieldDescriptor*> resolve(MessageT& root, std::string_view path) {
  MessageT* message = &root;
  while (true) {
    const size_t dot = path.find('.');
    const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(std::string(path.substr(0, dot)));
    if (!field || dot == std::string_view::npos) return {message, field};
    if constexpr (std::is_const_v<MessageT>) message = &message->GetReflection()->GetMessage(*message, field);
    else message = message->GetReflection()->MutableMessage(message, field);
    path.remove_prefix(dot + 1);
  }
}

uint64_t numeric_value(const Message& message, const FieldDescriptor* field, int index) {
  const auto* reflection = message.GetReflection();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_UINT32:
      return index < 0 ? reflection->GetUInt32(message, field) : reflection->GetRepeatedUInt32(message, field, index);
    case FieldDescriptor::CPPTYPE_UINT64:
      return index < 0 ? reflection->GetUInt64(message, field) : reflection->GetRepeatedUInt64(message, field, index);
    default:
      return 0;  // the table names unsigned fields only (a unit test checks)
  }
}

std::string indexed(const std::string& name, int index) { return name + "[" + std::to_string(index) + "]"; }

// Returns what is wrong with a HOST:PORT management address, or "".
std::string metrics_address_problem(const std::string& address) {
  std::string_view host;
  std::string_view port;
  if (address.starts_with("[")) {
    const size_t close = address.find(']');
    if (close == std::string::npos || address.compare(close + 1, 1, ":") != 0) {
      return "expected [IPV6]:PORT, as in [::1]:9617";
    }
    host = std::string_view(address).substr(1, close - 1);
    port = std::string_view(address).substr(close + 2);
    const std::optional<IpAddress> ip = parse_ip(host);
    if (!ip || ip->family != 6) return "\"" + std::string(host) + "\" between brackets is not an IPv6 address";
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) return "expected HOST:PORT, as in 127.0.0.1:9617";
    host = std::string_view(address).substr(0, colon);
    port = std::string_view(address).substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return "an IPv6 address needs brackets, as in [::1]:9617";
    char normalized[kMaxHostnameLength];
    size_t length = 0;
    if (host.empty()) return "missing host before the port";
    if (normalize_hostname(host, normalized, length) != HostnameStatus::ok) {
      return "\"" + std::string(host) + "\" is neither an IP address nor a host name";
    }
  }
  unsigned value = 0;
  const bool digits = !port.empty() && port.size() <= 5 &&
                      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) std::from_chars(port.data(), port.data() + port.size(), value);
  if (!digits || value < 1 || value > 65535) return "port \"" + std::string(port) + "\" is not in 1-65535";
  return "";
}

// What is wrong with the health address, or "": the metrics rules, and an IP address, since the
// health server binds without resolving names ("localhost:9618" passed the check and then
// failed at start).
std::string health_address_problem(const std::string& address) {
  if (std::string problem = metrics_address_problem(address); !problem.empty()) return problem;
  const std::string host = address.starts_with("[") ? "" : address.substr(0, address.rfind(':'));
  if (!host.empty() && !parse_ip(host))
    return "\"" + host + "\" is not an IP address (the health server does not resolve names), as in 127.0.0.1:9618";
  return "";
}

class ConfigValidator {
 public:
  // `overridden`: field path → the command-line flag its value came from.
  ConfigValidator(const std::string& file, const FieldLocator& locator, const std::map<std::string, std::string>& overridden)
      : file_(file), locator_(locator), overridden_(overridden) {}

  // The config as written (and overridden), before defaults: what must be there, and the text
  // values (addresses, paths).
  void check_written(const ApplianceConfig& config) {
    check_ports(config);
    check_worker_lcores(config);
    check_exception_config(config, [this](const std::string& field, std::string message) { add(field, std::move(message)); });
    if (config.has_metrics_address() && !config.metrics_address().empty()) {
      if (std::string problem = metrics_address_problem(config.metrics_address()); !problem.empty()) {
        add("metrics_address", problem);
      }
    }
    if (config.has_health_address() && !config.health_address().empty()) {
      if (std::string problem = health_address_problem(config.health_address()); !problem.empty()) {
        add("health_address", problem);
      }
    }
    if (config.has_admin_socket() && !config.admin_socket().empty()) {
      if (config.admin_socket().front() != '/')
        add("admin_socket", "must be an absolute path, got \"" + config.admin_socket() + "\"");
      else if (config.admin_socket().size() > kMaxUnixSocketPath)
        add("admin_socket", "is " + std::to_string(config.admin_socket().size()) + " bytes long; a Unix socket path has at most " +
                                std::to_string(kMaxUnixSocketPath));
    }
    // The files themselves are read (and refused whole, naming the file) with the policy, at
    // start and at every reload; here only what is wrong whatever they hold.
    std::map<std::string, int> first_tag_file;
    for (int i = 0; i < config.service_tag_files_size(); ++i) {
      const std::string& path = config.service_tag_files(i);
      if (path.empty()) {
        add(indexed("service_tag_files", i), "an empty path");
      } else if (auto [it, fresh] = first_tag_file.try_emplace(path, i); !fresh) {
        add(indexed("service_tag_files", i),
            "\"" + path + "\" is listed twice (first at line " +
                std::to_string(locator_.line_of(indexed("service_tag_files", it->second))) + ")");
      }
    }
    // Checked here, not at the first write: a typo would otherwise leave the collector unable
    // to read the log without a word at start.
    const std::string& group = config.denial_log().file_group();
    if (!group.empty() && !getgrnam(group.c_str()))
      add("denial_log.file_group", "no group \"" + group + "\" on this host (getent group " + group + ")");
  }

  // Every number as sluiced will use it (after defaults), against config_numeric_bounds().
  void check_bounds(const ApplianceConfig& config) {
    for (const NumericBound& bound : kNumericBounds) check_path(bound, config, bound.field, "");
    const auto& learning = config.dns_learning();
    if (learning.max_ttl_seconds() > 0 && learning.min_ttl_seconds() > learning.max_ttl_seconds())
      add("dns_learning.min_ttl_seconds", std::to_string(learning.min_ttl_seconds()) + " is above max_ttl_seconds " +
                                              std::to_string(learning.max_ttl_seconds()));
    const auto& inspection = config.inspection();
    const uint64_t slot_bytes = std::max(inspection.tls_max_client_hello_bytes(), inspection.http_max_head_bytes());
    const uint64_t reserved = uint64_t(inspection.reassembly_slots()) * slot_bytes;
    if (inspection.reassembly_slots() <= 65536 && reserved > kMaxReassemblyBytes)
      add("inspection.reassembly_slots",
          std::to_string(inspection.reassembly_slots()) + " slots of " + std::to_string(slot_bytes) + " bytes reserve " +
              std::to_string(reserved >> 20) + " MiB, above the maximum of " + std::to_string(kMaxReassemblyBytes >> 20) +
              " MiB; lower the slots or the message bounds");
    for (SnatConfigProblem& problem : check_snat_config(config)) add(problem.field, std::move(problem.message));
  }

  // Routed mode's fields (routing_config.h), on the values sluiced will use.
  void check_routing(const ApplianceConfig& config) {
    check_routing_config(config, [this](const std::string& field, std::string message) { add(field, std::move(message)); });
  }

  PolicyErrors finish() {
    sort_in_file_order(errors_);
    errors_.insert(errors_.end(), command_line_errors_.begin(), command_line_errors_.end());
    return std::move(errors_);
  }

 private:
  void add(const std::string& field, std::string message) {
    if (auto it = overridden_.find(field); it != overridden_.end()) {
      command_line_errors_.push_back({kCommandLine, 0, it->second, std::move(message)});
      return;
    }
    errors_.push_back({file_, locator_.line_of(field), field, std::move(message)});
  }

  // Checks every value `path` names under `message`, through repeated messages too: "ports.mtu"
  // is ports[0].mtu, ports[1].mtu, … `shown` is the path so far, as errors name it.
  void check_path(const NumericBound& bound, const Message& message, std::string_view path, const std::string& shown) {
    const size_t dot = path.find('.');
    const FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(std::string(path.substr(0, dot)));
    if (!field) return;
    const std::string name = shown.empty() ? field->name() : shown + "." + field->name();
    const auto* reflection = message.GetReflection();
    const int size = field->is_repeated() ? reflection->FieldSize(message, field) : -1;
    if (dot == std::string_view::npos) {
      if (size < 0) check_bound(bound, name, numeric_value(message, field, -1));
      for (int i = 0; i < size; ++i) check_bound(bound, indexed(name, i), numeric_value(message, field, i));
      return;
    }
    const std::string_view rest = path.substr(dot + 1);
    if (size < 0) check_path(bound, reflection->GetMessage(message, field), rest, name);
    for (int i = 0; i < size; ++i) check_path(bound, reflection->GetRepeatedMessage(message, field, i), rest, indexed(name, i));
  }

  void check_bound(const NumericBound& bound, const std::string& field, uint64_t value) {
    std::string problem;
    if (bound.power_of_two && (value & (value - 1)) != 0)
      problem = std::to_string(value) + " is not a power of two";
    else if (value < bound.min)
      problem = std::to_string(value) + " is below the minimum of " + std::to_string(bound.min);
    else if (value > bound.max)
      problem = std::to_string(value) + " is above the maximum of " + std::to_string(bound.max);
    if (problem.empty()) return;
    if (!bound.why.empty()) problem += " (" + std::string(bound.why) + ")";
    add(field, std::move(problem));
  }

  void check_ports(const ApplianceConfig& config) {
    std::map<int, int> first_with_role;
    for (int i = 0; i < config.ports_size(); ++i) {
      const config::Port& port = config.ports(i);
      const std::string path = indexed("ports", i);
      if (port.device().empty()) add(path + ".device", "missing device (a PCI address or a virtual device)");
      if (port.role() != config::INSIDE && port.role() != config::OUTSIDE) {
        add(path + ".role", port.role() == config::PORT_ROLE_UNSPECIFIED
                                ? "missing role (INSIDE or OUTSIDE)"
                                : "unknown role " + std::to_string(port.role()));
        continue;
      }
      const auto [it, inserted] = first_with_role.try_emplace(port.role(), i);
      if (!inserted) {
        add(path + ".role", "second " + config::PortRole_Name(port.role()) + " port, first at " +
                                describe_location(locator_, indexed("ports", it->second) + ".role"));
      }
    }
    for (const config::PortRole role : {config::INSIDE, config::OUTSIDE}) {
      if (!first_with_role.contains(role)) add("ports", "no " + config::PortRole_Name(role) + " port");
    }
  }

  void check_worker_lcores(const ApplianceConfig& config) {
    std::map<uint32_t, int> first_index;
    // learned_addresses.h keeps a sequence per worker, worker_lanes.h a ring per pair.
    constexpr int kMaxWorkerLcores = 16;
    if (config.worker_lcores_size() > kMaxWorkerLcores)
      add(indexed("worker_lcores", kMaxWorkerLcores), "at most " + std::to_string(kMaxWorkerLcores) + " workers (got " +
                                                          std::to_string(config.worker_lcores_size()) + ")");
    for (int i = 0; i < config.worker_lcores_size(); ++i) {
      const uint32_t lcore = config.worker_lcores(i);
      const std::string field = indexed("worker_lcores", i);
      if (lcore == 0) continue;  // out of bounds: check_bounds says so
      if (const auto [it, inserted] = first_index.try_emplace(lcore, i); !inserted) {
        add(field, "duplicate lcore " + std::to_string(lcore) + ", first at " +
                       describe_location(locator_, indexed("worker_lcores", it->second)));
      }
    }
  }

  const std::string& file_;
  const FieldLocator& locator_;
  const std::map<std::string, std::string>& overridden_;
  PolicyErrors errors_;
  PolicyErrors command_line_errors_;  // after the file's, in the order of the flags
};

// Puts the command-line values into `config`; records which field each set. A value that is
// not a number where one is needed is an error of its flag.
void apply_overrides(const ConfigOverrides& overrides, ApplianceConfig& config,
                     std::map<std::string, std::string>& overridden, PolicyErrors& errors) {
  for (const ConfigOverride& override : overrides) {
    const auto known = std::find_if(std::begin(kOverrideFlags), std::end(kOverrideFlags),
                                    [&](const OverrideFlag& flag) { return flag.flag == override.flag; });
    if (known == std::end(kOverrideFlags)) {
      errors.push_back({kCommandLine, 0, override.flag, "is not a config flag"});
      continue;
    }
    const std::string_view field = known->field;
    if (field.starts_with("ports[")) {
      const config::PortRole role = field.starts_with("ports[INSIDE]") ? config::INSIDE : config::OUTSIDE;
      for (int i = 0; i < config.ports_size(); ++i) {
        if (config.ports(i).role() != role) continue;
        config.mutable_ports(i)->set_device(override.value);
        overridden[indexed("ports", i) + ".device"] = override.flag;
      }
      continue;
    }
    auto [message, descriptor] = resolve(static_cast<Message&>(config), field);
    const auto* reflection = message->GetReflection();
    if (descriptor->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      reflection->SetString(message, descriptor, override.value);
    } else {
      const std::optional<uint32_t> number = parse_uint32(override.value);
      if (!number) {
        errors.push_back({kCommandLine, 0, override.flag,
                          "needs a whole number of milliseconds, got \"" + override.value + "\""});
        continue;
      }
      reflection->SetUInt32(message, descriptor, *number);
    }
    overridden[std::string(field)] = override.flag;
  }
}

}  // namespace

std::span<const NumericBound> config_numeric_bounds() { return kNumericBounds; }
std::span<const OverrideFlag> config_override_flags() { return kOverrideFlags; }

void apply_config_defaults(ApplianceConfig& config) {
  if (config.appliance_name().empty()) {
    char name[HOST_NAME_MAX + 1] = {};
    if (gethostname(name, sizeof name - 1) == 0) config.set_appliance_name(name);
  }
  if (config.worker_lcores_size() == 0) config.add_worker_lcores(kDefaultWorkerLcore);
  if (config.flow_capacity() == 0) config.set_flow_capacity(kDefaultFlowCapacity);
  // Only when absent: an explicit "" is how an operator turns the endpoint off.
  if (!config.has_metrics_address()) config.set_metrics_address(kDefaultMetricsAddress);
  if (config.mbuf_count() == 0) config.set_mbuf_count(kDefaultMbufCount);
  if (config.denial_ring_size() == 0) config.set_denial_ring_size(kDefaultDenialRingSize);
  if (!config.has_admin_socket()) config.set_admin_socket(kDefaultAdminSocket);
  if (!config.has_health_address()) config.set_health_address(kDefaultHealthAddress);
  if (!config.has_watch_policy_file()) config.set_watch_policy_file(true);
  if (!config.has_hyperscan_cache_dir()) config.set_hyperscan_cache_dir(kDefaultHyperscanCacheDir);
  auto* denial_log = config.mutable_denial_log();
  if (denial_log->max_bytes() == 0) denial_log->set_max_bytes(kDefaultDenialLogMaxBytes);
  if (denial_log->max_age_seconds() == 0) denial_log->set_max_age_seconds(kDefaultDenialLogMaxAgeSeconds);
  if (denial_log->keep_files() == 0) denial_log->set_keep_files(kDefaultDenialLogKeepFiles);
  if (!denial_log->has_aggregation_window_ms()) denial_log->set_aggregation_window_ms(kDefaultAggregationWindowMs);

  auto* timeouts = config.mutable_flow_timeouts();
  if (timeouts->tcp_handshake_seconds() == 0) timeouts->set_tcp_handshake_seconds(30);
  if (timeouts->tcp_established_seconds() == 0) timeouts->set_tcp_established_seconds(3600);
  if (timeouts->tcp_closing_seconds() == 0) timeouts->set_tcp_closing_seconds(60);
  if (timeouts->tcp_closed_seconds() == 0) timeouts->set_tcp_closed_seconds(10);
  if (timeouts->udp_seconds() == 0) timeouts->set_udp_seconds(60);
  if (timeouts->other_seconds() == 0) timeouts->set_other_seconds(60);
  auto* inspection = config.mutable_inspection();
  if (inspection->tls_max_client_hello_bytes() == 0) inspection->set_tls_max_client_hello_bytes(16384);
  if (inspection->http_max_head_bytes() == 0) inspection->set_http_max_head_bytes(8192);
  if (inspection->reassembly_slots() == 0) inspection->set_reassembly_slots(1024);
  if (inspection->fragment_slots() == 0) inspection->set_fragment_slots(4096);
  if (inspection->fragment_lifetime_seconds() == 0) inspection->set_fragment_lifetime_seconds(30);
  if (inspection->deny_replies_per_second() == 0) inspection->set_deny_replies_per_second(10000);
  auto* learning = config.mutable_dns_learning();
  if (!learning->has_enabled()) learning->set_enabled(true);
  if (!learning->has_min_ttl_seconds()) learning->set_min_ttl_seconds(30);
  if (!learning->has_max_ttl_seconds()) learning->set_max_ttl_seconds(3600);
  if (!learning->has_grace_seconds()) learning->set_grace_seconds(60);
  if (learning->max_entries() == 0) learning->set_max_entries(262144);
  if (learning->ring_size() == 0) learning->set_ring_size(4096);
  for (auto& port : *config.mutable_ports())
    if (port.mtu() == 0) port.set_mtu(1500);
  auto* routing = config.mutable_routing();
  auto* snat = routing->mutable_snat();
  if (snat->port_min() == 0) snat->set_port_min(1024);
  if (snat->port_max() == 0) snat->set_port_max(65535);
  if (!snat->has_quarantine_seconds()) snat->set_quarantine_seconds(120);
  auto* timers = routing->mutable_neighbour_timers();
  if (timers->reachable_seconds() == 0) timers->set_reachable_seconds(300);
  if (timers->retry_ms() == 0) timers->set_retry_ms(1000);
}

LoadedConfig load_config_text(const std::string& text, const std::string& display_name,
                              const ConfigOverrides& overrides) {
  LoadedConfig result;
  FieldLocator locator;
  if (!locator.parse_text(text, display_name, result.config, result.errors)) return result;
  std::map<std::string, std::string> overridden;
  PolicyErrors flag_errors;
  apply_overrides(overrides, result.config, overridden, flag_errors);
  ConfigValidator validator(display_name, locator, overridden);
  validator.check_written(result.config);
  apply_config_defaults(result.config);
  validator.check_bounds(result.config);
  validator.check_routing(result.config);
  result.errors = validator.finish();
  result.errors.insert(result.errors.end(), flag_errors.begin(), flag_errors.end());
  return result;
}

LoadedConfig load_config_file(const std::string& path, const ConfigOverrides& overrides) {
  std::string contents;
  LoadedConfig unread;
  if (!read_file(path, contents, unread.errors)) return unread;
  return load_config_text(contents, path, overrides);
}

}  // namespace sluice

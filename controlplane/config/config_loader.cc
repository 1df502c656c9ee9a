#include "controlplane/config/config_loader.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <map>

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
constexpr uint32_t kMinDenialRingSize = 64;
constexpr uint32_t kMinMessageBound = 512;  // no ClientHello or request head is shorter
constexpr uint32_t kMaxMessageBound = 65535;

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

class ConfigValidator {
 public:
  ConfigValidator(const std::string& file, const FieldLocator& locator) : file_(file), locator_(locator) {}

  PolicyErrors run(const ApplianceConfig& config) {
    check_ports(config);
    check_worker_lcores(config);
    check_denial_ring_size(config);
    check_inspection(config);
    check_dns_learning(config);
    if (config.has_metrics_address() && !config.metrics_address().empty()) {
      if (std::string problem = metrics_address_problem(config.metrics_address()); !problem.empty()) {
        add("metrics_address", problem);
      }
    }
    // The same HOST:PORT rules as the metrics address.
    if (config.has_health_address() && !config.health_address().empty()) {
      if (std::string problem = metrics_address_problem(config.health_address()); !problem.empty()) {
        add("health_address", problem);
      }
    }
    if (config.has_admin_socket() && !config.admin_socket().empty() && config.admin_socket().front() != '/')
      add("admin_socket", "must be an absolute path, got \"" + config.admin_socket() + "\"");
    sort_in_file_order(errors_);
    return std::move(errors_);
  }

 private:
  void add(const std::string& field, std::string message) {
    errors_.push_back({file_, locator_.line_of(field), field, std::move(message)});
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
    for (int i = 0; i < config.worker_lcores_size(); ++i) {
      const uint32_t lcore = config.worker_lcores(i);
      const std::string field = indexed("worker_lcores", i);
      if (lcore == 0) {
        add(field, "lcore 0 runs the control thread; workers need other lcores");
      } else if (const auto [it, inserted] = first_index.try_emplace(lcore, i); !inserted) {
        add(field, "duplicate lcore " + std::to_string(lcore) + ", first at " +
                       describe_location(locator_, indexed("worker_lcores", it->second)));
      }
    }
  }

  void check_denial_ring_size(const ApplianceConfig& config) {
    const uint32_t size = config.denial_ring_size();
    if (size == 0) return;  // unset: the default applies
    // rte_ring needs a power of two; below 64 a burst of denials would overflow it at once.
    if ((size & (size - 1)) != 0) {
      add("denial_ring_size", std::to_string(size) + " is not a power of two");
    } else if (size < kMinDenialRingSize) {
      add("denial_ring_size", std::to_string(size) + " is below the minimum of " + std::to_string(kMinDenialRingSize));
    }
  }

  void check_inspection(const ApplianceConfig& config) {
    const auto& inspection = config.inspection();
    auto check_bound = [&](const char* field, uint32_t value) {
      if (value != 0 && (value < kMinMessageBound || value > kMaxMessageBound))
        add(std::string("inspection.") + field, std::to_string(value) + " is outside " + std::to_string(kMinMessageBound) +
                                                   "–" + std::to_string(kMaxMessageBound));
    };
    check_bound("tls_max_client_hello_bytes", inspection.tls_max_client_hello_bytes());
    check_bound("http_max_head_bytes", inspection.http_max_head_bytes());
  }

  void check_dns_learning(const ApplianceConfig& config) {
    const auto& learning = config.dns_learning();
    if (learning.has_max_ttl_seconds() && learning.max_ttl_seconds() == 0)
      add("dns_learning.max_ttl_seconds", "0 would expire every learned address at once");
    if (learning.has_min_ttl_seconds() && learning.has_max_ttl_seconds() &&
        learning.min_ttl_seconds() > learning.max_ttl_seconds())
      add("dns_learning.min_ttl_seconds", std::to_string(learning.min_ttl_seconds()) + " is above max_ttl_seconds " +
                                              std::to_string(learning.max_ttl_seconds()));
    const uint32_t ring = learning.ring_size();
    if (ring != 0 && ((ring & (ring - 1)) != 0 || ring < kMinDenialRingSize))
      add("dns_learning.ring_size", std::to_string(ring) + " is not a power of two of at least " +
                                        std::to_string(kMinDenialRingSize));
  }

  const std::string& file_;
  const FieldLocator& locator_;
  PolicyErrors errors_;
};

}  // namespace

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
}

LoadedConfig load_config_text(const std::string& text, const std::string& display_name) {
  LoadedConfig result;
  FieldLocator locator;
  if (!locator.parse_text(text, display_name, result.config, result.errors)) return result;
  result.errors = ConfigValidator(display_name, locator).run(result.config);
  apply_config_defaults(result.config);
  return result;
}

LoadedConfig load_config_file(const std::string& path) {
  std::string contents;
  LoadedConfig unread;
  if (!read_file(path, contents, unread.errors)) return unread;
  return load_config_text(contents, path);
}

}  // namespace sluice

#include "controlplane/config/config_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "tests/unit/policy_error_expectations.h"

namespace sluice {
namespace {

const std::string kFile = "appliance.textproto";

// Two valid ports on lines 1 and 2, so every test's own lines start at 3.
const std::string kPorts = R"(ports { device: "net_pcap0,rx_pcap=in.pcap" role: INSIDE }
ports { device: "net_pcap1,tx_pcap=out.pcap" role: OUTSIDE }
)";

LoadedConfig load(const std::string& text) { return load_config_text(text, kFile); }

using test::all_errors;
using test::Expected;

// Exactly these errors, in this order, each in `file` (kFile unless said).
void expect_errors(const PolicyErrors& errors, const std::vector<Expected>& expected,
                   const std::string& file = kFile) {
  test::expect_errors(errors, expected, file);
}

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

TEST(ConfigLoader, ValidFileKeepsWhatItSays) {
  const LoadedConfig loaded = load_config_file(SLUICE_TEST_DATA "/valid_appliance.textproto");
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded.errors);
  const config::ApplianceConfig& config = loaded.config;
  EXPECT_EQ(config.appliance_name(), "sluice-test-1");
  ASSERT_EQ(config.worker_lcores_size(), 2);
  EXPECT_EQ(config.worker_lcores(0), 2u);
  EXPECT_EQ(config.flow_capacity(), 1024u);
  EXPECT_EQ(config.metrics_address(), "[::1]:9617");
  EXPECT_EQ(config.mbuf_count(), 4095u);
  EXPECT_EQ(config.denial_ring_size(), 1024u);
  EXPECT_EQ(config.eal_args_size(), 3);
}

TEST(ConfigLoader, DefaultsFillWhatIsLeftOut) {
  const LoadedConfig loaded = load(kPorts);
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded.errors);
  const config::ApplianceConfig& config = loaded.config;
  ASSERT_EQ(config.worker_lcores_size(), 1);
  EXPECT_EQ(config.worker_lcores(0), 1u);
  EXPECT_EQ(config.flow_capacity(), 1u << 20);
  EXPECT_EQ(config.metrics_address(), "127.0.0.1:9617");
  EXPECT_EQ(config.mbuf_count(), 8191u);
  EXPECT_EQ(config.denial_ring_size(), 4096u);
  EXPECT_EQ(config.appliance_name(), host_name());
  EXPECT_FALSE(config.appliance_name().empty());
}

TEST(ConfigLoader, EmptyMetricsAddressDisablesTheEndpoint) {
  const LoadedConfig loaded = load(kPorts + "metrics_address: \"\"\n");
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded.errors);
  EXPECT_TRUE(loaded.config.has_metrics_address());
  EXPECT_EQ(loaded.config.metrics_address(), "");
}

TEST(ConfigLoader, ApplyDefaultsLeavesSetFieldsAlone) {
  config::ApplianceConfig config;
  config.set_appliance_name("edge-7");
  config.add_worker_lcores(3);
  config.set_flow_capacity(7);
  config.set_metrics_address("");
  config.set_mbuf_count(9);
  config.set_denial_ring_size(128);
  apply_config_defaults(config);
  EXPECT_EQ(config.appliance_name(), "edge-7");
  ASSERT_EQ(config.worker_lcores_size(), 1);
  EXPECT_EQ(config.worker_lcores(0), 3u);
  EXPECT_EQ(config.flow_capacity(), 7u);
  EXPECT_EQ(config.metrics_address(), "");
  EXPECT_EQ(config.mbuf_count(), 9u);
  EXPECT_EQ(config.denial_ring_size(), 128u);
}

TEST(ConfigLoader, ExactlyOneInsideAndOneOutsidePort) {
  expect_errors(load(R"(ports { device: "a" role: INSIDE }
ports { device: "b" role: INSIDE }
ports {
  device: "c"
}
)").errors,
                {
                    // a missing role points at the list it is missing from
                    {1, "ports", "no OUTSIDE port"},
                    {2, "ports[1].role", "second INSIDE port, first at line 1"},
                    {3, "ports[2].role", "missing role (INSIDE or OUTSIDE)"},
                });
  expect_errors(load("appliance_name: \"x\"\n").errors,
                {{0, "ports", "no INSIDE port"}, {0, "ports", "no OUTSIDE port"}});
}

TEST(ConfigLoader, PortsNeedADevice) {
  expect_errors(load(R"(ports { device: "a" role: INSIDE }
ports {
  role: OUTSIDE
}
ports { device: "" role: OUTSIDE }
)").errors,
                {
                    {2, "ports[1].device", "missing device"},
                    {5, "ports[2].device", "missing device"},
                    {5, "ports[2].role", "second OUTSIDE port, first at line 3"},
                });
}

TEST(ConfigLoader, UnknownRoleFromNumber) {
  expect_errors(load(kPorts + "ports { device: \"c\" role: 7 }\n").errors,
                {{3, "ports[2].role", "unknown role 7"}});
}

TEST(ConfigLoader, WorkerLcores) {
  expect_errors(load(kPorts + R"(worker_lcores: 1
worker_lcores: 0
worker_lcores: 2
worker_lcores: 1
)").errors,
                {
                    {4, "worker_lcores[1]", "lcore 0 runs the control thread"},
                    {6, "worker_lcores[3]", "duplicate lcore 1, first at line 3"},
                });
}

// Several workers: at most 16 (a learned-answer sequence and a handoff ring each). Routed mode
// with several is a valid config (its SNAT range is checked per worker slice, test_snat_config)
// that sluiced refuses at start in this version.
TEST(ConfigLoader, WorkerCount) {
  std::string sixteen, seventeen;
  for (int lcore = 1; lcore <= 17; ++lcore) (lcore <= 16 ? sixteen : seventeen) += "worker_lcores: " + std::to_string(lcore) + "\n";
  EXPECT_TRUE(load(kPorts + sixteen).ok()) << all_errors(load(kPorts + sixteen).errors);
  expect_errors(load(kPorts + sixteen + seventeen).errors, {{19, "worker_lcores[16]", "at most 16 workers (got 17)"}});
  EXPECT_TRUE(load(kPorts + "worker_lcores: [1, 2]\nrouting { mode: BRIDGE }\n").ok());
}

TEST(ConfigLoader, DenialRingSize) {
  for (const char* good : {"64", "4096", "1048576"}) {
    EXPECT_TRUE(load(kPorts + "denial_ring_size: " + good + "\n").ok()) << good;
  }
  expect_errors(load(kPorts + "denial_ring_size: 4000\n").errors,
                {{3, "denial_ring_size", "4000 is not a power of two"}});
  expect_errors(load(kPorts + "\ndenial_ring_size: 32\n").errors,
                {{4, "denial_ring_size", "32 is below the minimum of 64"}});
  expect_errors(load(kPorts + "denial_ring_size: 2147483648\n").errors,
                {{3, "denial_ring_size", "2147483648 is above the maximum of 1048576"}});
}

TEST(ConfigLoader, MetricsAddress) {
  for (const char* good : {"127.0.0.1:9617", "0.0.0.0:1", "[::1]:9617", "[2001:db8::7]:65535", "localhost:9617",
                           "metrics.example.com:80"}) {
    const LoadedConfig loaded = load(kPorts + "metrics_address: \"" + good + "\"\n");
    EXPECT_TRUE(loaded.ok()) << good << all_errors(loaded.errors);
    EXPECT_EQ(loaded.config.metrics_address(), good);
  }
  const std::vector<std::pair<const char*, const char*>> bad = {
      {"127.0.0.1", "expected HOST:PORT"},
      {"::1:9617", "needs brackets"},
      {"[::1]9617", "expected [IPV6]:PORT"},
      {"[::1", "expected [IPV6]:PORT"},
      {"[198.18.0.1]:80", "not an IPv6 address"},
      {":9617", "missing host"},
      {"127.0.0.1:0", "port \"0\" is not in 1-65535"},
      {"127.0.0.1:65536", "not in 1-65535"},
      {"127.0.0.1:", "not in 1-65535"},
      {"127.0.0.1:http", "not in 1-65535"},
      {"127.0.0.1: 80", "not in 1-65535"},
      {"bad host:80", "neither an IP address nor a host name"},
      {"[::1]:", "not in 1-65535"},
  };
  for (const auto& [address, message] : bad) {
    SCOPED_TRACE(address);
    expect_errors(load(kPorts + "metrics_address: \"" + address + "\"\n").errors,
                  {{3, "metrics_address", message}});
  }
}

TEST(ConfigLoader, SyntaxErrorReportsLineAndColumn) {
  const LoadedConfig loaded = load(kPorts + "flow_capacity: -5\n");
  expect_errors(loaded.errors, {{3, "", "column"}});
  EXPECT_EQ(loaded.errors[0].to_string().rfind("appliance.textproto:3: syntax error at column ", 0), 0u)
      << loaded.errors[0].to_string();

  // protobuf reports an unknown name where it expected the ':' after it
  expect_errors(load(kPorts + "\nworkers: 3\n").errors, {{4, "", "column 8: "}});
}

TEST(ConfigLoader, ErrorsInFileOrder) {
  expect_errors(load(R"(denial_ring_size: 100
worker_lcores: 0
ports { device: "a" role: INSIDE }
ports { role: OUTSIDE }
metrics_address: "nowhere"
)").errors,
                {
                    {1, "denial_ring_size", "not a power of two"},
                    {2, "worker_lcores[0]", "lcore 0"},
                    {4, "ports[1].device", "missing device"},
                    {5, "metrics_address", "expected HOST:PORT"},
                });
}

// Measured faults: fragment_slots: 4000000000 looped forever at start (the power-of-two
// rounding overflowed), reassembly_slots: 4000000000 aborted with bad_alloc. Both are refused
// with file, line and field now, as is every other number out of its documented range.
TEST(ConfigLoader, SlotCountsThatHungOrCrashedTheStartAreRefused) {
  expect_errors(load(kPorts + "inspection {\n  fragment_slots: 4000000000\n}\n").errors,
                {{4, "inspection.fragment_slots", "4000000000 is above the maximum of 1048576"}});
  expect_errors(load(kPorts + "inspection { reassembly_slots: 4000000000 }\n").errors,
                {{3, "inspection.reassembly_slots", "4000000000 is above the maximum of 65536"}});
}

TEST(ConfigLoader, ReassemblyMemoryIsBounded) {
  // 65536 slots of the default 16 KiB: exactly the 1 GiB allowed.
  EXPECT_TRUE(load(kPorts + "inspection { reassembly_slots: 65536 }\n").ok());
  expect_errors(load(kPorts + "inspection { reassembly_slots: 65536 tls_max_client_hello_bytes: 65535 }\n").errors,
                {{3, "inspection.reassembly_slots", "above the maximum of 1024 MiB"}});
}

TEST(ConfigLoader, EveryNumberIsCheckedAgainstItsBound) {
  const std::vector<std::tuple<std::string, std::string, std::string>> bad = {
      {"worker_lcores: 4096", "worker_lcores[0]", "4096 is above the maximum of"},
      {"flow_capacity: 4000000000", "flow_capacity", "above the maximum of 16777216"},
      {"exit_on_idle_ms: 4000000000", "exit_on_idle_ms", "above the maximum of 86400000"},
      {"mbuf_count: 100", "mbuf_count", "100 is below the minimum of 4095"},
      {"mbuf_count: 4000000000", "mbuf_count", "above the maximum of 4194303"},
      {"denial_log { max_bytes: 100 }", "denial_log.max_bytes", "below the minimum of 4096"},
      {"denial_log { max_age_seconds: 4000000000 }", "denial_log.max_age_seconds", "above the maximum"},
      {"denial_log { keep_files: 100000 }", "denial_log.keep_files", "above the maximum of 1000"},
      {"denial_log { aggregation_window_ms: 4000000000 }", "denial_log.aggregation_window_ms", "above the maximum"},
      {"flow_timeouts { tcp_established_seconds: 4000000000 }", "flow_timeouts.tcp_established_seconds",
       "above the maximum of 604800"},
      {"flow_timeouts { udp_seconds: 604801 }", "flow_timeouts.udp_seconds", "above the maximum of 604800"},
      {"inspection { tls_max_client_hello_bytes: 100 }", "inspection.tls_max_client_hello_bytes",
       "below the minimum of 512"},
      {"inspection { http_max_head_bytes: 70000 }", "inspection.http_max_head_bytes", "above the maximum of 65535"},
      {"inspection { fragment_lifetime_seconds: 4000000000 }", "inspection.fragment_lifetime_seconds",
       "above the maximum of 600"},
      {"inspection { deny_replies_per_second: 4000000000 }", "inspection.deny_replies_per_second", "above the maximum"},
      {"dns_learning { max_ttl_seconds: 0 }", "dns_learning.max_ttl_seconds", "expire every learned address"},
      {"dns_learning { min_ttl_seconds: 700 max_ttl_seconds: 600 }", "dns_learning.min_ttl_seconds",
       "700 is above max_ttl_seconds 600"},
      {"dns_learning { grace_seconds: 4000000000 }", "dns_learning.grace_seconds", "above the maximum of 86400"},
      {"dns_learning { max_entries: 4000000000 }", "dns_learning.max_entries", "above the maximum of 4194304"},
      {"dns_learning { ring_size: 100 }", "dns_learning.ring_size", "100 is not a power of two"},
      {"dns_learning { ring_size: 32 }", "dns_learning.ring_size", "below the minimum of 64"},
  };
  for (const auto& [text, field, message] : bad) {
    SCOPED_TRACE(text);
    expect_errors(load(kPorts + text + "\n").errors, {{3, field, message}});
  }
  for (const char* good : {"mbuf_count: 4095", "exit_on_idle_ms: 0", "denial_log { aggregation_window_ms: 0 }",
                           "dns_learning { min_ttl_seconds: 0 grace_seconds: 0 }", "inspection { fragment_slots: 3 }",
                           "flow_capacity: 1", "worker_lcores: 2"}) {
    const LoadedConfig loaded = load(kPorts + good + "\n");
    EXPECT_TRUE(loaded.ok()) << good << all_errors(loaded.errors);
  }
}

// Every number in proto/config.proto has a bound in the table the validator walks (and
// docs/OPERATIONS.md lists), so a new field cannot arrive unchecked.
void collect_numeric_fields(const google::protobuf::Descriptor* message, const std::string& prefix,
                            std::vector<std::string>& out) {
  for (int i = 0; i < message->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = message->field(i);
    const std::string path = prefix + field->name();
    switch (field->cpp_type()) {
      case google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE:
        collect_numeric_fields(field->message_type(), path + ".", out);
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_INT32:
      case google::protobuf::FieldDescriptor::CPPTYPE_INT64:
      case google::protobuf::FieldDescriptor::CPPTYPE_UINT32:
      case google::protobuf::FieldDescriptor::CPPTYPE_UINT64:
      case google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE:
      case google::protobuf::FieldDescriptor::CPPTYPE_FLOAT:
        out.push_back(path);
        break;
      default:
        break;
    }
  }
}

TEST(ConfigLoader, EveryNumericFieldHasADocumentedBound) {
  std::vector<std::string> numeric;
  collect_numeric_fields(config::ApplianceConfig::descriptor(), "", numeric);
  ASSERT_GT(numeric.size(), 20u);
  std::ifstream operations(SLUICE_TEST_DATA "/../../../docs/OPERATIONS.md");
  std::stringstream docs;
  docs << operations.rdbuf();
  ASSERT_FALSE(docs.str().empty());
  for (const std::string& path : numeric) {
    const auto bounds = config_numeric_bounds();
    const auto bound = std::find_if(bounds.begin(), bounds.end(), [&](const NumericBound& b) { return b.field == path; });
    ASSERT_NE(bound, bounds.end()) << path << " has no bound in config_numeric_bounds()";
    EXPECT_LE(bound->min, bound->max) << path;
    // Its row in the table of docs/OPERATIONS.md.
    EXPECT_NE(docs.str().find("| `" + path + "` |"), std::string::npos) << path << " is not in docs/OPERATIONS.md";
  }
}

// Measured fault: "localhost:9618" passed and then the health server, which binds without
// resolving names, refused to start.
TEST(ConfigLoader, HealthAddressMustBeAnIpAddress) {
  expect_errors(load(kPorts + "health_address: \"localhost:9618\"\n").errors,
                {{3, "health_address", "\"localhost\" is not an IP address"}});
  for (const char* good : {"127.0.0.1:9618", "[::1]:9618", "0.0.0.0:9618", ""}) {
    const LoadedConfig loaded = load(kPorts + "health_address: \"" + good + "\"\n");
    EXPECT_TRUE(loaded.ok()) << good << all_errors(loaded.errors);
  }
}

// Measured fault: command-line values were applied after validation and never checked. Now
// they replace their fields first and meet the same checks; an error names the flag.
TEST(ConfigLoader, CommandLineValuesAreValidatedAndNameTheirFlag) {
  const ConfigOverrides bad = {
      {"--health-address", "localhost:9618"},
      {"--metrics-address", "127.0.0.1"},
      {"--admin-socket", "relative.sock"},
      {"--exit-on-idle-ms", "soon"},
      {"--denial-aggregation-ms", "4000000000"},
      {"--inside", ""},
  };
  // The file's own error still points at its line; the flags' errors follow.
  const LoadedConfig loaded = load_config_text(kPorts + "denial_ring_size: 100\n", kFile, bad);
  ASSERT_EQ(loaded.errors.size(), 7u) << all_errors(loaded.errors);
  EXPECT_EQ(loaded.errors[0].to_string().rfind("appliance.textproto:3: denial_ring_size: 100 is not a power of two", 0), 0u)
      << loaded.errors[0].to_string();
  std::vector<std::pair<std::string, std::string>> by_flag;
  for (size_t i = 1; i < loaded.errors.size(); ++i) {
    EXPECT_EQ(loaded.errors[i].file, kCommandLine) << loaded.errors[i].to_string();
    EXPECT_EQ(loaded.errors[i].line, 0);
    by_flag.emplace_back(loaded.errors[i].field, loaded.errors[i].message);
  }
  std::sort(by_flag.begin(), by_flag.end());
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"--admin-socket", "must be an absolute path"},
      {"--denial-aggregation-ms", "4000000000 is above the maximum of 3600000"},
      {"--exit-on-idle-ms", "needs a whole number of milliseconds, got \"soon\""},
      {"--health-address", "\"localhost\" is not an IP address"},
      {"--inside", "missing device"},
      {"--metrics-address", "expected HOST:PORT"},
  };
  ASSERT_EQ(by_flag.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(by_flag[i].first, expected[i].first);
    EXPECT_NE(by_flag[i].second.find(expected[i].second), std::string::npos) << by_flag[i].second;
  }
  EXPECT_EQ(loaded.errors[1].to_string().rfind("command line: --", 0), 0u) << loaded.errors[1].to_string();
}

TEST(ConfigLoader, CommandLineValuesReplaceTheFilesValues) {
  const LoadedConfig loaded = load_config_text(kPorts + "health_address: \"127.0.0.1:1\"\nexit_on_idle_ms: 5\n", kFile,
                                               {{"--health-address", "[::1]:9618"},
                                                {"--exit-on-idle-ms", "250"},
                                                {"--denial-aggregation-ms", "0"},
                                                {"--outside", "net_null0"},
                                                {"--admin-socket", ""},
                                                {"--log-dir", "/tmp/x"}});
  ASSERT_TRUE(loaded.ok()) << all_errors(loaded.errors);
  EXPECT_EQ(loaded.config.health_address(), "[::1]:9618");
  EXPECT_EQ(loaded.config.exit_on_idle_ms(), 250u);
  EXPECT_TRUE(loaded.config.denial_log().has_aggregation_window_ms());
  EXPECT_EQ(loaded.config.denial_log().aggregation_window_ms(), 0u);  // explicit 0, not the default
  EXPECT_EQ(loaded.config.ports(1).device(), "net_null0");
  EXPECT_EQ(loaded.config.ports(0).device(), "net_pcap0,rx_pcap=in.pcap");
  EXPECT_EQ(loaded.config.admin_socket(), "");  // "" turns it off
  EXPECT_EQ(loaded.config.log_dir(), "/tmp/x");
}

TEST(ConfigLoader, AdminSocketPathFitsASocketAddress) {
  const std::string long_path = "/run/" + std::string(120, 's') + ".sock";
  expect_errors(load(kPorts + "admin_socket: \"" + long_path + "\"\n").errors,
                {{3, "admin_socket", "a Unix socket path has at most 107"}});
}

TEST(ConfigLoader, DenialLogFileGroupMustExist) {
  // "root" exists on every host; a collector's group such as "adm" is checked the same way.
  EXPECT_TRUE(load(kPorts + "denial_log { file_group: \"root\" }\n").ok());
  EXPECT_TRUE(load(kPorts + "denial_log { file_group: \"\" }\n").ok());  // "": the daemon's own group
  expect_errors(load(kPorts + "denial_log {\n  file_group: \"no-such-group-sluice\"\n}\n").errors,
                {{4, "denial_log.file_group", "no group \"no-such-group-sluice\" on this host"}});
}

TEST(ConfigLoader, UnreadableFileSaysWhy) {
  const std::string path = ::testing::TempDir() + "sluice_no_such_appliance.textproto";
  expect_errors(load_config_file(path).errors, {{0, "", std::strerror(ENOENT)}}, path);
}

}  // namespace
}  // namespace sluice

#include "controlplane/config/config_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
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

TEST(ConfigLoader, DenialRingSize) {
  for (const char* good : {"64", "4096", "1048576"}) {
    EXPECT_TRUE(load(kPorts + "denial_ring_size: " + good + "\n").ok()) << good;
  }
  expect_errors(load(kPorts + "denial_ring_size: 4000\n").errors,
                {{3, "denial_ring_size", "4000 is not a power of two"}});
  expect_errors(load(kPorts + "\ndenial_ring_size: 32\n").errors,
                {{4, "denial_ring_size", "32 is below the minimum of 64"}});
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

TEST(ConfigLoader, UnreadableFileSaysWhy) {
  const std::string path = ::testing::TempDir() + "sluice_no_such_appliance.textproto";
  expect_errors(load_config_file(path).errors, {{0, "", std::strerror(ENOENT)}}, path);
}

}  // namespace
}  // namespace sluice

// routing.snat and routing.dns_forwarder as config_loader checks them (FILE:LINE: field).
#include <gtest/gtest.h>

#include <string>

#include "controlplane/config/config_loader.h"
#include "tests/unit/policy_error_expectations.h"

namespace sluice {
namespace {

const std::string kFile = "appliance.textproto";

// Routed ports on lines 1 and 2; every test's own lines start at 3.
const std::string kRoutedPorts = R"(ports { device: "net_null0" role: INSIDE addresses: "198.18.0.1/24" addresses: "2001:db8:1::1/64" }
ports { device: "net_null1" role: OUTSIDE addresses: "198.18.9.4/24" addresses: "2001:db8:9::4/64" }
)";

LoadedConfig load(const std::string& text) { return load_config_text(text, kFile); }

void expect_errors(const PolicyErrors& errors, const std::vector<test::Expected>& expected) {
  test::expect_errors(errors, expected, kFile);
}

TEST(SnatConfig, ARoutedConfigWithSnatOnTheOutsidePrefixLoads) {
  const LoadedConfig loaded = load(kRoutedPorts + R"(routing {
  mode: ROUTED
  routes { prefix: "0.0.0.0/0" via: "198.18.9.1" port: OUTSIDE snat: true }
  routes { prefix: "::/0" via: "2001:db8:9::1" port: OUTSIDE snat: true }
  snat { addresses: "198.18.9.4" addresses: "198.18.9.5" addresses: "2001:db8:9::100" port_min: 20000 port_max: 30000 }
  dns_forwarder { enabled: true }
}
)");
  ASSERT_TRUE(loaded.ok()) << test::all_errors(loaded.errors);
  EXPECT_EQ(loaded.config.routing().snat().addresses_size(), 3);
  EXPECT_EQ(loaded.config.routing().snat().quarantine_seconds(), 120u);
}

TEST(SnatConfig, AddressesMustBePlainOnceAndOnTheOutsidePrefixes) {
  expect_errors(load(kRoutedPorts + R"(routing {
  mode: ROUTED
  snat {
    addresses: "198.18.9.5/32"
    addresses: "198.18.0.7"
    addresses: "198.18.9.5"
    addresses: "198.18.9.5"
    addresses: "2001:db8:8::1"
  }
}
)").errors,
                {{6, "routing.snat.addresses[0]", "is not an IP address"},
                 {7, "routing.snat.addresses[1]", "no connected prefix of the OUTSIDE port"},
                 {9, "routing.snat.addresses[3]", "listed twice"},
                 {10, "routing.snat.addresses[4]", "no connected prefix of the OUTSIDE port"}});
}

TEST(SnatConfig, AtMostSixteenAddresses) {
  std::string addresses;
  for (int i = 0; i < 17; ++i) addresses += " addresses: \"198.18.9." + std::to_string(10 + i) + "\"";
  expect_errors(load(kRoutedPorts + "routing { mode: ROUTED snat {" + addresses + " } }\n").errors,
                {{3, "routing.snat.addresses", "17 addresses; at most 16"}});
}

TEST(SnatConfig, ThePortRangeIsInOrderAndGivesEveryWorkerASlice) {
  expect_errors(load(kRoutedPorts + R"(worker_lcores: [1, 2, 3]
routing { mode: ROUTED snat { addresses: "198.18.9.4" port_min: 5000 port_max: 4000 } }
)").errors,
                {{4, "routing.snat.port_min", "is above port_max 4000"}});
  expect_errors(load(kRoutedPorts + R"(worker_lcores: [1, 2, 3]
routing { mode: ROUTED snat { addresses: "198.18.9.4" port_min: 5000 port_max: 5001 } }
)").errors,
                {{4, "routing.snat.port_max", "fewer ports than the 3 workers"}});
}

TEST(SnatConfig, ASnatRouteNeedsAnAddressOfItsFamily) {
  expect_errors(load(kRoutedPorts + R"(routing {
  mode: ROUTED
  routes { prefix: "0.0.0.0/0" via: "198.18.9.1" port: OUTSIDE snat: true }
  routes { prefix: "::/0" via: "2001:db8:9::1" port: OUTSIDE snat: true }
  snat { addresses: "198.18.9.4" }
}
)").errors,
                {{6, "routing.routes[1].snat", "has no IPv6 address"}});
}

TEST(SnatConfig, BridgeModeTakesNeitherSnatNorTheForwarder) {
  expect_errors(load(R"(ports { device: "net_null0" role: INSIDE }
ports { device: "net_null1" role: OUTSIDE }
routing { snat { addresses: "198.18.9.4" } dns_forwarder { enabled: true } }
)").errors,
                {{3, "routing.snat.addresses", "needs routing.mode ROUTED"},
                 {3, "routing.dns_forwarder.enabled", "needs routing.mode ROUTED"}});
}

TEST(SnatConfig, TheForwarderNeedsAnInsideAddress) {
  expect_errors(load(R"(ports { device: "net_null0" role: INSIDE }
ports { device: "net_null1" role: OUTSIDE addresses: "198.18.9.4/24" }
routing { mode: ROUTED dns_forwarder { enabled: true } }
)").errors,
                {{1, "ports[0].addresses", "routed mode needs at least one address on every port"},
                 {3, "routing.dns_forwarder.enabled", "INSIDE port's addresses, and it has none"}});
}

}  // namespace
}  // namespace sluice

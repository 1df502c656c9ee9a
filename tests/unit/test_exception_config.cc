// routing.exception_port and routing.health_probe as the config loader checks them, and the
// kernel-service filter built from them.
#include "controlplane/config/exception_config.h"

#include <gtest/gtest.h>

#include <string>

#include "controlplane/config/config_loader.h"
#include "tests/unit/frame_builder.h"
#include "tests/unit/policy_error_expectations.h"

namespace sluice {
namespace {

const std::string kFile = "appliance.textproto";

// Routed mode with two addressed ports on lines 1-3, so every test's own lines start at 4.
const std::string kRouted = R"(ports { device: "net_pcap0,rx_pcap=in.pcap" role: INSIDE addresses: "198.18.1.254/24" }
ports { device: "net_pcap1,tx_pcap=out.pcap" role: OUTSIDE addresses: "198.18.2.254/24" }
routing { mode: ROUTED
)";

LoadedConfig load(const std::string& text) { return load_config_text(text, kFile); }

void expect_errors(const std::string& text, const std::vector<test::Expected>& expected) {
  test::expect_errors(load(text).errors, expected, kFile);
}

TEST(ExceptionConfig, ValidExceptionPortAndProbe) {
  const LoadedConfig loaded = load(kRouted + R"(
  exception_port {
    device: "net_tap0,iface=sluice0"
    services { protocol: "tcp" ports: 22 ports: 2222 sources: "198.18.0.0/15" sources: "2001:db8::/32" }
    services { protocol: "udp" ports: 53 }
    services { protocol: "icmp" }
  }
  health_probe { tcp_port: 8080 }
}
)");
  ASSERT_TRUE(loaded.ok()) << test::all_errors(loaded.errors);
  EXPECT_EQ(exception_interface_name(loaded.config.routing().exception_port().device()), "sluice0");
  EXPECT_EQ(build_kernel_service_filter(loaded.config.routing().exception_port()).size(), 3u);
}

TEST(ExceptionConfig, OnlyInRoutedMode) {
  expect_errors(R"(ports { device: "a" role: INSIDE }
ports { device: "b" role: OUTSIDE }
routing {
  exception_port { device: "net_tap0,iface=sluice0" }
  health_probe { tcp_port: 8080 }
}
)",
                {{4, "routing.exception_port", "only in routed mode"},
                 {5, "routing.health_probe.tcp_port", "only in routed mode"}});
}

TEST(ExceptionConfig, DeviceMustBeANamedTap) {
  expect_errors(kRouted + "exception_port { device: \"net_af_packet0,iface=eth0\" } }\n",
                {{4, "routing.exception_port.device", "not a net_tap device"}});
  expect_errors(kRouted + "exception_port { device: \"net_tapx,iface=a\" } }\n",
                {{4, "routing.exception_port.device", "not a net_tap device"}});
  expect_errors(kRouted + "exception_port { device: \"net_tap0\" } }\n",
                {{4, "routing.exception_port.device", "names no interface"}});
  expect_errors(kRouted + "exception_port { device: \"net_tap0,iface=a-very-long-name0\" } }\n",
                {{4, "routing.exception_port.device", "longer than 15 bytes"}});
  expect_errors(kRouted + "exception_port { device: \"net_tap0,iface=a/b\" } }\n",
                {{4, "routing.exception_port.device", "not a valid interface name"}});
}

TEST(ExceptionConfig, TapMustNotBeADataPort) {
  expect_errors(R"(ports { device: "net_tap0,iface=x" role: INSIDE addresses: "198.18.1.254/24" }
ports { device: "net_pcap1,tx_pcap=out.pcap" role: OUTSIDE addresses: "198.18.2.254/24" }
routing { mode: ROUTED
  exception_port { device: "net_tap0,iface=sluice0" }
}
)",
                {{4, "routing.exception_port.device", "also a data port's device"}});
}

TEST(ExceptionConfig, ServicesNeedADevice) {
  expect_errors(kRouted + "exception_port { services { protocol: \"tcp\" ports: 22 } } }\n",
                {{4, "routing.exception_port.services", "need routing.exception_port.device"}});
}

TEST(ExceptionConfig, ServiceFieldsAreChecked) {
  expect_errors(kRouted + R"(exception_port {
  device: "net_tap0,iface=sluice0"
  services { protocol: "sctp" ports: 1 }
  services { ports: 1 }
  services { protocol: "tcp" }
  services {
    protocol: "icmp"
    ports: 7
  }
  services {
    protocol: "udp"
    ports: 53
    ports: 53
    sources: "198.18.0.1/15"
    sources: "not an address"
    sources: "2001:db8::/129"
  }
  services { protocol: "tcp" ports: 0 ports: 70000 }
} }
)",
                {
                    {6, "routing.exception_port.services[0].protocol", "unknown protocol \"sctp\""},
                    {7, "routing.exception_port.services[1].protocol", "missing protocol"},
                    {8, "routing.exception_port.services[2].protocol", "needs at least one port"},
                    {11, "routing.exception_port.services[3].ports[0]", "icmp has no ports"},
                    {16, "routing.exception_port.services[4].ports[1]", "port 53 is listed twice"},
                    {17, "routing.exception_port.services[4].sources[0]", "198.18.0.1/15"},
                    {18, "routing.exception_port.services[4].sources[1]", "not an address"},
                    {19, "routing.exception_port.services[4].sources[2]", "2001:db8::/129"},
                    {21, "routing.exception_port.services[5].ports[0]", "below the minimum of 1"},
                    {21, "routing.exception_port.services[5].ports[1]", "above the maximum of 65535"},
                });
}

TEST(ExceptionConfig, ProbePortIsNotAKernelService) {
  expect_errors(kRouted + R"(exception_port {
  device: "net_tap0,iface=sluice0"
  services { protocol: "udp" ports: 8080 }
  services { protocol: "tcp" ports: 22 ports: 8080 }
}
health_probe { tcp_port: 8080 } }
)",
                {{7, "routing.exception_port.services[1].ports[1]", "routing.health_probe.tcp_port"}});
  expect_errors(kRouted + "health_probe { tcp_port: 70000 } }\n",
                {{4, "routing.health_probe.tcp_port", "above the maximum of 65535"}});
}

// With the DNS forwarder on, a query it cannot forward falls through to local delivery: a kernel
// service on port 53 would answer it without the DNS guard, so the config refuses the pair.
TEST(ExceptionConfig, NoKernelDnsServiceBesideTheForwarder) {
  expect_errors(kRouted + R"(exception_port {
  device: "net_tap0,iface=sluice0"
  services { protocol: "udp" ports: 53 }
  services { protocol: "tcp" ports: 22 ports: 53 }
}
dns_forwarder { enabled: true } }
)",
                {{6, "routing.exception_port.services[0].ports[0]", "DNS forwarder"},
                 {7, "routing.exception_port.services[1].ports[1]", "DNS forwarder"}});
  // Without the forwarder a kernel resolver on the appliance is the operator's choice.
  EXPECT_TRUE(load(kRouted + R"(exception_port {
  device: "net_tap0,iface=sluice0"
  services { protocol: "udp" ports: 53 }
} }
)").ok());
}

TEST(ExceptionConfig, CountsAreBounded) {
  std::string many_services = kRouted + "exception_port { device: \"net_tap0,iface=sluice0\"\n";
  for (size_t i = 0; i <= kMaxKernelServices; ++i) many_services += "services { protocol: \"icmp\" }\n";
  many_services += "} }\n";
  const LoadedConfig services = load(many_services);
  ASSERT_EQ(services.errors.size(), 1u) << test::all_errors(services.errors);
  EXPECT_EQ(services.errors[0].field, "routing.exception_port.services[32]");
  EXPECT_EQ(services.errors[0].line, 4 + 1 + int(kMaxKernelServices));

  std::string many_ports = kRouted + "exception_port { device: \"net_tap0,iface=sluice0\" services { protocol: \"tcp\"\n";
  for (size_t i = 0; i <= kMaxKernelServicePorts; ++i) many_ports += "ports: " + std::to_string(i + 1) + "\n";
  for (size_t i = 0; i <= kMaxKernelServiceSources; ++i) many_ports += "sources: \"198.18.0." + std::to_string(i) + "\"\n";
  many_ports += "} } }\n";
  const LoadedConfig ports = load(many_ports);
  ASSERT_EQ(ports.errors.size(), 2u) << test::all_errors(ports.errors);
  EXPECT_EQ(ports.errors[0].field, "routing.exception_port.services[0].ports[32]");
  EXPECT_EQ(ports.errors[1].field, "routing.exception_port.services[0].sources[32]");
}

TEST(ExceptionConfig, FilterFollowsTheConfig) {
  const LoadedConfig loaded = load(kRouted + R"(
  exception_port {
    device: "net_tap0,iface=sluice0"
    services { protocol: "tcp" ports: 22 sources: "198.18.5.0/24" }
  }
}
)");
  ASSERT_TRUE(loaded.ok()) << test::all_errors(loaded.errors);
  const KernelServiceFilter filter = build_kernel_service_filter(loaded.config.routing().exception_port());
  test::Tcp4 spec;
  spec.dst = "198.18.1.254";
  spec.dst_port = 22;
  spec.src = "198.18.5.1";
  ParsedPacket packet;
  ASSERT_EQ(parse_packet(test::tcp4_frame(spec), packet), PacketParseError::none);
  EXPECT_TRUE(filter.admits(packet));
  spec.src = "198.18.6.1";
  ASSERT_EQ(parse_packet(test::tcp4_frame(spec), packet), PacketParseError::none);
  EXPECT_FALSE(filter.admits(packet));
}

}  // namespace
}  // namespace sluice

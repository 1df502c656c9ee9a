#include "controlplane/config/exception_config.h"

#include <net/if.h>

#include <map>
#include <set>

#include "controlplane/policy/cidr.h"
#include "dataplane/parse/packet_parser.h"

namespace sluice {

namespace {

std::string indexed(const std::string& name, int index) { return name + "[" + std::to_string(index) + "]"; }

uint8_t protocol_number(const std::string& name) {
  if (name == "tcp") return kIpProtoTcp;
  if (name == "udp") return kIpProtoUdp;
  if (name == "icmp") return kIpProtoIcmp;
  return 0;
}

// The value of `key=` in an EAL device string ("net_tap0,iface=sluice0,mac=…"), "" if absent.
std::string device_argument(const std::string& device, const std::string& key) {
  size_t at = device.find(',');
  while (at != std::string::npos) {
    const size_t start = at + 1;
    at = device.find(',', start);
    const std::string part = device.substr(start, at == std::string::npos ? std::string::npos : at - start);
    if (part.starts_with(key + "=")) return part.substr(key.size() + 1);
  }
  return "";
}

std::string device_problem(const config::ApplianceConfig& config, const std::string& device) {
  const std::string name = device.substr(0, device.find(','));
  if (!name.starts_with("net_tap") || name.size() == 7 ||
      name.find_first_not_of("0123456789", 7) != std::string::npos)
    return "\"" + device + "\" is not a net_tap device; expected \"net_tap0,iface=sluice0\"";
  const std::string iface = exception_interface_name(device);
  if (iface.empty())
    return "\"" + device + "\" names no interface; add iface=NAME (sluiced sets that interface up with the "
           "appliance's addresses)";
  if (iface.size() >= IFNAMSIZ)
    return "interface name \"" + iface + "\" is longer than " + std::to_string(IFNAMSIZ - 1) + " bytes";
  if (iface.find_first_of("/ \t:") != std::string::npos || iface == "." || iface == "..")
    return "\"" + iface + "\" is not a valid interface name";
  for (const auto& port : config.ports())
    if (port.device().substr(0, port.device().find(',')) == name)
      return "\"" + name + "\" is also a data port's device";
  return "";
}

void check_service(const config::KernelService& service, const std::string& path, const ConfigProblemSink& problem) {
  const uint8_t protocol = protocol_number(service.protocol());
  if (protocol == 0)
    problem(path + ".protocol", service.protocol().empty() ? "missing protocol (tcp, udp or icmp)"
                                                           : "unknown protocol \"" + service.protocol() +
                                                                 "\" (tcp, udp or icmp)");
  if (protocol == kIpProtoIcmp && service.ports_size() > 0)
    problem(indexed(path + ".ports", 0), "icmp has no ports (it admits echo requests)");
  if ((protocol == kIpProtoTcp || protocol == kIpProtoUdp) && service.ports_size() == 0)
    problem(path + ".protocol", "a " + service.protocol() + " service needs at least one port");
  if (service.ports_size() > int(kMaxKernelServicePorts))
    problem(indexed(path + ".ports", int(kMaxKernelServicePorts)),
            std::to_string(service.ports_size()) + " ports; at most " + std::to_string(kMaxKernelServicePorts) +
                " a service");
  std::map<uint32_t, int> first_port;
  for (int i = 0; i < service.ports_size(); ++i)
    if (auto [it, fresh] = first_port.try_emplace(service.ports(i), i); !fresh)
      problem(indexed(path + ".ports", i), "port " + std::to_string(service.ports(i)) + " is listed twice");
  if (service.sources_size() > int(kMaxKernelServiceSources))
    problem(indexed(path + ".sources", int(kMaxKernelServiceSources)),
            std::to_string(service.sources_size()) + " sources; at most " + std::to_string(kMaxKernelServiceSources) +
                " a service");
  for (int i = 0; i < service.sources_size(); ++i) {
    Cidr cidr;
    if (const CidrError error = parse_cidr(service.sources(i), cidr); error != CidrError::none)
      problem(indexed(path + ".sources", i), "\"" + service.sources(i) + "\": " + describe(error));
  }
}

}  // namespace

std::string exception_interface_name(const std::string& device) { return device_argument(device, "iface"); }

void check_exception_config(const config::ApplianceConfig& config, const ConfigProblemSink& problem) {
  const config::Routing& routing = config.routing();
  const config::ExceptionPort& exception = routing.exception_port();
  const bool routed = routing.mode() == config::Routing::ROUTED;
  if (!routed) {
    // Bridge mode has no addresses of its own: nothing could be for the kernel or a probe.
    if (!exception.device().empty() || exception.services_size() > 0)
      problem("routing.exception_port", "only in routed mode (routing.mode: ROUTED)");
    if (routing.health_probe().tcp_port() != 0)
      problem("routing.health_probe.tcp_port", "only in routed mode (routing.mode: ROUTED)");
    return;
  }
  if (!exception.device().empty()) {
    if (std::string why = device_problem(config, exception.device()); !why.empty())
      problem("routing.exception_port.device", std::move(why));
  } else if (exception.services_size() > 0) {
    problem("routing.exception_port.services", "kernel services need routing.exception_port.device (a net_tap)");
  }
  if (exception.services_size() > int(kMaxKernelServices))
    problem(indexed("routing.exception_port.services", int(kMaxKernelServices)),
            std::to_string(exception.services_size()) + " services; at most " + std::to_string(kMaxKernelServices));
  const uint32_t probe_port = routing.health_probe().tcp_port();
  for (int i = 0; i < exception.services_size(); ++i) {
    const config::KernelService& service = exception.services(i);
    const std::string path = indexed("routing.exception_port.services", i);
    check_service(service, path, problem);
    // The forwarder answers DNS on the inside addresses; a query it cannot forward (no resolver
    // of the query's family in the source's policy, its table full) goes on to local delivery,
    // and a kernel resolver there would answer it past the DNS guard.
    if (routing.dns_forwarder().enabled() && (service.protocol() == "udp" || service.protocol() == "tcp"))
      for (int p = 0; p < service.ports_size(); ++p)
        if (service.ports(p) == 53)
          problem(indexed(path + ".ports", p), "port 53 is the DNS forwarder's (routing.dns_forwarder); a query it "
                                               "could not forward would reach the kernel's resolver past the DNS guard");
    if (probe_port == 0 || service.protocol() != "tcp") continue;
    for (int p = 0; p < service.ports_size(); ++p)
      if (service.ports(p) == probe_port)
        problem(indexed(path + ".ports", p), "port " + std::to_string(probe_port) +
                                                 " is routing.health_probe.tcp_port, which the workers answer "
                                                 "themselves; the kernel would never see it");
  }
}

KernelServiceFilter build_kernel_service_filter(const config::ExceptionPort& exception_port) {
  KernelServiceFilter filter;
  for (const auto& entry : exception_port.services()) {
    KernelService service;
    service.protocol = protocol_number(entry.protocol());
    for (uint32_t port : entry.ports())
      if (service.port_count < kMaxKernelServicePorts) service.ports[service.port_count++] = uint16_t(port);
    for (const auto& source : entry.sources()) {
      Cidr cidr;
      if (service.source_count < kMaxKernelServiceSources && parse_cidr(source, cidr) == CidrError::none)
        service.sources[service.source_count++] = {cidr.address, cidr.prefix_length};
    }
    filter.add(service);
  }
  return filter;
}

}  // namespace sluice

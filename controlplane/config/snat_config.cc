#include "controlplane/config/snat_config.h"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

#include "controlplane/policy/cidr.h"
#include "dataplane/worker/worker_counters.h"

namespace sluice {

namespace {

using config::ApplianceConfig;
using config::Port;
using config::PortRole;
using config::Route;
using config::Routing;
using config::Snat;
using config::INSIDE;
using config::OUTSIDE;

std::string indexed(const std::string& name, int index) { return name + "[" + std::to_string(index) + "]"; }

// A port address as written there, "198.18.0.1/24": the prefix it is on. Nothing when it does not
// read (routing_config reports that).
std::optional<Cidr> connected_prefix(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::optional<IpAddress> address = parse_ip(text.substr(0, slash));
  unsigned length = 0;
  const std::string_view digits = text.substr(slash + 1);
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
  if (!address || error != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
      length > (address->family == 4 ? 32u : 128u))
    return std::nullopt;
  return Cidr{*address, static_cast<uint8_t>(length)};
}

bool contains(const Cidr& prefix, const IpAddress& address) {
  if (prefix.address.family != address.family) return false;
  const unsigned full = prefix.prefix_length / 8;
  const unsigned rest = prefix.prefix_length % 8;
  for (unsigned i = 0; i < full; ++i)
    if (prefix.address.bytes[i] != address.bytes[i]) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (prefix.address.bytes[full] & mask) == (address.bytes[full] & mask);
}

std::vector<Cidr> prefixes_of(const ApplianceConfig& config, PortRole role) {
  std::vector<Cidr> prefixes;
  for (const Port& port : config.ports())
    if (port.role() == role)
      for (const std::string& text : port.addresses())
        if (std::optional<Cidr> prefix = connected_prefix(text)) prefixes.push_back(*prefix);
  return prefixes;
}

}  // namespace

std::vector<SnatConfigProblem> check_snat_config(const ApplianceConfig& config) {
  std::vector<SnatConfigProblem> problems;
  const Routing& routing = config.routing();
  const Snat& snat = routing.snat();
  if (routing.mode() != Routing::ROUTED) {
    if (snat.addresses_size() > 0)
      problems.push_back({"routing.snat.addresses", "source NAT needs routing.mode ROUTED (bridge mode forwards frames unchanged)"});
    if (routing.dns_forwarder().enabled())
      problems.push_back({"routing.dns_forwarder.enabled", "the DNS forwarder needs routing.mode ROUTED (an INSIDE address to answer on)"});
    return problems;
  }

  if (snat.addresses_size() > kMaxSnatAddresses)
    problems.push_back({"routing.snat.addresses", std::to_string(snat.addresses_size()) + " addresses; at most " +
                                                      std::to_string(kMaxSnatAddresses) + " (each has its own counters on every worker)"});
  const std::vector<Cidr> outside = prefixes_of(config, OUTSIDE);
  bool has_family[7] = {};
  std::vector<IpAddress> seen;
  for (int i = 0; i < snat.addresses_size(); ++i) {
    const std::string field = indexed("routing.snat.addresses", i);
    const std::optional<IpAddress> address = parse_ip(snat.addresses(i));
    if (!address) {
      problems.push_back({field, "\"" + snat.addresses(i) + "\" is not an IP address (a plain address, no prefix length)"});
      continue;
    }
    bool twice = false;
    for (const IpAddress& other : seen) twice = twice || other == *address;
    if (twice) {
      problems.push_back({field, "\"" + snat.addresses(i) + "\" is listed twice"});
      continue;
    }
    seen.push_back(*address);
    has_family[address->family] = true;
    bool connected = false;
    for (const Cidr& prefix : outside) connected = connected || contains(prefix, *address);
    if (!connected)
      problems.push_back({field, "\"" + snat.addresses(i) +
                                     "\" is on no connected prefix of the OUTSIDE port (ports[].addresses): answers to it would not come back to this appliance"});
  }

  if (snat.port_min() > snat.port_max()) {
    problems.push_back({"routing.snat.port_min", std::to_string(snat.port_min()) + " is above port_max " + std::to_string(snat.port_max())});
  } else {
    const uint32_t range = snat.port_max() - snat.port_min() + 1;
    const uint32_t workers = config.worker_lcores_size() == 0 ? 1 : uint32_t(config.worker_lcores_size());
    if (range < workers)
      problems.push_back({"routing.snat.port_max", "the range " + std::to_string(snat.port_min()) + "-" + std::to_string(snat.port_max()) +
                                                       " has fewer ports than the " + std::to_string(workers) +
                                                       " workers it is split between"});
  }

  for (int i = 0; i < routing.routes_size(); ++i) {
    const Route& route = routing.routes(i);
    if (!route.snat()) continue;
    const size_t slash = route.prefix().find('/');
    const std::optional<IpAddress> network = parse_ip(std::string_view(route.prefix()).substr(0, slash));
    if (!network) continue;  // routing_config reports it
    if (!has_family[network->family])
      problems.push_back({indexed("routing.routes", i) + ".snat",
                          std::string("a route to ") + route.prefix() + " translates its sources, but routing.snat.addresses has no IPv" +
                              (network->family == 4 ? "4" : "6") + " address"});
  }

  if (routing.dns_forwarder().enabled() && prefixes_of(config, INSIDE).empty())
    problems.push_back({"routing.dns_forwarder.enabled", "the forwarder answers on the INSIDE port's addresses, and it has none (ports[].addresses)"});
  return problems;
}

}  // namespace sluice

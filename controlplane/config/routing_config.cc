#include "controlplane/config/routing_config.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <vector>

#include "controlplane/policy/cidr.h"

namespace sluice {

namespace {

namespace cfg = sluice::config;

std::string indexed(const std::string& name, int index) { return name + "[" + std::to_string(index) + "]"; }

bool is_unicast(const IpAddress& address) {
  static const uint8_t kZero[16] = {};
  if (address.family == 4)
    return address.bytes[0] != 0 && address.bytes[0] != 127 && address.bytes[0] < 224;
  return address.bytes[0] != 0xff && std::memcmp(address.bytes, kZero, 16) != 0 &&
         !(std::memcmp(address.bytes, kZero, 15) == 0 && address.bytes[15] == 1);
}

// "198.18.0.1/24" → the address and its prefix length; the problem otherwise.
std::optional<OwnAddress> parse_own_address(const std::string& text, std::string& problem) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos) {
    problem = "\"" + text + "\" needs its prefix length, as in 198.18.0.1/24 or 2001:db8:1::1/64";
    return std::nullopt;
  }
  const auto address = parse_ip(std::string_view(text).substr(0, slash));
  const std::string_view length_text = std::string_view(text).substr(slash + 1);
  unsigned length = 0;
  const auto [end, error] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
  if (!address) {
    problem = "\"" + text.substr(0, slash) + "\" is not an IP address";
    return std::nullopt;
  }
  const unsigned bits = address->family == 4 ? 32 : 128;
  if (length_text.empty() || error != std::errc() || end != length_text.data() + length_text.size() || length > bits) {
    problem = "\"" + std::string(length_text) + "\" is not a prefix length (0-" + std::to_string(bits) + ")";
    return std::nullopt;
  }
  if (!is_unicast(*address)) {
    problem = "\"" + text + "\" is not a unicast address (unspecified, loopback, multicast or broadcast)";
    return std::nullopt;
  }
  if (length + 1 < bits && mask_address(*address, uint8_t(length)) == *address) {
    problem = "\"" + text + "\" is the network address of its prefix; the appliance needs a host address";
    return std::nullopt;
  }
  return OwnAddress{*address, uint8_t(length)};
}

struct PortAddresses {
  std::vector<OwnAddress> addresses;
  bool present = false;
};

bool in_connected_prefix(const PortAddresses& port, const IpAddress& address) {
  for (const OwnAddress& own : port.addresses)
    if (prefix_contains(own.address, own.prefix_length, address)) return true;
  return false;
}

void check_bridge(const cfg::ApplianceConfig& config,
                  const std::function<void(const std::string&, std::string)>& add) {
  const std::string why = " is routed mode's (routing.mode: ROUTED); bridge mode forwards frames unchanged";
  for (int i = 0; i < config.ports_size(); ++i)
    if (config.ports(i).addresses_size()) add(indexed("ports", i) + ".addresses", "an address" + why);
  if (config.routing().routes_size()) add("routing.routes", "a route" + why);
  if (config.routing().static_neighbours_size()) add("routing.static_neighbours", "a static neighbour" + why);
}

}  // namespace

uint8_t routed_port_of(cfg::PortRole role) {
  if (role == cfg::INSIDE) return 0;
  if (role == cfg::OUTSIDE) return 1;
  return kNoPort;
}

void check_routing_config(const cfg::ApplianceConfig& config,
                          const std::function<void(const std::string& field, std::string message)>& add) {
  if (!is_routed(config)) {
    check_bridge(config, add);
    return;
  }
  PortAddresses ports[2];
  std::map<std::pair<int, std::string>, std::string> first_address;  // (family, bytes) → field
  for (int i = 0; i < config.ports_size(); ++i) {
    const cfg::Port& port = config.ports(i);
    const uint8_t index = routed_port_of(port.role());
    const std::string path = indexed("ports", i);
    if (index == kNoPort) continue;  // the loader says what is wrong with the role
    ports[index].present = true;
    if (port.addresses_size() == 0)
      add(path + ".addresses", "routed mode needs at least one address on every port (\"198.18.0.1/24\")");
    bool has_v6 = false;
    for (int a = 0; a < port.addresses_size(); ++a) {
      const std::string field = indexed(path + ".addresses", a);
      std::string problem;
      const auto own = parse_own_address(port.addresses(a), problem);
      if (!own) {
        add(field, problem);
        continue;
      }
      has_v6 |= own->address.family == 6;
      const auto key = std::make_pair(int(own->address.family),
                                      std::string(reinterpret_cast<const char*>(own->address.bytes), 16));
      if (auto [it, fresh] = first_address.try_emplace(key, field); !fresh) {
        add(field, "\"" + port.addresses(a) + "\" is also " + it->second);
        continue;
      }
      ports[index].addresses.push_back(*own);
    }
    if (has_v6 && port.mtu() < 1280)
      add(path + ".mtu", std::to_string(port.mtu()) + " is below 1280, IPv6's minimum MTU (the port has an IPv6 address)");
  }
  for (const OwnAddress& inside : ports[0].addresses)
    for (const OwnAddress& outside : ports[1].addresses)
      if (prefix_contains(inside.address, inside.prefix_length, outside.address) ||
          prefix_contains(outside.address, outside.prefix_length, inside.address))
        add("ports", "the connected prefixes of " + format_ip(inside.address) + "/" + std::to_string(inside.prefix_length) +
                         " (INSIDE) and " + format_ip(outside.address) + "/" + std::to_string(outside.prefix_length) +
                         " (OUTSIDE) overlap: a destination there could leave by either port");

  const auto& routing = config.routing();
  std::map<std::string, std::string> first_prefix;
  for (int i = 0; i < routing.routes_size(); ++i) {
    const cfg::Route& route = routing.routes(i);
    const std::string path = indexed("routing.routes", i);
    Cidr prefix;
    if (CidrError error = parse_cidr(route.prefix(), prefix); error != CidrError::none) {
      add(path + ".prefix", "\"" + route.prefix() + "\": " + describe(error));
      continue;
    }
    if (auto [it, fresh] = first_prefix.try_emplace(format_cidr(prefix), path + ".prefix"); !fresh)
      add(path + ".prefix", "\"" + route.prefix() + "\" is also " + it->second);
    const uint8_t port = routed_port_of(route.port());
    if (port == kNoPort) {
      add(path + ".port", "missing port (INSIDE or OUTSIDE): the port the route leaves by");
      continue;
    }
    const auto via = parse_ip(route.via());
    if (!via) {
      add(path + ".via", route.via().empty() ? "missing next hop (an address in a connected prefix of the port)"
                                             : "\"" + route.via() + "\" is not an IP address");
      continue;
    }
    if (via->family != prefix.address.family)
      add(path + ".via", "\"" + route.via() + "\" is not of the prefix's family");
    else if (!in_connected_prefix(ports[port], *via))
      add(path + ".via", "\"" + route.via() + "\" is in no connected prefix of the " + cfg::PortRole_Name(route.port()) +
                             " port's addresses: the next hop must be on that link");
    else if (first_address.contains({int(via->family), std::string(reinterpret_cast<const char*>(via->bytes), 16)}))
      add(path + ".via", "\"" + route.via() + "\" is one of the appliance's own addresses");
  }

  std::map<std::pair<int, std::string>, std::string> first_neighbour;
  for (int i = 0; i < routing.static_neighbours_size(); ++i) {
    const cfg::StaticNeighbour& neighbour = routing.static_neighbours(i);
    const std::string path = indexed("routing.static_neighbours", i);
    const uint8_t port = routed_port_of(neighbour.port());
    if (port == kNoPort) add(path + ".port", "missing port (INSIDE or OUTSIDE): the link the neighbour is on");
    const auto mac = parse_mac(neighbour.mac());
    if (!mac)
      add(path + ".mac", "\"" + neighbour.mac() + "\" is not a MAC address (12:34:56:78:9a:bc)");
    else if (mac->is_zero() || mac->is_multicast())
      add(path + ".mac", "\"" + neighbour.mac() + "\" is not a unicast MAC address");
    const auto address = parse_ip(neighbour.address());
    if (!address) {
      add(path + ".address", "\"" + neighbour.address() + "\" is not an IP address");
      continue;
    }
    if (port == kNoPort) continue;
    // The unspecified address ("0.0.0.0", "::") stands for every address of its family on the
    // port: Azure's platform answers ARP for every address of a subnet with one MAC.
    const bool any_address = std::all_of(std::begin(address->bytes), std::end(address->bytes),
                                         [](uint8_t b) { return b == 0; });
    if (!any_address && !in_connected_prefix(ports[port], *address))
      add(path + ".address", "\"" + neighbour.address() + "\" is in no connected prefix of the " +
                                 cfg::PortRole_Name(neighbour.port()) + " port's addresses");
    const auto key = std::make_pair(int(port), format_ip(*address));
    if (auto [it, fresh] = first_neighbour.try_emplace(key, path + ".address"); !fresh)
      add(path + ".address", "\"" + neighbour.address() + "\" on this port is also " + it->second);
  }
}

uint32_t routed_frame_room(const cfg::ApplianceConfig& config) {
  constexpr uint32_t kDefaultFrameRoom = 2048;  // RTE_MBUF_DEFAULT_DATAROOM
  constexpr uint32_t kL2Overhead = 14 + 4;      // Ethernet and one VLAN tag
  if (!is_routed(config)) return 0;
  uint32_t largest = 0;
  for (const cfg::Port& port : config.ports()) largest = std::max(largest, port.mtu() + kL2Overhead);
  if (largest <= kDefaultFrameRoom) return 0;
  return (largest + 1023) / 1024 * 1024;
}

std::unique_ptr<RoutingTables> build_routing_tables(const cfg::ApplianceConfig& config, const MacAddress (&macs)[2]) {
  auto tables = std::make_unique<RoutingTables>();
  // Static routes first: set_port's connected prefixes leave a static route of the same prefix.
  for (const cfg::Route& route : config.routing().routes()) {
    Cidr prefix;
    const auto via = parse_ip(route.via());
    if (parse_cidr(route.prefix(), prefix) != CidrError::none || !via) continue;
    RouteEntry entry;
    entry.prefix = prefix.address;
    entry.prefix_length = prefix.prefix_length;
    entry.port = routed_port_of(route.port());
    entry.via = *via;
    entry.snat = route.snat();
    tables->add_route(entry);
  }
  for (const cfg::Port& port : config.ports()) {
    const uint8_t index = routed_port_of(port.role());
    if (index == kNoPort) continue;
    RoutedPort routed;
    routed.mac = macs[index];
    routed.mtu = port.mtu();
    std::string problem;
    for (const std::string& text : port.addresses())
      if (auto own = parse_own_address(text, problem)) routed.addresses.push_back(*own);
    // SNAT addresses are the appliance's own on the OUTSIDE port too (answers to them come to
    // it, and the neighbour piece answers ARP/ND for them), on the connected prefix holding them.
    if (port.role() == cfg::OUTSIDE && config.routing().mode() == cfg::Routing::ROUTED) {
      const size_t connected = routed.addresses.size();
      for (const std::string& text : config.routing().snat().addresses()) {
        const auto address = parse_ip(text);
        if (!address) continue;
        bool known = false;
        for (const OwnAddress& own : routed.addresses) known = known || own.address == *address;
        for (size_t i = 0; i < connected && !known; ++i)
          if (prefix_contains(mask_address(routed.addresses[i].address, routed.addresses[i].prefix_length),
                              routed.addresses[i].prefix_length, *address)) {
            routed.addresses.push_back({*address, routed.addresses[i].prefix_length});
            known = true;
          }
      }
    }
    tables->set_port(index, routed);
  }
  tables->seal();
  return tables;
}

std::unique_ptr<NeighbourTable> build_static_neighbours(const cfg::ApplianceConfig& config) {
  auto table = std::make_unique<NeighbourTable>();
  for (const cfg::StaticNeighbour& neighbour : config.routing().static_neighbours()) {
    const auto address = parse_ip(neighbour.address());
    const auto mac = parse_mac(neighbour.mac());
    const uint8_t port = routed_port_of(neighbour.port());
    if (!address || !mac || port == kNoPort) continue;
    const bool any_address = std::all_of(std::begin(address->bytes), std::end(address->bytes),
                                         [](uint8_t b) { return b == 0; });
    if (any_address)
      table->set_fallback(port, address->family, *mac);
    else
      table->add(port, *address, *mac);
  }
  table->seal();
  return table;
}

}  // namespace sluice

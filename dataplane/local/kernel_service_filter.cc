#include "dataplane/local/kernel_service_filter.h"

namespace sluice {

namespace {

constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpv6EchoRequest = 128;

bool protocol_matches(const KernelService& service, const ParsedPacket& packet) {
  if (service.protocol == kIpProtoIcmp) {
    if (packet.ip_version == 4) return packet.l4_protocol == kIpProtoIcmp && packet.icmp_type == kIcmpEchoRequest;
    return packet.l4_protocol == kIpProtoIcmpv6 && packet.icmp_type == kIcmpv6EchoRequest;
  }
  if (packet.l4_protocol != service.protocol) return false;
  for (uint8_t i = 0; i < service.port_count; ++i)
    if (service.ports[i] == packet.dst_port) return true;
  return false;
}

bool source_matches(const KernelService& service, const IpAddress& source) {
  if (service.source_count == 0) return true;
  for (uint8_t i = 0; i < service.source_count; ++i)
    if (prefix_contains(service.sources[i], source)) return true;
  return false;
}

}  // namespace

bool prefix_contains(const KernelServicePrefix& prefix, const IpAddress& address) {
  if (prefix.address.family != address.family) return false;
  const unsigned bits = prefix.length;
  if (bits > (address.family == 4 ? 32u : 128u)) return false;
  const unsigned whole = bits / 8;
  for (unsigned i = 0; i < whole; ++i)
    if (prefix.address.bytes[i] != address.bytes[i]) return false;
  if (bits % 8 == 0) return true;
  const uint8_t mask = uint8_t(0xFF << (8 - bits % 8));
  return (prefix.address.bytes[whole] & mask) == (address.bytes[whole] & mask);
}

bool KernelServiceFilter::add(const KernelService& service) {
  if (count_ == kMaxKernelServices || service.port_count > kMaxKernelServicePorts ||
      service.source_count > kMaxKernelServiceSources)
    return false;
  services_[count_++] = service;
  return true;
}

bool KernelServiceFilter::admits(const ParsedPacket& packet) const {
  if (packet.is_fragment || (packet.ip_version != 4 && packet.ip_version != 6)) return false;
  for (size_t i = 0; i < count_; ++i)
    if (protocol_matches(services_[i], packet) && source_matches(services_[i], packet.src)) return true;
  return false;
}

}  // namespace sluice

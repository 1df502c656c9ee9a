// Which packets for the appliance's own addresses may reach the host's kernel through the
// exception port (routing.exception_port.services): a protocol, its destination ports, the
// sources allowed. Everything the filter does not admit is dropped by the worker.
// Pure: no DPDK, no allocation; built once by the control thread at start, read by workers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/parse/ip_address.h"
#include "dataplane/parse/packet_parser.h"

namespace sluice {

// Bounds the config validator enforces (controlplane/config/exception_config.cc), so that the
// filter is a fixed-size object.
inline constexpr size_t kMaxKernelServices = 32;
inline constexpr size_t kMaxKernelServicePorts = 32;
inline constexpr size_t kMaxKernelServiceSources = 32;

struct KernelServicePrefix {
  IpAddress address;  // host bits zero
  uint8_t length = 0;
};

// One routing.exception_port.services entry.
struct KernelService {
  // kIpProtoTcp, kIpProtoUdp, or kIpProtoIcmp: ICMP echo requests (IPv4 type 8, ICMPv6 type
  // 128), so that the kernel answers pings; no other ICMP message (neighbour discovery is the
  // worker's, errors about the kernel's own traffic are not a service).
  uint8_t protocol = 0;
  uint8_t port_count = 0;  // TCP/UDP destination ports; 0 with ICMP
  uint16_t ports[kMaxKernelServicePorts] = {};
  uint8_t source_count = 0;  // 0: any source
  KernelServicePrefix sources[kMaxKernelServiceSources] = {};
};

class KernelServiceFilter {
 public:
  // False when the filter is full or `service` is over a bound (nothing is added then).
  bool add(const KernelService& service);

  // True when `packet` (for one of the appliance's own addresses) matches a service: its
  // protocol, one of its ports, one of its sources. IP fragments are never admitted: a later
  // fragment carries no port to judge, so a datagram could not be judged whole.
  bool admits(const ParsedPacket& packet) const;

  size_t size() const { return count_; }

 private:
  KernelService services_[kMaxKernelServices];
  size_t count_ = 0;
};

// True when `address` lies in `prefix` (same family, the first `prefix.length` bits equal).
bool prefix_contains(const KernelServicePrefix& prefix, const IpAddress& address);

}  // namespace sluice

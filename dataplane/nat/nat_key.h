// One side's view of a translated flow: (protocol, local address and port, remote address and
// port). On the inside the local end is the client; on the outside it is the translated source
// (a SNAT address and port). The remote end (the server) is the same on both sides. ICMP echo
// uses its identifier as the local port and 0 as the remote one.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/parse/ip_address.h"

namespace sluice {

struct NatKey {
  uint8_t local[16];
  uint8_t remote[16];
  uint16_t local_port;
  uint16_t remote_port;
  uint8_t family;    // 4 or 6
  uint8_t protocol;  // 6, 17, 1 or 58
  uint8_t padding[2];  // zeroed: the hash and the comparison read every byte

  bool operator==(const NatKey& other) const { return std::memcmp(this, &other, sizeof *this) == 0; }
};
static_assert(sizeof(NatKey) == 40);

inline NatKey make_nat_key(uint8_t protocol, const IpAddress& local, uint16_t local_port, const IpAddress& remote,
                           uint16_t remote_port) {
  NatKey key;
  std::memset(&key, 0, sizeof key);
  std::memcpy(key.local, local.bytes, 16);
  std::memcpy(key.remote, remote.bytes, 16);
  key.local_port = local_port;
  key.remote_port = remote_port;
  key.family = local.family;
  key.protocol = protocol;
  return key;
}

inline IpAddress local_address(const NatKey& key) {
  IpAddress address;
  address.family = key.family;
  std::memcpy(address.bytes, key.local, 16);
  return address;
}

inline IpAddress remote_address(const NatKey& key) {
  IpAddress address;
  address.family = key.family;
  std::memcpy(address.bytes, key.remote, 16);
  return address;
}

}  // namespace sluice

#include "dataplane/flow/flow_owner.h"

#include <cstring>
#include <utility>

namespace sluice {

namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinQ = 0x88a8;
constexpr uint8_t kProtocolIcmp = 1;
constexpr uint8_t kProtocolIcmpv6 = 58;

uint16_t read16(const uint8_t* at) { return uint16_t(at[0] << 8 | at[1]); }

uint64_t mix(uint64_t value) {  // splitmix64's finalizer: every input bit moves every output bit
  value ^= value >> 30;
  value *= 0xbf58476d1ce4e5b9ull;
  value ^= value >> 27;
  value *= 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

// Order-independent: the smaller address first, so a→b and b→a give the same hash.
uint32_t hash_pair(const uint8_t* a, const uint8_t* b, uint32_t size) {
  if (std::memcmp(a, b, size) > 0) std::swap(a, b);
  uint64_t hash = size;
  for (const uint8_t* address : {a, b}) {
    for (uint32_t at = 0; at < size; at += 8) {
      uint64_t word = 0;
      std::memcpy(&word, address + at, size - at < 8 ? size - at : 8);
      hash = mix(hash ^ word);
    }
  }
  return uint32_t(hash >> 32);
}

// ICMP errors (v4: unreachable 3, time exceeded 11, parameter problem 12; v6: 1–4) quote the
// packet they are about: its addresses name the flow. A quote cut short falls back to the outer pair.
bool is_icmpv4_error(uint8_t type) { return type == 3 || type == 11 || type == 12; }
bool is_icmpv6_error(uint8_t type) { return type >= 1 && type <= 4; }

}  // namespace

uint32_t flow_owner_hash(const uint8_t* frame, uint32_t length) {
  if (length < 14) return 0;
  uint32_t at = 12;
  uint16_t ether_type = read16(frame + at);
  for (int tags = 0; tags < 2 && (ether_type == kEtherVlan || ether_type == kEtherQinQ); ++tags) {
    if (length < at + 6) return 0;
    at += 4;
    ether_type = read16(frame + at);
  }
  at += 2;  // the IP header
  const uint8_t* ip = frame + at;
  const uint32_t left = length - at;
  if (ether_type == kEtherIpv4) {
    if (left < 20 || (ip[0] >> 4) != 4) return 0;
    const uint32_t header = uint32_t(ip[0] & 0x0f) * 4;
    // A fragmented error hashes on its outer pair: its later fragments carry no quote.
    const bool fragmented = (read16(ip + 6) & 0x3fff) != 0;
    if (ip[9] == kProtocolIcmp && !fragmented && header >= 20 && left >= header + 8 + 20 &&
        is_icmpv4_error(ip[header]) && (ip[header + 8] >> 4) == 4)
      return hash_pair(ip + header + 8 + 12, ip + header + 8 + 16, 4);
    return hash_pair(ip + 12, ip + 16, 4);
  }
  if (ether_type == kEtherIpv6) {
    if (left < 40 || (ip[0] >> 4) != 6) return 0;
    if (ip[6] == kProtocolIcmpv6 && left >= 40 + 8 + 40 && is_icmpv6_error(ip[40]) && (ip[48] >> 4) == 6)
      return hash_pair(ip + 48 + 8, ip + 48 + 24, 16);
    return hash_pair(ip + 8, ip + 24, 16);
  }
  return 0;
}

}  // namespace sluice

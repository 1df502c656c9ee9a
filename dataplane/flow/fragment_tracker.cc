#include "dataplane/flow/fragment_tracker.h"

#include <cstring>

namespace sluice {

void FragmentTracker::init(uint32_t slots, uint64_t lifetime_cycles) {
  uint32_t size = 1;
  while (size < slots) size <<= 1;
  slots_.assign(size, Slot{});
  lifetime_cycles_ = lifetime_cycles;
}

size_t FragmentTracker::index_of(const ParsedPacket& packet) const {
  // The id varies most between datagrams; the addresses spread ids that repeat across hosts.
  uint64_t hash = (uint64_t(packet.fragment_id) << 8 | packet.l4_protocol) * 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 16; i += 4) {
    uint32_t s, d;
    std::memcpy(&s, packet.src.bytes + i, 4);
    std::memcpy(&d, packet.dst.bytes + i, 4);
    hash = (hash ^ s ^ (uint64_t(d) << 32)) * 0xff51afd7ed558ccdull;
  }
  return size_t(hash >> 17) & (slots_.size() - 1);
}

bool FragmentTracker::same_datagram(const Slot& slot, const ParsedPacket& packet) {
  return slot.fragment_id == packet.fragment_id && slot.protocol == packet.l4_protocol &&
         slot.family == packet.ip_version && std::memcmp(slot.source, packet.src.bytes, 16) == 0 &&
         std::memcmp(slot.destination, packet.dst.bytes, 16) == 0;
}

void FragmentTracker::remember(const ParsedPacket& first_fragment, int32_t flow_position, uint64_t flow_id,
                               uint64_t now_tsc) {
  if (slots_.empty()) return;
  Slot& slot = slots_[index_of(first_fragment)];
  std::memcpy(slot.source, first_fragment.src.bytes, 16);
  std::memcpy(slot.destination, first_fragment.dst.bytes, 16);
  slot.fragment_id = first_fragment.fragment_id;
  slot.protocol = first_fragment.l4_protocol;
  slot.family = first_fragment.ip_version;
  slot.flow_position = flow_position;
  slot.flow_id = flow_id;
  slot.expires_tsc = now_tsc + lifetime_cycles_;
}

bool FragmentTracker::find(const ParsedPacket& later_fragment, uint64_t now_tsc, int32_t& flow_position,
                           uint64_t& flow_id) const {
  if (slots_.empty()) return false;
  const Slot& slot = slots_[index_of(later_fragment)];
  if (slot.expires_tsc == 0 || slot.expires_tsc <= now_tsc || !same_datagram(slot, later_fragment)) return false;
  flow_position = slot.flow_position;
  flow_id = slot.flow_id;
  return true;
}

}  // namespace sluice

#include "dataplane/nat/snat_destinations.h"

#include <algorithm>
#include <cstring>

#include "dataplane/nat/hash_mix.h"

namespace sluice {

void SnatTopDestinations::offer(const SnatDestination& destination) {
  if (destination.ports_in_use == 0) return;
  int at = count;
  if (count == kSnatTopDestinations) {
    if (destination.ports_in_use <= entries[count - 1].ports_in_use) return;
    at = count - 1;  // the smallest makes room
  } else {
    ++count;
  }
  while (at > 0 && entries[at - 1].ports_in_use < destination.ports_in_use) {
    entries[at] = entries[at - 1];
    --at;
  }
  entries[at] = destination;
}

void SnatDestinationCounts::init(uint32_t max_destinations, uint64_t hash_seed) {
  limit_ = std::max<uint32_t>(1, std::min(max_destinations, kMaxSnatTrackedDestinations));
  uint32_t slots = 1;
  while (slots < 2 * limit_) slots <<= 1;
  slots_.assign(slots, Slot{});
  mask_ = slots - 1;
  seed_ = hash_seed;
  used_ = untracked_ = cursor_ = 0;
  running_ = top_ = SnatTopDestinations{};
}

uint32_t SnatDestinationCounts::home_of(const NatKey& key) const {
  uint64_t words[2];
  std::memcpy(words, key.remote, sizeof words);
  const uint64_t tail = uint64_t(key.remote_port) | (uint64_t(key.protocol) << 16) | (uint64_t(key.family) << 24);
  return uint32_t(mix64(mix64(seed_ ^ words[0]) ^ words[1] ^ (tail << 32))) & mask_;
}

bool SnatDestinationCounts::same(const Slot& slot, const NatKey& key) {
  return slot.family == key.family && slot.protocol == key.protocol && slot.port == key.remote_port &&
         std::memcmp(slot.address, key.remote, 16) == 0;
}

int64_t SnatDestinationCounts::find(const NatKey& key) const {
  if (slots_.empty()) return -1;
  for (uint32_t i = home_of(key);; i = (i + 1) & mask_) {
    if (slots_[i].family == 0) return -1;
    if (same(slots_[i], key)) return i;
  }
}

uint32_t SnatDestinationCounts::ports_in_use(const NatKey& key) const {
  const int64_t at = find(key);
  return at < 0 ? 0 : slots_[at].count;
}

bool SnatDestinationCounts::add(const NatKey& key) {
  if (slots_.empty()) return false;
  uint32_t i = home_of(key);
  for (; slots_[i].family != 0; i = (i + 1) & mask_) {
    if (same(slots_[i], key)) {
      ++slots_[i].count;
      return true;
    }
  }
  if (used_ >= limit_) {
    ++untracked_;
    return false;
  }
  Slot& slot = slots_[i];
  std::memcpy(slot.address, key.remote, 16);
  slot.port = key.remote_port;
  slot.protocol = key.protocol;
  slot.family = key.family;
  slot.count = 1;
  ++used_;
  return true;
}

void SnatDestinationCounts::remove(const NatKey& key, bool tracked) {
  if (!tracked) {
    if (untracked_ > 0) --untracked_;
    return;
  }
  const int64_t found = find(key);
  if (found < 0) return;
  uint32_t hole = uint32_t(found);
  if (--slots_[hole].count != 0) return;
  // Backward-shift deletion: later entries of the probe run move up, so no tombstone is left
  // and every lookup still stops at the first free slot.
  --used_;
  for (uint32_t next = (hole + 1) & mask_; slots_[next].family != 0; next = (next + 1) & mask_) {
    NatKey probe;
    std::memset(&probe, 0, sizeof probe);
    std::memcpy(probe.remote, slots_[next].address, 16);
    probe.remote_port = slots_[next].port;
    probe.protocol = slots_[next].protocol;
    probe.family = slots_[next].family;
    const uint32_t home = home_of(probe);
    // `next` may fill the hole when its home is not cyclically within (hole, next].
    const bool stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
    if (stays) continue;
    slots_[hole] = slots_[next];
    hole = next;
  }
  slots_[hole] = Slot{};
}

bool SnatDestinationCounts::sweep(uint32_t budget) {
  const uint32_t size = uint32_t(slots_.size());
  for (uint32_t step = 0; step < budget && size != 0; ++step) {
    const Slot& slot = slots_[cursor_];
    if (slot.family != 0) {
      SnatDestination destination;
      destination.address.family = slot.family;
      std::memcpy(destination.address.bytes, slot.address, 16);
      destination.port = slot.port;
      destination.protocol = slot.protocol;
      destination.ports_in_use = slot.count;
      running_.offer(destination);
    }
    if (++cursor_ == size) {
      cursor_ = 0;
      top_ = running_;
      running_ = SnatTopDestinations{};
      return true;
    }
  }
  return false;
}

void publish_top_destinations(SnatTopDestinationsSlot& slot, const SnatTopDestinations& top, uint32_t untracked) {
  const uint64_t sequence = slot.sequence.load(std::memory_order_relaxed);
  slot.sequence.store(sequence + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  slot.count.store(top.count, std::memory_order_relaxed);
  slot.untracked_bindings.store(untracked, std::memory_order_relaxed);
  for (int i = 0; i < top.count; ++i) {
    const SnatDestination& entry = top.entries[i];
    uint64_t halves[2];
    std::memcpy(halves, entry.address.bytes, sizeof halves);
    slot.words[i][0].store(halves[0], std::memory_order_relaxed);
    slot.words[i][1].store(halves[1], std::memory_order_relaxed);
    slot.words[i][2].store(uint64_t(entry.address.family) | (uint64_t(entry.protocol) << 8) | (uint64_t(entry.port) << 16),
                           std::memory_order_relaxed);
    slot.words[i][3].store(entry.ports_in_use, std::memory_order_relaxed);
  }
  slot.sequence.store(sequence + 2, std::memory_order_release);
}

bool read_top_destinations(const SnatTopDestinationsSlot& slot, SnatTopDestinations& out, uint32_t& untracked) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    const uint64_t before = slot.sequence.load(std::memory_order_acquire);
    if (before & 1) continue;
    SnatTopDestinations copy;
    copy.count = uint8_t(std::min<uint64_t>(slot.count.load(std::memory_order_relaxed), kSnatTopDestinations));
    const uint32_t untracked_copy = uint32_t(slot.untracked_bindings.load(std::memory_order_relaxed));
    for (int i = 0; i < copy.count; ++i) {
      SnatDestination& entry = copy.entries[i];
      const uint64_t halves[2] = {slot.words[i][0].load(std::memory_order_relaxed),
                                  slot.words[i][1].load(std::memory_order_relaxed)};
      std::memcpy(entry.address.bytes, halves, sizeof halves);
      const uint64_t meta = slot.words[i][2].load(std::memory_order_relaxed);
      entry.address.family = uint8_t(meta);
      entry.protocol = uint8_t(meta >> 8);
      entry.port = uint16_t(meta >> 16);
      entry.ports_in_use = uint32_t(slot.words[i][3].load(std::memory_order_relaxed));
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.sequence.load(std::memory_order_relaxed) != before) continue;
    out = copy;
    untracked = untracked_copy;
    return true;
  }
  out = SnatTopDestinations{};
  untracked = 0;
  return false;
}

SnatTopDestinations merge_top_destinations(const std::vector<const SnatTopDestinationsSlot*>& slots,
                                           uint32_t& untracked) {
  std::vector<SnatDestination> all;
  untracked = 0;
  for (const SnatTopDestinationsSlot* slot : slots) {
    SnatTopDestinations top;
    uint32_t worker_untracked = 0;
    if (!slot || !read_top_destinations(*slot, top, worker_untracked)) continue;
    untracked += worker_untracked;
    for (int i = 0; i < top.count; ++i) {
      const SnatDestination& entry = top.entries[i];
      auto same = std::find_if(all.begin(), all.end(), [&](const SnatDestination& seen) {
        return seen.address == entry.address && seen.port == entry.port && seen.protocol == entry.protocol;
      });
      if (same == all.end()) all.push_back(entry);
      else same->ports_in_use += entry.ports_in_use;
    }
  }
  SnatTopDestinations merged;
  for (const SnatDestination& entry : all) merged.offer(entry);
  return merged;
}

std::string format_destination(const SnatDestination& destination) {
  const std::string address = format_ip(destination.address);
  const char* protocol = destination.protocol == 6 ? "tcp" : destination.protocol == 17 ? "udp" : "icmp";
  const std::string host = destination.address.family == 6 ? "[" + address + "]" : address;
  return host + ":" + std::to_string(destination.port) + "/" + protocol;
}

}  // namespace sluice

#include "dataplane/nat/snat_table.h"

#include <algorithm>
#include <cstring>

#include "dataplane/nat/hash_mix.h"

namespace sluice {

namespace {

uint64_t hash_key(const NatKey& key, uint64_t seed) {
  uint64_t words[sizeof(NatKey) / 8];
  std::memcpy(words, &key, sizeof words);
  uint64_t hash = seed;
  for (uint64_t word : words) hash = mix64(hash ^ word) + 0x9e3779b97f4a7c15ULL;
  return hash;
}

}  // namespace

bool SnatTable::init(const SnatTableSettings& settings) {
  if (settings.capacity == 0 || settings.addresses.empty() || settings.addresses.size() > 65535 ||
      settings.ports.last < settings.ports.first || settings.ports.first == 0)
    return false;
  slice_ = settings.ports;
  addresses_ = settings.addresses;
  quarantine_ticks_ = settings.quarantine_ticks;
  hash_seed_ = settings.hash_seed;
  max_probes_ = std::max<uint32_t>(1, settings.max_probes);
  bindings_.assign(settings.capacity, SnatBinding{});
  uint32_t buckets = 1;
  while (buckets < settings.capacity) buckets <<= 1;
  bucket_mask_ = buckets - 1;
  inside_heads_.assign(buckets, 0);
  outside_heads_.assign(buckets, 0);
  free_.resize(settings.capacity);
  for (uint32_t i = 0; i < settings.capacity; ++i) free_[i] = settings.capacity - 1 - i;
  free_count_ = settings.capacity;
  port_users_.assign(size_t(addresses_.size()) * slice_.size(), 0);
  ports_in_use_.assign(addresses_.size(), 0);
  destinations_.init(settings.capacity, settings.hash_seed ^ 0xde57);
  age_cursor_ = allocation_cursor_ = active_ = quarantined_ = 0;
  allocation_failures_ = 0;
  return true;
}

uint32_t SnatTable::bucket_of(const NatKey& key) const { return uint32_t(hash_key(key, hash_seed_)) & bucket_mask_; }

int32_t SnatTable::find_inside(const NatKey& key) const {
  if (bindings_.empty()) return -1;
  for (uint32_t link = inside_heads_[bucket_of(key)]; link != 0; link = bindings_[link - 1].next_inside)
    if (bindings_[link - 1].inside == key) return static_cast<int32_t>(link - 1);
  return -1;
}

int32_t SnatTable::find_outside(const NatKey& key) const {
  if (bindings_.empty()) return -1;
  for (uint32_t link = outside_heads_[bucket_of(key)]; link != 0; link = bindings_[link - 1].next_outside)
    if (bindings_[link - 1].outside == key) return static_cast<int32_t>(link - 1);
  return -1;
}

void SnatTable::link_inside(uint32_t index) {
  uint32_t& head = inside_heads_[bucket_of(bindings_[index].inside)];
  bindings_[index].next_inside = head;
  head = index + 1;
}

void SnatTable::link_outside(uint32_t index) {
  uint32_t& head = outside_heads_[bucket_of(bindings_[index].outside)];
  bindings_[index].next_outside = head;
  head = index + 1;
}

void SnatTable::unlink_inside(uint32_t index) {
  uint32_t* link = &inside_heads_[bucket_of(bindings_[index].inside)];
  while (*link != 0 && *link != index + 1) link = &bindings_[*link - 1].next_inside;
  if (*link != 0) *link = bindings_[index].next_inside;
  bindings_[index].next_inside = 0;
}

void SnatTable::unlink_outside(uint32_t index) {
  uint32_t* link = &outside_heads_[bucket_of(bindings_[index].outside)];
  while (*link != 0 && *link != index + 1) link = &bindings_[*link - 1].next_outside;
  if (*link != 0) *link = bindings_[index].next_outside;
  bindings_[index].next_outside = 0;
}

SnatAllocation SnatTable::allocate(const NatKey& inside, uint64_t now) {
  SnatAllocation result;
  if (bindings_.empty()) return result;
  uint32_t family_addresses = 0;
  for (const IpAddress& address : addresses_) family_addresses += address.family == inside.family;
  if (family_addresses == 0) {
    ++allocation_failures_;
    return result;
  }
  if (free_count_ == 0) {
    ++allocation_failures_;
    result.status = SnatAllocationStatus::table_full;
    return result;
  }
  const uint64_t hash = hash_key(inside, hash_seed_ ^ 0x5a17);
  const uint32_t slice = slice_.size();
  const uint32_t probes = std::min(max_probes_, slice);
  // Each allocation moves the cursor, so a client's successive flows to one server spread over
  // the slice instead of probing the same taken ports again.
  const uint32_t start_port = uint32_t((hash >> 20) + allocation_cursor_++) % slice;
  const uint32_t start_address = uint32_t(hash % family_addresses);
  for (uint32_t a = 0; a < family_addresses; ++a) {
    // The (start_address + a)-th address of the flow's family.
    uint32_t wanted = (start_address + a) % family_addresses;
    uint16_t address_index = 0;
    for (uint16_t i = 0; i < addresses_.size(); ++i) {
      if (addresses_[i].family != inside.family) continue;
      if (wanted-- == 0) {
        address_index = i;
        break;
      }
    }
    NatKey outside = inside;
    std::memcpy(outside.local, addresses_[address_index].bytes, 16);
    for (uint32_t p = 0; p < probes; ++p) {
      outside.local_port = static_cast<uint16_t>(slice_.first + (start_port + p) % slice);
      if (find_outside(outside) >= 0) continue;
      const uint32_t index = free_[--free_count_];
      SnatBinding& binding = bindings_[index];
      binding = SnatBinding{};
      binding.inside = inside;
      binding.outside = outside;
      binding.last_used = now;
      binding.address_index = address_index;
      binding.state = static_cast<uint8_t>(SnatBindingState::active);
      link_inside(index);
      link_outside(index);
      if (port_use(address_index, outside.local_port)++ == 0) ++ports_in_use_[address_index];
      binding.destination_tracked = destinations_.add(inside);
      ++active_;
      result.status = SnatAllocationStatus::ok;
      result.index = static_cast<int32_t>(index);
      return result;
    }
  }
  ++allocation_failures_;
  result.status = SnatAllocationStatus::ports_exhausted;
  return result;
}

void SnatTable::quarantine(uint32_t index, uint64_t now) {
  SnatBinding& binding = bindings_[index];
  unlink_inside(index);
  binding.state = static_cast<uint8_t>(SnatBindingState::quarantined);
  binding.quarantine_until = now + quarantine_ticks_;
  --active_;
  ++quarantined_;
}

void SnatTable::release(uint32_t index) {
  SnatBinding& binding = bindings_[index];
  unlink_outside(index);
  if (--port_use(binding.address_index, binding.outside.local_port) == 0) --ports_in_use_[binding.address_index];
  destinations_.remove(binding.inside, binding.destination_tracked);
  binding.state = static_cast<uint8_t>(SnatBindingState::free);
  --quarantined_;
  free_[free_count_++] = index;
}

void SnatTable::end(int32_t index, uint64_t now) {
  if (index < 0 || uint32_t(index) >= bindings_.size()) return;
  if (bindings_[index].state != static_cast<uint8_t>(SnatBindingState::active)) return;
  quarantine(uint32_t(index), now);
  if (quarantine_ticks_ == 0) release(uint32_t(index));
}

uint32_t SnatTable::age(uint64_t now, const SnatIdleTimeouts& idle, uint32_t budget) {
  uint32_t changed = 0;
  const uint32_t capacity = static_cast<uint32_t>(bindings_.size());
  for (uint32_t step = 0; step < budget && capacity != 0; ++step) {
    const uint32_t index = age_cursor_;
    age_cursor_ = age_cursor_ + 1 == capacity ? 0 : age_cursor_ + 1;
    SnatBinding& binding = bindings_[index];
    const auto state = static_cast<SnatBindingState>(binding.state);
    if (state == SnatBindingState::active) {
      const uint8_t protocol = binding.inside.protocol;
      const uint64_t limit = protocol == 6 ? idle.tcp : protocol == 17 ? idle.udp : idle.icmp;
      if (now > binding.last_used && now - binding.last_used > limit) {
        end(int32_t(index), now);
        ++changed;
      }
    } else if (state == SnatBindingState::quarantined && now >= binding.quarantine_until) {
      release(index);
      ++changed;
    }
  }
  return changed;
}

uint32_t SnatTable::fullest_address_ppm() const {
  uint32_t fullest = 0;
  for (uint32_t used : ports_in_use_) fullest = std::max(fullest, used);
  const uint32_t slice = slice_.size();
  return slice == 0 ? 0 : static_cast<uint32_t>(uint64_t(fullest) * 1'000'000 / slice);
}

}  // namespace sluice

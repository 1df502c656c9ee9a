#include "dataplane/policy/learned_addresses.h"

#include <algorithm>
#include <cstring>

namespace sluice {

size_t LearnedAddressTable::hash(uint16_t policy_slot, const IpAddress& address) {
  uint64_t h = 0x9E3779B97F4A7C15ull * (uint64_t(policy_slot) + 1) ^ address.family;
  for (int i = 0; i < 16; i += 8) {
    uint64_t word;
    std::memcpy(&word, address.bytes + i, 8);
    h = (h ^ word) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  return size_t(h);
}

std::unique_ptr<LearnedAddressTable> LearnedAddressTable::build(const std::vector<Input>& inputs,
                                                                const uint64_t (&consumed)[kMaxLearningWorkers]) {
  auto table = std::unique_ptr<LearnedAddressTable>(new LearnedAddressTable());
  size_t buckets = 16;
  while (buckets < inputs.size() * 2) buckets <<= 1;
  table->buckets_.assign(buckets, Entry{});
  std::memcpy(table->consumed_, consumed, sizeof table->consumed_);
  for (const Input& input : inputs) {
    if (input.expires_tsc == 0) continue;
    size_t i = hash(input.policy_slot, input.address) & (buckets - 1);
    while (table->buckets_[i].expires_tsc != 0) i = (i + 1) & (buckets - 1);
    Entry& entry = table->buckets_[i];
    entry.address = input.address;
    entry.policy_slot = input.policy_slot;
    entry.expires_tsc = input.expires_tsc;
    entry.name_offset = uint32_t(table->names_.size());
    entry.name_length = uint8_t(std::min<size_t>(input.name.size(), kMaxHostnameLength));
    table->names_.append(input.name, 0, entry.name_length);
    ++table->size_;
  }
  return table;
}

const LearnedAddressTable::Entry* LearnedAddressTable::find(uint16_t policy_slot, const IpAddress& address,
                                                            uint64_t now_tsc) const {
  if (size_ == 0) return nullptr;
  const size_t mask = buckets_.size() - 1;
  for (size_t i = hash(policy_slot, address) & mask;; i = (i + 1) & mask) {
    const Entry& entry = buckets_[i];
    if (entry.expires_tsc == 0) return nullptr;
    if (entry.policy_slot == policy_slot && entry.address == address)
      return entry.expires_tsc > now_tsc ? &entry : nullptr;
  }
}

}  // namespace sluice

#include "dataplane/route/neighbour_table.h"

#include <algorithm>
#include <cstring>

namespace sluice {

bool NeighbourTable::before(const Entry& a, uint8_t side, const IpAddress& address) {
  if (a.side != side) return a.side < side;
  if (a.address.family != address.family) return a.address.family < address.family;
  return std::memcmp(a.address.bytes, address.bytes, sizeof address.bytes) < 0;
}

void NeighbourTable::add(uint8_t side, const IpAddress& address, const MacAddress& mac) {
  entries_.push_back(Entry{side, address, mac});  // a repeat is resolved by seal()
  sealed_ = false;
}

void NeighbourTable::set_fallback(uint8_t side, uint8_t family, const MacAddress& mac) {
  if (side > 1 || (family != 4 && family != 6)) return;
  fallback_[side][family == 6] = mac;
}

void NeighbourTable::seal() {
  // Stable, so that of repeated (side, address) entries the last added comes last; that one is
  // kept.
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const Entry& a, const Entry& b) { return before(a, b.side, b.address); });
  std::vector<Entry> unique;
  unique.reserve(entries_.size());
  for (const Entry& entry : entries_) {
    if (!unique.empty() && unique.back().side == entry.side && unique.back().address == entry.address)
      unique.back() = entry;
    else
      unique.push_back(entry);
  }
  entries_ = std::move(unique);
  sealed_ = true;
}

bool NeighbourTable::find(uint8_t side, const IpAddress& address, MacAddress& mac) const {
  if (!sealed_) return false;  // an unsealed table is not searchable; seal() before publishing
  auto it = std::lower_bound(entries_.begin(), entries_.end(), address,
                             [side](const Entry& entry, const IpAddress& wanted) { return before(entry, side, wanted); });
  if (it != entries_.end() && it->side == side && it->address == address) {
    mac = it->mac;
    return true;
  }
  if (side > 1 || (address.family != 4 && address.family != 6)) return false;
  const MacAddress& fallback = fallback_[side][address.family == 6];
  if (fallback.is_zero()) return false;
  mac = fallback;
  return true;
}

}  // namespace sluice

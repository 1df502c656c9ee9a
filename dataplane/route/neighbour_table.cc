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
  for (Entry& entry : entries_) {
    if (entry.side == side && entry.address == address) {
      entry.mac = mac;
      return;
    }
  }
  entries_.push_back(Entry{side, address, mac});
  sealed_ = false;
}

void NeighbourTable::seal() {
  std::sort(entries_.begin(), entries_.end(),
            [](const Entry& a, const Entry& b) { return before(a, b.side, b.address); });
  sealed_ = true;
}

bool NeighbourTable::find(uint8_t side, const IpAddress& address, MacAddress& mac) const {
  if (!sealed_) return false;  // an unsealed table is not searchable; seal() before publishing
  auto it = std::lower_bound(entries_.begin(), entries_.end(), address,
                             [side](const Entry& entry, const IpAddress& wanted) { return before(entry, side, wanted); });
  if (it == entries_.end() || it->side != side || !(it->address == address)) return false;
  mac = it->mac;
  return true;
}

}  // namespace sluice

#include "controlplane/records/top_denied_destinations.h"

#include <algorithm>
#include <cstddef>

namespace sluice {

TopDeniedDestinations::TopDeniedDestinations() {
  counters_.reserve(kCapacity);
  by_count_.reserve(kCapacity);
  index_.reserve(kCapacity);  // never rehashes: it never holds more than kCapacity names
}

void TopDeniedDestinations::count(std::string_view destination) {
  ++total_;
  if (auto it = index_.find(destination); it != index_.end()) {
    Counter& counter = counters_[it->second];
    ++counter.count;
    sift_down(counter.heap_index);
    return;
  }
  if (counters_.size() < kCapacity) {
    auto slot = static_cast<uint32_t>(counters_.size());
    Counter& counter = counters_.emplace_back();
    counter.name.assign(destination);
    counter.count = 1;
    counter.heap_index = by_count_.size();
    by_count_.push_back(slot);
    sift_up(counter.heap_index);
    index_.emplace(counter.name, slot);
    return;
  }
  // Full: the least counted name gives its counter up; the newcomer inherits its count as error.
  uint32_t slot = by_count_.front();
  Counter& counter = counters_[slot];
  index_.erase(counter.name);
  counter.name.assign(destination);  // reuses the string's buffer when it is large enough
  counter.error = counter.count;
  ++counter.count;
  index_.emplace(counter.name, slot);
  sift_down(0);
}

void TopDeniedDestinations::sift_up(size_t at) {
  while (at > 0) {
    size_t parent = (at - 1) / 2;
    if (!(counters_[by_count_[at]].count < counters_[by_count_[parent]].count)) return;
    std::swap(by_count_[at], by_count_[parent]);
    counters_[by_count_[at]].heap_index = at;
    counters_[by_count_[parent]].heap_index = parent;
    at = parent;
  }
}

void TopDeniedDestinations::sift_down(size_t at) {
  const size_t size = by_count_.size();
  while (true) {
    size_t least = at;
    for (size_t child : {2 * at + 1, 2 * at + 2})
      if (child < size && counters_[by_count_[child]].count < counters_[by_count_[least]].count) least = child;
    if (least == at) return;
    std::swap(by_count_[at], by_count_[least]);
    counters_[by_count_[at]].heap_index = at;
    counters_[by_count_[least]].heap_index = least;
    at = least;
  }
}

uint64_t TopDeniedDestinations::max_error() const {
  return counters_.size() < kCapacity ? 0 : counters_[by_count_.front()].count;
}

std::vector<std::pair<std::string, uint64_t>> TopDeniedDestinations::top(size_t limit) const {
  // Partial selection over the fixed-size table: no copy of more than `limit` names.
  std::vector<const Counter*> ranked;
  ranked.reserve(counters_.size());
  for (const Counter& counter : counters_) ranked.push_back(&counter);
  auto higher = [](const Counter* a, const Counter* b) {
    uint64_t sure_a = a->count - a->error, sure_b = b->count - b->error;
    return sure_a != sure_b ? sure_a > sure_b : a->name < b->name;
  };
  limit = std::min(limit, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(limit), ranked.end(), higher);
  std::vector<std::pair<std::string, uint64_t>> result;
  result.reserve(limit);
  for (size_t i = 0; i < limit; ++i) result.emplace_back(ranked[i]->name, ranked[i]->count - ranked[i]->error);
  return result;
}

}  // namespace sluice

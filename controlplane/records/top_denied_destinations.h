// The most denied destinations in fixed memory, however many distinct names are denied: the
// space-saving algorithm (Metwally, Agrawal, El Abbadi 2005) over kCapacity counters.
//
// While fewer than kCapacity distinct names were seen every count is exact. Past that, a name
// not counted takes the counter of the least counted one and inherits its count as `error`.
// What that guarantees, with N the denials counted so far:
// - every name denied more than N / kCapacity times holds a counter (it cannot be pushed out);
// - a name's true count lies in [count - error, count], and error ≤ N / kCapacity;
// - a name that held its counter since its first denial has error 0: its count is exact.
// top() ranks by the guaranteed part (count - error) and reports it, so a figure it prints is
// never above the truth and is below it by at most N / kCapacity.
// Control thread only (the sink's drain and `sluicectl stats` run on it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sluice {

class TopDeniedDestinations {
 public:
  static constexpr size_t kCapacity = 4096;

  TopDeniedDestinations();
  void count(std::string_view destination);

  // The `limit` names with the highest guaranteed count, highest first (ties by name), each
  // with its guaranteed count (count - error).
  std::vector<std::pair<std::string, uint64_t>> top(size_t limit) const;

  uint64_t total() const { return total_; }            // N: denials counted
  size_t tracked() const { return counters_.size(); }  // at most kCapacity
  // The most any reported count can be below the truth (the least counter once all are in use).
  uint64_t max_error() const;

 private:
  struct Counter {
    std::string name;
    uint64_t count = 0;
    uint64_t error = 0;
    size_t heap_index = 0;  // where this counter sits in by_count_
  };
  // Restore the min-heap after by_count_[at] was added (up) or its count grew (down).
  void sift_up(size_t at);
  void sift_down(size_t at);

  std::vector<Counter> counters_;  // reserved at kCapacity: never reallocates
  std::vector<uint32_t> by_count_;  // min-heap of indexes into counters_, least count on top
  // Keys view the name strings in counters_; the entry is erased before its name changes.
  std::unordered_map<std::string_view, uint32_t> index_;
  uint64_t total_ = 0;
};

}  // namespace sluice

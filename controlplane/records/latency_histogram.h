// A Prometheus-style histogram of seconds with fixed buckets. Control thread: observe();
// metrics scrapes: read. Relaxed atomics: a scrape may see a sample in `count` a moment before
// its bucket, never a torn value.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace sluice {

class LatencyHistogram {
 public:
  static constexpr std::array<double, 8> kUpperBounds = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 1.0, 5.0};

  void observe(double seconds) {
    size_t bucket = 0;
    while (bucket < kUpperBounds.size() && seconds > kUpperBounds[bucket]) ++bucket;
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);  // the last one is +Inf
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
  // Samples at or below kUpperBounds[i] (cumulative, as Prometheus wants).
  uint64_t cumulative(size_t i) const {
    uint64_t total = 0;
    for (size_t b = 0; b <= i && b < buckets_.size(); ++b) total += buckets_[b].load(std::memory_order_relaxed);
    return total;
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum_seconds() const { return double(sum_ns_.load(std::memory_order_relaxed)) / 1e9; }

 private:
  std::array<std::atomic<uint64_t>, kUpperBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace sluice

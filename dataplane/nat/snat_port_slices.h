// The SNAT port range split into one slice a worker. A worker hands out source ports only from
// its own slice, so the destination port of a return packet names the worker that owns its
// translation (the port's RSS or steering sends it there; with one worker, every port is its).
// Pure, inline.
#pragma once

#include <cstdint>

namespace sluice {

struct PortSlice {
  uint16_t first = 0;
  uint16_t last = 0;  // inclusive
  uint32_t size() const { return uint32_t(last) - first + 1; }
};

class SnatPortSlices {
 public:
  // `port_min` <= `port_max` and 1 <= `workers` <= the range's size (config validation checks).
  SnatPortSlices(uint16_t port_min, uint16_t port_max, uint32_t workers)
      : port_min_(port_min), port_max_(port_max), workers_(workers == 0 ? 1 : workers) {
    const uint32_t range = uint32_t(port_max_) - port_min_ + 1;
    per_worker_ = range / workers_;
    if (per_worker_ == 0) per_worker_ = 1;
  }

  // Equal slices; the ports left over by the division belong to the last worker.
  PortSlice slice(uint32_t worker) const {
    PortSlice s;
    s.first = static_cast<uint16_t>(port_min_ + worker * per_worker_);
    s.last = worker + 1 >= workers_ ? port_max_ : static_cast<uint16_t>(s.first + per_worker_ - 1);
    return s;
  }

  // The worker owning `port`, or -1 when the port is outside the range (no translation of ours).
  int32_t worker_of(uint16_t port) const {
    if (port < port_min_ || port > port_max_) return -1;
    const uint32_t worker = (uint32_t(port) - port_min_) / per_worker_;
    return static_cast<int32_t>(worker >= workers_ ? workers_ - 1 : worker);
  }

  uint32_t workers() const { return workers_; }

 private:
  uint16_t port_min_;
  uint16_t port_max_;
  uint32_t workers_;
  uint32_t per_worker_;
};

}  // namespace sluice

// Owns the mbufs of established (cyclic) traffic: built before any clock starts and fed again
// and again, their addresses restamped by the feeder. Mbufs are "armed" with a second reference
// so that a packet the worker drops (rte_pktmbuf_free) would not return to its pool and get
// lost to the cycle: the run then stalls and reports it, instead of measuring something else.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/traffic.h"

struct rte_mbuf;
struct rte_mempool;

namespace sluice::bench {

class PacketStore {
 public:
  PacketStore() = default;
  ~PacketStore();
  PacketStore(const PacketStore&) = delete;
  PacketStore& operator=(const PacketStore&) = delete;

  // Copies `frame` into a new mbuf from a pool of its size class; null when memory ran out.
  rte_mbuf* add(const Bytes& frame);
  // Before each repetition: every mbuf holds two references (ours and the worker's).
  void arm();
  size_t size() const { return mbufs_.size(); }
  size_t bytes_reserved() const { return bytes_reserved_; }

 private:
  struct SizeClass {
    uint16_t data_room = 0;  // without headroom
    std::vector<rte_mempool*> pools;
    rte_mempool* current = nullptr;
  };
  rte_mempool* grow(SizeClass& size_class);

  SizeClass classes_[3] = {{128, {}, nullptr}, {1024, {}, nullptr}, {2048, {}, nullptr}};
  std::vector<rte_mbuf*> mbufs_;
  size_t bytes_reserved_ = 0;
};

}  // namespace sluice::bench

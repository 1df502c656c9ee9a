#include "bench/packet_store.h"

#include <atomic>
#include <cstring>

#include <rte_mbuf.h>
#include <rte_mempool.h>

namespace sluice::bench {

namespace {
// Pools grow in chunks so that a profile need not count its packets before building them.
constexpr unsigned kChunk = 65536;
std::atomic<unsigned> g_pool_number{0};
}  // namespace

PacketStore::~PacketStore() {
  for (auto* mbuf : mbufs_) {
    rte_mbuf_refcnt_set(mbuf, 1);
    rte_pktmbuf_free(mbuf);
  }
  for (auto& size_class : classes_)
    for (auto* pool : size_class.pools) rte_mempool_free(pool);
}

rte_mempool* PacketStore::grow(SizeClass& size_class) {
  std::string name = "bench_pkts_" + std::to_string(g_pool_number++);
  // No per-lcore cache: mbufs are taken here once and never go back while the store lives.
  auto* pool = rte_pktmbuf_pool_create(name.c_str(), kChunk, 0, 0,
                                       static_cast<uint16_t>(size_class.data_room + RTE_PKTMBUF_HEADROOM),
                                       SOCKET_ID_ANY);
  if (!pool) return nullptr;
  size_class.pools.push_back(pool);
  size_class.current = pool;
  bytes_reserved_ += size_t(kChunk) * rte_mempool_calc_obj_size(pool->elt_size, pool->flags, nullptr);
  return pool;
}

rte_mbuf* PacketStore::add(const Bytes& frame) {
  SizeClass* size_class = nullptr;
  for (auto& candidate : classes_)
    if (frame.size() <= candidate.data_room) {
      size_class = &candidate;
      break;
    }
  if (!size_class) return nullptr;
  rte_mbuf* mbuf = size_class->current ? rte_pktmbuf_alloc(size_class->current) : nullptr;
  if (!mbuf) {
    if (!grow(*size_class)) return nullptr;
    mbuf = rte_pktmbuf_alloc(size_class->current);
    if (!mbuf) return nullptr;
  }
  char* data = rte_pktmbuf_append(mbuf, static_cast<uint16_t>(frame.size()));
  std::memcpy(data, frame.data(), frame.size());
  mbufs_.push_back(mbuf);
  return mbuf;
}

void PacketStore::arm() {
  for (auto* mbuf : mbufs_) rte_mbuf_refcnt_set(mbuf, 2);
}

}  // namespace sluice::bench

// DPDK heap in use on every socket: what a table made with rte_malloc takes is the difference
// of two readings around its creation.
#pragma once

#include <cstddef>

#include <rte_lcore.h>
#include <rte_malloc.h>

namespace sluice::bench {

inline size_t dpdk_heap_bytes() {
  size_t total = 0;
  for (unsigned socket = 0; socket < rte_socket_count(); ++socket) {
    rte_malloc_socket_stats stats{};
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(socket), &stats) == 0) total += stats.heap_allocsz_bytes;
  }
  return total;
}

}  // namespace sluice::bench

#include "bench/stateful_baseline_loop.h"

#include <algorithm>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "bench/dpdk_heap.h"
#include "bench/passthrough_loop.h"
#include "bench/schedule.h"
#include "dataplane/worker/packet_processor.h"

namespace sluice::bench {

static_assert(kBurstSize <= RTE_HASH_LOOKUP_BULK_MAX, "one lookup a burst");

StatefulBaselineTable::~StatefulBaselineTable() {
  if (hash_) rte_hash_free(hash_);
  if (flow_packets_) rte_free(flow_packets_);
}

bool StatefulBaselineTable::build(const std::string& name, const std::vector<FiveTuple>& keys, uint32_t capacity,
                                  std::string& error) {
  // rte_hash refuses tiny tables, as the product's flow table knows.
  capacity_ = std::max<uint32_t>({capacity, static_cast<uint32_t>(keys.size()), 64});
  const size_t before = dpdk_heap_bytes();
  rte_hash_parameters params{};
  params.name = name.c_str();
  params.entries = capacity_;
  params.key_len = sizeof(FiveTuple);
  params.hash_func = rte_hash_crc;
  params.socket_id = SOCKET_ID_ANY;
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;  // every key fits, as in the product's table
  hash_ = rte_hash_create(&params);
  if (!hash_) {
    error = "rte_hash_create(" + name + "): " + rte_strerror(rte_errno);
    return false;
  }
  // Positions run from 0 to entries - 1 (no multi-writer key caches).
  flow_packets_ = static_cast<uint64_t*>(rte_zmalloc_socket(name.c_str(), sizeof(uint64_t) * capacity_,
                                                            RTE_CACHE_LINE_SIZE, SOCKET_ID_ANY));
  if (!flow_packets_) {
    error = "cannot allocate the stateful baseline's flow states";
    return false;
  }
  for (const FiveTuple& key : keys) {
    int32_t position = rte_hash_add_key(hash_, &key);
    if (position < 0 || static_cast<uint32_t>(position) >= capacity_) {
      error = "stateful baseline: cannot add a key (" + std::to_string(position) + ")";
      return false;
    }
  }
  bytes_ = dpdk_heap_bytes() - before;
  return true;
}

uint32_t StatefulBaselineTable::size() const { return hash_ ? static_cast<uint32_t>(rte_hash_count(hash_)) : 0; }

bool StatefulBaselineTable::contains(const FiveTuple& key) const {
  return hash_ && rte_hash_lookup(hash_, &key) >= 0;
}

uint64_t StatefulBaselineTable::packets_counted() const {
  uint64_t total = 0;
  for (uint32_t i = 0; flow_packets_ && i < capacity_; ++i) total += flow_packets_[i];
  return total;
}

int run_stateful_baseline_loop(void* arg) {
  auto& setup = *static_cast<StatefulBaselineSetup*>(arg);
  auto& counters = *setup.counters;
  const rte_hash* hash = setup.table->hash();
  uint64_t* flow_packets = setup.table->flow_packets();
  rte_mbuf* packets[kBurstSize];
  FiveTuple keys[kBurstSize];
  const void* key_pointers[kBurstSize];
  int32_t positions[kBurstSize];
  for (uint16_t i = 0; i < kBurstSize; ++i) key_pointers[i] = &keys[i];
  uint64_t misses = 0;
  while (!setup.stop->load(std::memory_order_relaxed)) {
    for (int side = 0; side < kSideCount; ++side) {
      uint16_t count = rte_eth_rx_burst(setup.ports[side], 0, packets, kBurstSize);
      if (count == 0) continue;
      // The headers of the whole burst are asked for before the first is read, as l3fwd does:
      // the feeder wrote them on the other core.
      for (uint16_t i = 0; i < count; ++i) rte_prefetch0(rte_pktmbuf_mtod(packets[i], const void*));
      uint64_t bytes = 0;
      for (uint16_t i = 0; i < count; ++i) {
        bytes += rte_pktmbuf_pkt_len(packets[i]);
        // Not IPv4 TCP/UDP: the zero key, which no table holds (a miss).
        if (!five_tuple_of_frame(rte_pktmbuf_mtod(packets[i], const uint8_t*), rte_pktmbuf_data_len(packets[i]),
                                 keys[i]))
          keys[i] = FiveTuple{};
      }
      rte_hash_lookup_bulk(hash, key_pointers, count, positions);
      for (uint16_t i = 0; i < count; ++i) {
        if (positions[i] >= 0) ++flow_packets[positions[i]];
        else ++misses;
      }
      forward_burst(setup.ports, counters, side, packets, count, bytes);
    }
  }
  setup.lookup_misses = misses;
  return 0;
}

std::vector<FiveTuple> schedule_keys(const Schedule& schedule) {
  std::vector<FiveTuple> keys;
  if (schedule.cyclic) {
    keys = schedule.flow_keys;
  } else if (schedule.arena) {
    for (const auto& stream : schedule.streams)
      for (uint32_t frame : stream.frames) {
        FiveTuple key;
        if (five_tuple_of_frame(schedule.arena->data(frame), schedule.arena->copy_length(frame), key))
          keys.push_back(key);
      }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace sluice::bench

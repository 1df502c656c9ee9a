#include "dataplane/flow/flow_table.h"

#include <algorithm>
#include <cstring>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

namespace sluice {

const char* to_string(FlowVerdict verdict) {
  switch (verdict) {
    case FlowVerdict::pending: return "PENDING";
    case FlowVerdict::allowed: return "ALLOW";
    case FlowVerdict::denied_enforced: return "DROP";
    case FlowVerdict::denied_dry_run: return "DRY_RUN_DENIAL";
  }
  return "UNKNOWN";
}

const char* to_string(DestinationType type) {
  switch (type) {
    case DestinationType::ip: return "IP";
    case DestinationType::sni: return "SNI";
    case DestinationType::http_host: return "HTTP_HOST";
    case DestinationType::dns: return "DNS";
    case DestinationType::quic_sni: return "QUIC_SNI";
  }
  return "UNKNOWN";
}

const char* to_string(FlowState state) {
  switch (state) {
    case FlowState::open: return "open";
    case FlowState::syn_sent: return "syn_sent";
    case FlowState::established: return "established";
    case FlowState::closing: return "closing";
    case FlowState::closed: return "closed";
  }
  return "unknown";
}

namespace {
constexpr uint32_t kMinHashEntries = 64;

// rte_hash has vector compares for keys of 16, 32, 48… bytes; a 40-byte FlowKey would get
// libc's memcmp through a call it cannot inline. Equality is all rte_hash asks (0: equal):
// five 8-byte words, without a branch a byte.
static_assert(sizeof(FlowKey) == 5 * sizeof(uint64_t));
int flow_keys_differ(const void* stored, const void* wanted, size_t) {
  uint64_t a[5], b[5];
  std::memcpy(a, stored, sizeof a);
  std::memcpy(b, wanted, sizeof b);
  return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) != 0;
}
}  // namespace

FlowTable::~FlowTable() {
  if (hash_) rte_hash_free(hash_);
}

bool FlowTable::init(const std::string& name, uint32_t capacity, int socket_id, std::string& error) {
  rte_hash_parameters params{};
  params.name = name.c_str();
  // rte_hash refuses tiny tables; the capacity promise is kept by insert() either way.
  params.entries = std::max<uint32_t>(capacity, kMinHashEntries);
  params.key_len = sizeof(FlowKey);
  params.hash_func = rte_hash_crc;
  params.socket_id = socket_id;
  // The extendable bucket table makes `capacity` a promise: without it a crowded bucket can
  // refuse an insert long before the table is full.
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  hash_ = rte_hash_create(&params);
  if (!hash_) {
    error = "rte_hash_create(" + name + "): " + rte_strerror(rte_errno);
    return false;
  }
  rte_hash_set_cmp_func(hash_, flow_keys_differ);
  capacity_ = capacity;
  // rte_hash may hand out positions up to its internal size, which rounds capacity up.
  size_t positions = static_cast<size_t>(rte_hash_max_key_id(hash_)) + 1;
  entries_.resize(positions);
  names_.reset(new FlowName[positions]);  // default-initialised: pages are touched only when used
  return true;
}

void FlowTable::lookup_bulk(const FlowKey* const* keys, uint32_t count, int32_t* positions) const {
  rte_hash_lookup_bulk(hash_, reinterpret_cast<const void**>(const_cast<const FlowKey**>(keys)), count, positions);
}

int32_t FlowTable::insert(const FlowKey& key) {
  if (size() >= capacity_) {
    int32_t existing = rte_hash_lookup(hash_, &key);
    return existing;  // present → its position; absent → negative: the table is full
  }
  return rte_hash_add_key(hash_, &key);
}

bool FlowTable::key_at(int32_t position, FlowKey& key) const {
  void* stored = nullptr;
  if (rte_hash_get_key_with_position(hash_, position, &stored) != 0 || !stored) return false;
  std::memcpy(&key, stored, sizeof key);
  return true;
}

void FlowTable::remove(int32_t position) {
  FlowEntry& flow = entry(position);
  flow.in_use = false;
  void* key = nullptr;
  if (rte_hash_get_key_with_position(hash_, position, &key) == 0) rte_hash_del_key(hash_, key);
}

uint32_t FlowTable::size() const { return static_cast<uint32_t>(rte_hash_count(hash_)); }

void FlowTable::for_each(const std::function<void(const FlowKey&, const FlowEntry&)>& visit) const {
  const void* key = nullptr;
  void* data = nullptr;
  uint32_t next = 0;
  int32_t position;
  while ((position = rte_hash_iterate(hash_, &key, &data, &next)) >= 0) {
    const auto& entry = entries_[static_cast<size_t>(position)];
    if (entry.in_use) visit(*static_cast<const FlowKey*>(key), entry);
  }
}

}  // namespace sluice

#include "dataplane/nat/dns_forwarder.h"

#include <cstring>

#include "dataplane/nat/address_rewrite.h"
#include "dataplane/nat/hash_mix.h"

namespace sluice {

namespace {

bool udp_or_tcp_whole(const ParsedPacket& packet) {
  return (packet.l4_protocol == kIpProtoUdp || packet.l4_protocol == kIpProtoTcp) && !packet.is_later_fragment &&
         (packet.ip_version == 4 || packet.ip_version == 6);
}

}  // namespace

bool DnsForwardTable::init(uint32_t capacity, uint64_t idle_ticks, uint64_t hash_seed) {
  if (capacity == 0) return false;
  entries_.assign(capacity, Entry{});
  uint32_t buckets = 1;
  while (buckets < capacity) buckets <<= 1;
  mask_ = buckets - 1;
  heads_.assign(buckets, 0);
  free_.resize(capacity);
  for (uint32_t i = 0; i < capacity; ++i) free_[i] = capacity - 1 - i;
  free_count_ = capacity;
  seed_ = hash_seed;
  idle_ticks_ = idle_ticks;
  cursor_ = in_use_ = 0;
  return true;
}

uint32_t DnsForwardTable::bucket_of(const NatKey& key) const {
  uint64_t words[sizeof(NatKey) / 8];
  std::memcpy(words, &key, sizeof words);
  uint64_t hash = seed_;
  for (uint64_t word : words) hash = mix64(hash ^ word) + 0x9e3779b97f4a7c15ULL;
  return uint32_t(hash) & mask_;
}

int32_t DnsForwardTable::find(const NatKey& key) const {
  if (entries_.empty()) return -1;
  for (uint32_t link = heads_[bucket_of(key)]; link != 0; link = entries_[link - 1].next)
    if (entries_[link - 1].key == key) return int32_t(link - 1);
  return -1;
}

void DnsForwardTable::remove(uint32_t index) {
  uint32_t* link = &heads_[bucket_of(entries_[index].key)];
  while (*link != 0 && *link != index + 1) link = &entries_[*link - 1].next;
  if (*link != 0) *link = entries_[index].next;
  entries_[index].used = false;
  entries_[index].next = 0;
  free_[free_count_++] = index;
  --in_use_;
}

DnsForwardStatus DnsForwardTable::forward_query(std::span<uint8_t> frame, ParsedPacket& packet, const IpAddress& resolver,
                                                uint64_t now) {
  if (!udp_or_tcp_whole(packet) || packet.dst_port != kDnsPort || entries_.empty()) return DnsForwardStatus::malformed;
  if (resolver.family != packet.ip_version) return DnsForwardStatus::no_resolver;
  const NatKey key = make_nat_key(packet.l4_protocol, packet.src, packet.src_port, resolver, kDnsPort);
  int32_t index = find(key);
  if (index < 0) {
    if (free_count_ == 0) return DnsForwardStatus::table_full;
    index = int32_t(free_[--free_count_]);
    Entry& entry = entries_[index];
    entry.key = key;
    entry.asked = packet.dst;
    entry.used = true;
    uint32_t& head = heads_[bucket_of(key)];
    entry.next = head;
    head = uint32_t(index) + 1;
    ++in_use_;
  }
  // A query from the same client port to another own address of the same family reuses the
  // entry: the answer then comes from the address asked last.
  Entry& entry = entries_[index];
  entry.asked = packet.dst;
  entry.last_used = now;
  const IpAddress asked = packet.dst;
  if (!rewrite_address(frame, packet, false, resolver)) {
    packet.dst = asked;
    remove(uint32_t(index));
    return DnsForwardStatus::malformed;
  }
  return DnsForwardStatus::forwarded;
}

DnsForwardStatus DnsForwardTable::restore_answer(std::span<uint8_t> frame, ParsedPacket& packet, uint64_t now) {
  if (!udp_or_tcp_whole(packet) || packet.src_port != kDnsPort) return DnsForwardStatus::malformed;
  const NatKey key = make_nat_key(packet.l4_protocol, packet.dst, packet.dst_port, packet.src, kDnsPort);
  const int32_t index = find(key);
  if (index < 0) return DnsForwardStatus::not_ours;
  Entry& entry = entries_[index];
  entry.last_used = now;
  if (!rewrite_address(frame, packet, true, entry.asked)) return DnsForwardStatus::malformed;
  return DnsForwardStatus::restored;
}

uint32_t DnsForwardTable::age(uint64_t now, uint32_t budget) {
  uint32_t removed = 0;
  const uint32_t capacity = uint32_t(entries_.size());
  for (uint32_t step = 0; step < budget && capacity != 0; ++step) {
    const uint32_t index = cursor_;
    cursor_ = cursor_ + 1 == capacity ? 0 : cursor_ + 1;
    const Entry& entry = entries_[index];
    if (entry.used && now > entry.last_used && now - entry.last_used > idle_ticks_) {
      remove(index);
      ++removed;
    }
  }
  return removed;
}

const char* to_string(DnsForwardStatus status) {
  switch (status) {
    case DnsForwardStatus::forwarded: return "forwarded";
    case DnsForwardStatus::restored: return "restored";
    case DnsForwardStatus::not_ours: return "not_ours";
    case DnsForwardStatus::no_resolver: return "no_resolver";
    case DnsForwardStatus::table_full: return "table_full";
    case DnsForwardStatus::malformed: return "malformed";
  }
  return "unknown";
}

}  // namespace sluice

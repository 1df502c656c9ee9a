#include "dataplane/flow/dns_pending_queries.h"

#include <cstring>

namespace sluice {

namespace {

uint64_t mix(uint64_t hash, const void* data, size_t length) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < length; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ull;  // FNV-1a
  return hash;
}

}  // namespace

uint64_t DnsPendingQueries::name_hash(std::string_view name) {
  return mix(0xcbf29ce484222325ull ^ name.size(), name.data(), name.size());
}

void DnsPendingQueries::init(uint32_t capacity, uint64_t deadline_tsc) {
  uint32_t size = kWays;
  while (size < capacity) size <<= 1;
  entries_.assign(size, Entry{});
  set_mask_ = size / kWays - 1;
  deadline_tsc_ = deadline_tsc;
}

bool DnsPendingQueries::same_transaction(const Entry& entry, const DnsTransaction& t) {
  return entry.id == t.id && entry.client_port == t.client_port && entry.resolver_port == t.resolver_port &&
         entry.protocol == t.protocol && entry.client == t.client && entry.resolver == t.resolver;
}

bool DnsPendingQueries::same_question(const Entry& entry, const DnsTransaction& t) {
  return entry.query_type == t.query_type && entry.query_class == t.query_class &&
         entry.name_hash == name_hash(t.name);
}

// The question is not part of the hash: an answer with a changed question must find the
// query it pretends to answer, to be counted as such.
DnsPendingQueries::Entry* DnsPendingQueries::set_of(const DnsTransaction& t) {
  uint64_t hash = 0xcbf29ce484222325ull;
  hash = mix(hash, t.client.bytes, sizeof t.client.bytes);
  hash = mix(hash, t.resolver.bytes, sizeof t.resolver.bytes);
  hash = mix(hash, &t.client_port, sizeof t.client_port);
  hash = mix(hash, &t.resolver_port, sizeof t.resolver_port);
  hash = mix(hash, &t.id, sizeof t.id);
  hash = mix(hash, &t.protocol, sizeof t.protocol);
  return &entries_[(uint32_t(hash ^ (hash >> 32)) & set_mask_) * kWays];
}

bool DnsPendingQueries::remember(const DnsTransaction& query, uint64_t now_tsc) {
  if (entries_.empty()) return false;
  Entry* set = set_of(query);
  Entry* slot = nullptr;
  for (uint32_t way = 0; way < kWays && !slot; ++way)
    if (set[way].expires_tsc && same_transaction(set[way], query)) slot = &set[way];
  for (uint32_t way = 0; way < kWays && !slot; ++way)
    if (set[way].expires_tsc <= now_tsc) slot = &set[way];  // free or past its deadline
  bool evicted = false;
  if (!slot) {
    slot = &set[0];
    for (uint32_t way = 1; way < kWays; ++way)
      if (set[way].expires_tsc < slot->expires_tsc) slot = &set[way];
    evicted = true;
  }
  slot->expires_tsc = now_tsc + deadline_tsc_ + 1;  // never 0, which means free
  slot->client = query.client;
  slot->resolver = query.resolver;
  slot->client_port = query.client_port;
  slot->resolver_port = query.resolver_port;
  slot->id = query.id;
  slot->query_type = query.query_type;
  slot->query_class = query.query_class;
  slot->protocol = query.protocol;
  slot->name_hash = name_hash(query.name);
  return evicted;
}

DnsAnswerMatch DnsPendingQueries::take(const DnsTransaction& answer, uint64_t now_tsc) {
  if (entries_.empty()) return DnsAnswerMatch::no_query;
  Entry* set = set_of(answer);
  for (uint32_t way = 0; way < kWays; ++way) {
    Entry& entry = set[way];
    if (!entry.expires_tsc || !same_transaction(entry, answer)) continue;
    if (entry.expires_tsc <= now_tsc) {
      entry.expires_tsc = 0;
      return DnsAnswerMatch::late;
    }
    if (!same_question(entry, answer)) return DnsAnswerMatch::question_differs;
    entry.expires_tsc = 0;
    return DnsAnswerMatch::answered;
  }
  return DnsAnswerMatch::no_query;
}

}  // namespace sluice

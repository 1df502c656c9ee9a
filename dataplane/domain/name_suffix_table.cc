#include "dataplane/domain/name_suffix_table.h"

#include <algorithm>

#include "dataplane/domain/hostname.h"

namespace sluice {

namespace {

uint8_t answers(DomainMatchKind kind) {
  switch (kind) {
    case DomainMatchKind::exact: return 1;
    case DomainMatchKind::strict_subdomains: return 2;
    case DomainMatchKind::apex_and_subdomains: return 3;
  }
  return 0;
}

std::string folded(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

// Little-endian fixed-width fields, so that a cached table reads back on any host that could
// have written it (the cache key names the platform anyway).
void put(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

struct Reader {
  std::string_view bytes;
  size_t at = 0;
  bool ok = true;
  uint64_t get(int width) {
    if (!ok || bytes.size() - at < size_t(width)) {
      ok = false;
      return 0;
    }
    uint64_t value = 0;
    for (int i = 0; i < width; ++i) value |= uint64_t(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    at += size_t(width);
    return value;
  }
};

uint64_t checksum(std::string_view bytes) {
  uint64_t hash = NameSuffixTable::kHashBasis;
  for (unsigned char c : bytes) hash = NameSuffixTable::hash_step(hash, c);
  return hash;
}

constexpr char kFormat[] = "sluice-name-suffix-table-1";

}  // namespace

bool NameSuffixTable::holds(std::string_view base) {
  if (base.empty() || base.size() > kMaxHostnameLength || base.back() == '.') return false;
  char normalised[kMaxHostnameLength];
  size_t length = 0;
  return normalize_hostname(base, normalised, length) == HostnameStatus::ok && length == base.size();
}

NameSuffixTable::NameSuffixTable(const std::vector<const DomainRule*>& rules) {
  struct Keyed {
    std::string key;
    const DomainRule* rule;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(rules.size());
  for (const DomainRule* rule : rules) keyed.push_back({folded(rule->base), rule});
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.key != b.key) return a.key < b.key;
    if (a.rule->id != b.rule->id) return a.rule->id < b.rule->id;
    return a.rule->kind < b.rule->kind;
  });
  size_t keys = 0;
  for (size_t i = 0; i < keyed.size(); ++i)
    if (i == 0 || keyed[i].key != keyed[i - 1].key) ++keys;
  if (keys == 0) return;
  size_t capacity = 8;
  while (capacity < 2 * keys) capacity *= 2;
  slots_.resize(capacity);
  entries_.reserve(keyed.size());
  const size_t mask = capacity - 1;
  for (size_t i = 0; i < keyed.size();) {
    const std::string& key = keyed[i].key;
    Slot slot;
    slot.key_offset = static_cast<uint32_t>(keys_.size());
    slot.key_length = static_cast<uint16_t>(key.size());
    slot.first_entry = static_cast<uint32_t>(entries_.size());
    keys_ += key;
    for (; i < keyed.size() && keyed[i].key == key; ++i) {
      entries_.push_back({keyed[i].rule->id, keyed[i].rule->kind});
      slot.kinds |= answers(keyed[i].rule->kind);
    }
    slot.entry_count = static_cast<uint32_t>(entries_.size()) - slot.first_entry;
    uint64_t hash = kHashBasis;
    for (size_t k = key.size(); k > 0; --k) hash = hash_step(hash, static_cast<unsigned char>(key[k - 1]));
    slot.hash = finish(hash);
    size_t at = slot.hash & mask;
    while (slots_[at].entry_count != 0) at = (at + 1) & mask;
    slots_[at] = slot;
    ++key_count_;
  }
}

std::string NameSuffixTable::to_bytes() const {
  std::string out(kFormat, sizeof kFormat);
  put(out, slots_.size(), 8);
  put(out, keys_.size(), 8);
  put(out, entries_.size(), 8);
  put(out, key_count_, 8);
  for (const Slot& slot : slots_) {
    put(out, slot.hash, 4);
    put(out, slot.key_offset, 4);
    put(out, slot.first_entry, 4);
    put(out, slot.entry_count, 4);
    put(out, slot.key_length, 2);
    put(out, slot.kinds, 1);
  }
  out += keys_;
  for (const Entry& entry : entries_) {
    put(out, entry.id, 4);
    put(out, static_cast<uint8_t>(entry.kind), 1);
  }
  put(out, checksum(out), 8);
  return out;
}

bool NameSuffixTable::from_bytes(std::string_view bytes, NameSuffixTable& table) {
  table = NameSuffixTable();
  if (bytes.size() < sizeof kFormat + 8 || bytes.compare(0, sizeof kFormat, std::string_view(kFormat, sizeof kFormat)) != 0)
    return false;
  const std::string_view body = bytes.substr(0, bytes.size() - 8);
  Reader tail{bytes.substr(bytes.size() - 8)};
  if (tail.get(8) != checksum(body)) return false;

  Reader in{body, sizeof kFormat};
  const uint64_t slot_count = in.get(8), key_bytes = in.get(8), entry_count = in.get(8), key_count = in.get(8);
  // Sizes first, so that nothing below reserves memory a damaged header asks for.
  const uint64_t expected = sizeof kFormat + 32 + slot_count * 19 + key_bytes + entry_count * 5;
  if (!in.ok || slot_count > (1ull << 32) || key_bytes > (1ull << 32) || entry_count > (1ull << 32) ||
      expected != body.size())
    return false;
  if (slot_count != 0 && (slot_count & (slot_count - 1)) != 0) return false;
  if (key_count >= slot_count && slot_count != 0) return false;  // a lookup needs an empty slot to stop at
  table.slots_.resize(slot_count);
  size_t occupied = 0;
  for (Slot& slot : table.slots_) {
    slot.hash = static_cast<uint32_t>(in.get(4));
    slot.key_offset = static_cast<uint32_t>(in.get(4));
    slot.first_entry = static_cast<uint32_t>(in.get(4));
    slot.entry_count = static_cast<uint32_t>(in.get(4));
    slot.key_length = static_cast<uint16_t>(in.get(2));
    slot.kinds = static_cast<uint8_t>(in.get(1));
    if (slot.entry_count == 0) continue;
    ++occupied;
    if (uint64_t(slot.key_offset) + slot.key_length > key_bytes ||
        uint64_t(slot.first_entry) + slot.entry_count > entry_count || slot.kinds > 3)
      return false;
  }
  if (occupied != key_count) return false;
  table.keys_.assign(body.substr(in.at, key_bytes));
  in.at += key_bytes;
  table.entries_.resize(entry_count);
  for (Entry& entry : table.entries_) {
    entry.id = static_cast<uint32_t>(in.get(4));
    const uint64_t kind = in.get(1);
    if (kind > static_cast<uint8_t>(DomainMatchKind::apex_and_subdomains)) return false;
    entry.kind = static_cast<DomainMatchKind>(kind);
  }
  if (!in.ok || in.at != body.size()) return false;
  table.key_count_ = key_count;
  return true;
}

}  // namespace sluice

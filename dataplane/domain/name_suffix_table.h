// Exact ("example.com"), "*.example.com" and ".example.com" patterns as one open-addressing hash
// table keyed by the lower-cased base name: a name matches a pattern when the name itself, or one
// of its suffixes after a dot, is the pattern's key. A name has a handful of such suffixes, so a
// match is a handful of lookups whatever the number of patterns, where a literal scan over all
// of them misses cache at 100k names and slows down on names sharing a suffix.
//
// The table answers exactly what the Hyperscan literal database it replaces answers
// (literal_name_matcher.h: "\x01base\x02" and ".base\x02" searched in "\x01" + name + "\x02",
// ASCII letters folded), bytes outside host-name syntax included: a name is cut at each \x02 it
// holds, each piece ending there is looked up like a whole name, and "exact" only counts for a
// piece that starts the name or follows a \x01. Normalised names (the packet path's) are one piece.
//
// Built on the control thread; read by every worker at once (immutable once built). Lookups do no
// allocation and touch: one slot (hash check), then the key bytes and entries only on a hit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/domain/domain_rule.h"

namespace sluice {

class NameSuffixTable {
 public:
  struct Entry {
    uint32_t id = 0;
    DomainMatchKind kind = DomainMatchKind::exact;
  };

  // Whether `base` is a name the table can hold: host-name syntax (normalize_hostname accepts
  // it), no trailing dot. Anything else stays with Hyperscan.
  static bool holds(std::string_view base);

  // Builds from rules that all satisfy holds(). Rules with one base share a key; their entries
  // are kept in id order.
  explicit NameSuffixTable(const std::vector<const DomainRule*>& rules);
  NameSuffixTable() = default;

  // The table as bytes for the compile cache, and back. from_bytes refuses (false) anything that
  // is not exactly what to_bytes wrote, checking every offset, so a damaged file cannot make a
  // table that reads outside itself.
  std::string to_bytes() const;
  static bool from_bytes(std::string_view bytes, NameSuffixTable& table);

  // Calls `visit(const Entry&)` for every entry matching `name`, stopping when it returns true;
  // returns whether it stopped. An entry is visited once for each piece of the name it matches
  // (more than once only for names holding \x02). No allocation.
  template <typename Visit>
  bool for_each_hit(std::string_view name, Visit&& visit) const;

  size_t key_count() const { return key_count_; }
  size_t entry_count() const { return entries_.size(); }
  size_t memory_bytes() const {
    return slots_.size() * sizeof(Slot) + keys_.size() + entries_.size() * sizeof(Entry);
  }

  // The hash of a key, computed from its last byte back so that a name's suffixes are hashed in
  // one pass. Letters are folded by the caller.
  static constexpr uint64_t kHashBasis = 0xcbf29ce484222325ull;
  static uint64_t hash_step(uint64_t hash, unsigned char c) { return (hash ^ c) * 0x100000001b3ull; }

 private:
  struct Slot {
    uint32_t hash = 0;        // the key's finished hash, checked before the key bytes are read
    uint32_t key_offset = 0;  // into keys_
    uint32_t first_entry = 0; // into entries_
    uint32_t entry_count = 0; // 0: an empty slot
    uint16_t key_length = 0;
    uint8_t kinds = 0;        // bit 0: an entry answers exact lookups; bit 1: suffix lookups
    uint8_t unused = 0;
  };
  static constexpr uint8_t kAnswersExact = 1;
  static constexpr uint8_t kAnswersSuffix = 2;

  static uint32_t finish(uint64_t hash) {
    hash ^= hash >> 29;
    hash *= 0xbf58476d1ce4e5b9ull;
    hash ^= hash >> 32;
    return static_cast<uint32_t>(hash);
  }
  static char fold(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

  // The slot whose key equals name[begin, end) (letters folded), or nullptr.
  const Slot* find(const char* name, size_t length, uint32_t hash) const {
    if (slots_.empty() || length > UINT16_MAX) return nullptr;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.entry_count == 0) return nullptr;
      if (slot.hash != hash || slot.key_length != length) continue;
      const char* key = keys_.data() + slot.key_offset;
      size_t k = 0;
      while (k < length && fold(name[k]) == key[k]) ++k;
      if (k == length) return &slot;
    }
  }

  // Visits the entries of name[begin, end) that answer `wanted` lookups.
  template <typename Visit>
  bool visit_key(const char* name, size_t length, uint64_t hash, uint8_t wanted, Visit& visit) const {
    const Slot* slot = find(name, length, finish(hash));
    if (!slot || !(slot->kinds & wanted)) return false;
    for (uint32_t e = slot->first_entry; e < slot->first_entry + slot->entry_count; ++e) {
      const Entry& entry = entries_[e];
      const bool answers = entry.kind == DomainMatchKind::apex_and_subdomains ||
                           (wanted == kAnswersExact) == (entry.kind == DomainMatchKind::exact);
      if (answers && visit(entry)) return true;
    }
    return false;
  }

  std::vector<Slot> slots_;  // a power of two, at most half full; empty when there are no keys
  std::string keys_;         // every key's bytes, lower case
  std::vector<Entry> entries_;
  size_t key_count_ = 0;
};

template <typename Visit>
bool NameSuffixTable::for_each_hit(std::string_view name, Visit&& visit) const {
  if (slots_.empty()) return false;
  const char* bytes = name.data();
  // Pieces end at the name's end and at each \x02; walked from the last to the first.
  size_t end = name.size();
  for (;;) {
    uint64_t hash = kHashBasis;
    size_t begin = end;
    while (begin > 0) {
      const char c = bytes[begin - 1];
      if (c == '\x01' || c == '\x02') break;
      const char folded = fold(c);
      // A dot: the bytes after it, up to the piece's end, are a suffix ".base" can match.
      if (folded == '.' && begin < end && visit_key(bytes + begin, end - begin, hash, kAnswersSuffix, visit))
        return true;
      hash = hash_step(hash, static_cast<unsigned char>(folded));
      --begin;
    }
    const bool starts_name = begin == 0 || bytes[begin - 1] == '\x01';
    if (starts_name && begin < end && visit_key(bytes + begin, end - begin, hash, kAnswersExact, visit)) return true;
    // The previous piece ends at the last \x02 before this one's start.
    size_t p = begin;
    while (p > 0 && bytes[p - 1] != '\x02') --p;
    if (p == 0) return false;
    end = p - 1;
  }
}

}  // namespace sluice

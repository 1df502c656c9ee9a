// Puts back together an IP datagram split into fragments (IPv4, or an IPv6 fragment header) when
// it carries a piece of a message still being judged (a ClientHello or request head): its first
// fragment holds the TCP header, the rest hold bytes the judge must see. Fragments may come in
// any order and overlap; overlapping bytes that disagree are a conflict (which copy the server
// keeps is its stack's choice, so judging either would be a guess).
//
// Bounded: `slot_count` datagrams at once per worker, each at most `datagram_bytes` long and in
// at most kMaxDatagramFragments fragments; a slot lives `lifetime` from its first fragment.
// Worker-private; all memory allocated by init() on the control thread. Pure: no DPDK.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dataplane/parse/packet_parser.h"

namespace sluice {

enum class FragmentStatus : uint8_t {
  incomplete = 0,
  complete,   // datagram() holds the whole datagram
  conflict,   // overlaps bytes already received and disagrees with them
  malformed,  // a non-final fragment not a multiple of 8 bytes, bytes past the end, a second
              // different end, an empty fragment, or more than kMaxDatagramFragments fragments
  too_large,  // a byte past datagram_bytes
};

inline constexpr int kMaxDatagramFragments = 16;
inline constexpr int32_t kNoFragmentSlot = -1;

class FragmentReassembler {
 public:
  void init(uint32_t slot_count, uint32_t datagram_bytes, uint64_t lifetime_cycles);

  // Packet path. The slot of `fragment`'s datagram, or kNoFragmentSlot.
  int32_t find(const ParsedPacket& fragment, uint64_t now_tsc) const;
  // A free slot for `fragment`'s datagram; kNoFragmentSlot when none is free.
  int32_t start(const ParsedPacket& fragment, uint64_t now_tsc);
  // A slot in use past its lifetime (the caller frees what it holds for it, then releases it);
  // kNoFragmentSlot when there is none. Scans every slot: called only when start() failed.
  int32_t expired(uint64_t now_tsc) const;
  void release(int32_t slot);

  // Adds the fragment whose bytes (from its L4 header on) start `offset` bytes into the datagram.
  FragmentStatus add(int32_t slot, uint32_t offset, std::span<const uint8_t> bytes, bool more_fragments);
  // The whole datagram (its L4 header first), once add() said complete.
  std::span<const uint8_t> datagram(int32_t slot) const;

  uint32_t datagram_bytes() const { return datagram_bytes_; }
  uint32_t slots_in_use() const { return uint32_t(states_.size() - free_count_); }

 private:
  struct Range {
    uint32_t begin;
    uint32_t end;
  };
  struct State {
    uint8_t source[16];
    uint8_t destination[16];
    uint32_t id = 0;
    uint8_t protocol = 0;
    uint8_t family = 0;
    bool in_use = false;
    bool end_known = false;
    uint8_t fragments = 0;
    uint8_t range_count = 0;
    uint32_t end = 0;
    uint64_t expires_tsc = 0;
    Range ranges[kMaxDatagramFragments];  // sorted, disjoint, not touching
  };
  static bool same_datagram(const State& state, const ParsedPacket& packet);
  uint8_t* bytes_of(int32_t slot) { return storage_.get() + size_t(slot) * datagram_bytes_; }
  const uint8_t* bytes_of(int32_t slot) const { return storage_.get() + size_t(slot) * datagram_bytes_; }

  uint32_t datagram_bytes_ = 0;
  uint64_t lifetime_cycles_ = 0;
  std::vector<State> states_;
  std::vector<int32_t> free_slots_;
  uint32_t free_count_ = 0;
  std::unique_ptr<uint8_t[]> storage_;
};

}  // namespace sluice

#include "dataplane/flow/fragment_reassembler.h"

#include <algorithm>
#include <cstring>

namespace sluice {

void FragmentReassembler::init(uint32_t slot_count, uint32_t datagram_bytes, uint64_t lifetime_cycles) {
  datagram_bytes_ = datagram_bytes;
  lifetime_cycles_ = lifetime_cycles;
  states_.assign(slot_count, State{});
  free_slots_.resize(slot_count);
  for (uint32_t i = 0; i < slot_count; ++i) free_slots_[i] = int32_t(slot_count - 1 - i);
  free_count_ = slot_count;
  storage_.reset(new uint8_t[size_t(slot_count) * datagram_bytes]);  // untouched pages cost nothing
}

bool FragmentReassembler::same_datagram(const State& state, const ParsedPacket& packet) {
  return state.in_use && state.id == packet.fragment_id && state.protocol == packet.l4_protocol &&
         state.family == packet.ip_version && std::memcmp(state.source, packet.src.bytes, 16) == 0 &&
         std::memcmp(state.destination, packet.dst.bytes, 16) == 0;
}

int32_t FragmentReassembler::find(const ParsedPacket& fragment, uint64_t now_tsc) const {
  if (free_count_ == states_.size()) return kNoFragmentSlot;  // the usual case: nothing under reassembly
  for (size_t i = 0; i < states_.size(); ++i)
    if (same_datagram(states_[i], fragment) && states_[i].expires_tsc > now_tsc) return int32_t(i);
  return kNoFragmentSlot;
}

int32_t FragmentReassembler::start(const ParsedPacket& fragment, uint64_t now_tsc) {
  if (free_count_ == 0) return kNoFragmentSlot;
  const int32_t slot = free_slots_[--free_count_];
  State& state = states_[size_t(slot)];
  std::memcpy(state.source, fragment.src.bytes, 16);
  std::memcpy(state.destination, fragment.dst.bytes, 16);
  state.id = fragment.fragment_id;
  state.protocol = fragment.l4_protocol;
  state.family = fragment.ip_version;
  state.in_use = true;
  state.end_known = false;
  state.fragments = 0;
  state.range_count = 0;
  state.end = 0;
  state.expires_tsc = now_tsc + lifetime_cycles_;
  return slot;
}

int32_t FragmentReassembler::expired(uint64_t now_tsc) const {
  for (size_t i = 0; i < states_.size(); ++i)
    if (states_[i].in_use && states_[i].expires_tsc <= now_tsc) return int32_t(i);
  return kNoFragmentSlot;
}

void FragmentReassembler::release(int32_t slot) {
  if (slot < 0 || size_t(slot) >= states_.size() || !states_[size_t(slot)].in_use) return;
  states_[size_t(slot)].in_use = false;
  free_slots_[free_count_++] = slot;
}

FragmentStatus FragmentReassembler::add(int32_t slot, uint32_t offset, std::span<const uint8_t> bytes,
                                        bool more_fragments) {
  State& state = states_[size_t(slot)];
  if (bytes.empty() || state.fragments == kMaxDatagramFragments) return FragmentStatus::malformed;
  // Every fragment but the last is a multiple of 8 bytes long (RFC 791, RFC 8200 4.5).
  if (more_fragments && bytes.size() % 8 != 0) return FragmentStatus::malformed;
  const uint64_t end64 = uint64_t(offset) + bytes.size();
  if (end64 > datagram_bytes_) return FragmentStatus::too_large;
  const uint32_t begin = offset;
  const uint32_t end = uint32_t(end64);
  if (!more_fragments) {
    if (state.end_known && state.end != end) return FragmentStatus::malformed;
    if (state.range_count && state.ranges[state.range_count - 1].end > end) return FragmentStatus::malformed;
  } else if (state.end_known && end > state.end) {
    return FragmentStatus::malformed;
  }

  uint8_t* data = bytes_of(slot);
  for (int i = 0; i < state.range_count; ++i) {
    const Range& held = state.ranges[i];
    const uint32_t overlap_begin = std::max(begin, held.begin);
    const uint32_t overlap_end = std::min(end, held.end);
    if (overlap_begin < overlap_end &&
        std::memcmp(data + overlap_begin, bytes.data() + (overlap_begin - begin), overlap_end - overlap_begin) != 0)
      return FragmentStatus::conflict;
  }

  Range merged{begin, end};
  Range kept[kMaxDatagramFragments + 1];
  int kept_count = 0;
  bool placed = false;
  for (int i = 0; i < state.range_count; ++i) {
    const Range& held = state.ranges[i];
    if (held.end < merged.begin) {
      kept[kept_count++] = held;
    } else if (merged.end < held.begin) {
      if (!placed) kept[kept_count++] = merged, placed = true;
      kept[kept_count++] = held;
    } else {
      merged.begin = std::min(merged.begin, held.begin);
      merged.end = std::max(merged.end, held.end);
    }
  }
  if (!placed) kept[kept_count++] = merged;
  if (kept_count > kMaxDatagramFragments) return FragmentStatus::malformed;  // cannot happen: a range a fragment

  std::memcpy(data + begin, bytes.data(), bytes.size());
  std::copy(kept, kept + kept_count, state.ranges);
  state.range_count = uint8_t(kept_count);
  ++state.fragments;
  if (!more_fragments) {
    state.end_known = true;
    state.end = end;
  }
  const bool whole = state.end_known && state.range_count == 1 && state.ranges[0].begin == 0 &&
                     state.ranges[0].end == state.end;
  return whole ? FragmentStatus::complete : FragmentStatus::incomplete;
}

std::span<const uint8_t> FragmentReassembler::datagram(int32_t slot) const {
  const State& state = states_[size_t(slot)];
  if (!state.end_known) return {};
  return {bytes_of(slot), state.end};
}

}  // namespace sluice

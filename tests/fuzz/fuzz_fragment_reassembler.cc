// libFuzzer target: FragmentReassembler over arbitrary fragment sequences. The input is a list
// of fragments, each 4 header bytes (offset in 8-byte units: 2 bytes; length; flags: bit 0 more
// fragments, bit 1 a second datagram) and then its bytes.
#include <cstring>
#include <vector>

#include "dataplane/flow/fragment_reassembler.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

constexpr uint32_t kDatagramBytes = 2048;

ParsedPacket fragment_of(uint32_t id) {
  ParsedPacket packet;
  packet.ip_version = 4;
  packet.l4_protocol = 6;
  packet.is_fragment = true;
  packet.fragment_id = id;
  packet.src.family = packet.dst.family = 4;
  return packet;
}

// What accepted fragments wrote, byte by byte: a conflict-free reassembly must agree with it.
struct Model {
  uint8_t bytes[kDatagramBytes];
  bool known[kDatagramBytes] = {};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FragmentReassembler reassembler;
  reassembler.init(2, kDatagramBytes, 1000);
  int32_t slots[2] = {reassembler.start(fragment_of(1), 0), reassembler.start(fragment_of(2), 0)};
  FUZZ_CHECK(slots[0] >= 0 && slots[1] >= 0 && slots[0] != slots[1]);
  FUZZ_CHECK(reassembler.find(fragment_of(2), 1) == slots[1]);
  static Model models[2];
  for (auto& model : models) std::memset(model.known, 0, sizeof model.known);
  bool complete[2] = {false, false};
  size_t i = 0;
  while (i + 4 <= size) {
    const uint32_t offset = uint32_t((data[i] << 8 | data[i + 1]) & 0x1fff) * 8;
    const size_t length = data[i + 2];
    const bool more = data[i + 3] & 1;
    const int which = (data[i + 3] >> 1) & 1;
    i += 4;
    const size_t take = std::min(length, size - i);
    std::span<const uint8_t> bytes(data + i, take);
    i += take;
    if (complete[which]) continue;
    Model& model = models[which];
    bool agrees = true;
    for (size_t k = 0; k < take && offset + k < kDatagramBytes; ++k)
      if (model.known[offset + k] && model.bytes[offset + k] != bytes[k]) agrees = false;
    const FragmentStatus status = reassembler.add(slots[which], offset, bytes, more);
    if (status == FragmentStatus::conflict) FUZZ_CHECK(!agrees);
    if (status == FragmentStatus::incomplete || status == FragmentStatus::complete) {
      FUZZ_CHECK(agrees);
      FUZZ_CHECK(offset + take <= kDatagramBytes);
      for (size_t k = 0; k < take; ++k) {
        model.known[offset + k] = true;
        model.bytes[offset + k] = bytes[k];
      }
    }
    if (status == FragmentStatus::complete) {
      complete[which] = true;
      const auto whole = reassembler.datagram(slots[which]);
      FUZZ_CHECK(!whole.empty() && whole.size() <= kDatagramBytes);
      for (size_t k = 0; k < whole.size(); ++k) FUZZ_CHECK(model.known[k] && model.bytes[k] == whole[k]);
    } else if (status != FragmentStatus::incomplete) {
      FUZZ_CHECK(status == FragmentStatus::conflict || status == FragmentStatus::malformed ||
                 status == FragmentStatus::too_large);
    }
  }
  reassembler.release(slots[0]);
  FUZZ_CHECK(reassembler.find(fragment_of(1), 1) == kNoFragmentSlot);
  FUZZ_CHECK(reassembler.start(fragment_of(3), 1) == slots[0]);
  return 0;
}

// libFuzzer target: software steering's owner hash (flow_owner.h) over arbitrary frames. Beyond
// not reading past the frame: the owner is within the workers, and the hash is symmetric — the
// frame with its two IP addresses swapped (the other direction of its flow) hashes alike.
#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/flow/flow_owner.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

// Where the IP header starts after Ethernet and up to two VLAN tags, as flow_owner.cc reads it.
size_t ip_offset(const std::vector<uint8_t>& frame, uint16_t& ether_type) {
  size_t at = 12;
  ether_type = uint16_t(frame[at] << 8 | frame[at + 1]);
  for (int tags = 0; tags < 2 && (ether_type == 0x8100 || ether_type == 0x88a8) && frame.size() >= at + 6; ++tags) {
    at += 4;
    ether_type = uint16_t(frame[at] << 8 | frame[at + 1]);
  }
  return at + 2;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> frame(data, data + size);  // exact size: AddressSanitizer sees an overread
  const uint32_t hash = flow_owner_hash(frame.data(), uint32_t(frame.size()));
  for (uint16_t workers = 1; workers <= 16; ++workers)
    FUZZ_CHECK(flow_owner(frame.data(), uint32_t(frame.size()), workers) < workers);
  if (frame.size() < 14) return 0;
  uint16_t ether_type = 0;
  const size_t ip = ip_offset(frame, ether_type);
  // Swap the outer addresses of a plain IPv4 or IPv6 packet (not an ICMP error, whose owner
  // comes from its quote): the hash must not change.
  if (ether_type == 0x0800 && frame.size() >= ip + 20 && (frame[ip] >> 4) == 4 && frame[ip + 9] != 1) {
    std::swap_ranges(frame.begin() + long(ip + 12), frame.begin() + long(ip + 16), frame.begin() + long(ip + 16));
    FUZZ_CHECK(flow_owner_hash(frame.data(), uint32_t(frame.size())) == hash);
  } else if (ether_type == 0x86dd && frame.size() >= ip + 40 && (frame[ip] >> 4) == 6 && frame[ip + 6] != 58) {
    std::swap_ranges(frame.begin() + long(ip + 8), frame.begin() + long(ip + 24), frame.begin() + long(ip + 24));
    FUZZ_CHECK(flow_owner_hash(frame.data(), uint32_t(frame.size())) == hash);
  }
  return 0;
}

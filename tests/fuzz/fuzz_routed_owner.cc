// libFuzzer target: routed mode's owner rule (routed_owner.h) over arbitrary frames, with the
// tables of a small routed appliance (inside 198.18.1.0/24 and 2001:db8:1::/64, outside
// 198.19.0.0/24 and 2001:db8:2::/64 with the SNAT addresses .2 / ::2, default routes out).
// Beyond not reading past the frame: the owner is below the worker count (1–16), and a plain
// (not ICMP) IPv4 or IPv6 packet between two addresses that are not SNAT addresses has the
// same owner with its addresses swapped (its flow's other direction).
#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/route/routed_owner.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

IpAddress address(uint8_t family, std::initializer_list<uint8_t> bytes) {
  IpAddress a;
  a.family = family;
  std::copy(bytes.begin(), bytes.end(), a.bytes);
  return a;
}

const RoutingTables& tables() {
  static const RoutingTables built = [] {
    RoutingTables t;
    RoutedPort inside, outside;
    inside.addresses = {{address(4, {198, 18, 1, 1}), 24}, {address(6, {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), 64}};
    outside.addresses = {{address(4, {198, 19, 0, 1}), 24}, {address(4, {198, 19, 0, 2}), 24},
                         {address(6, {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}), 64}};
    t.set_port(0, inside);
    t.set_port(1, outside);
    t.add_route({address(4, {0, 0, 0, 0}), 0, 1, false, address(4, {198, 19, 0, 254}), true});
    t.add_route({address(6, {}), 0, 1, false, address(6, {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe}), true});
    t.seal();
    return t;
  }();
  return built;
}

RoutedOwnerRules rules(uint16_t workers) {
  RoutedOwnerRules r;
  r.tables = &tables();
  r.snat_addresses = {address(4, {198, 19, 0, 2}), address(6, {0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2})};
  r.slices = SnatPortSlices(20000, 29999, workers);
  r.workers = workers;
  return r;
}

bool is_snat(const uint8_t* at, size_t size) {
  const RoutedOwnerRules r = rules(1);
  for (const IpAddress& snat : r.snat_addresses)
    if ((snat.family == 4) == (size == 4) && std::memcmp(snat.bytes, at, size) == 0) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> frame(data, data + size);  // exact size: AddressSanitizer sees an overread
  for (uint16_t workers = 1; workers <= 16; ++workers)
    FUZZ_CHECK(routed_owner(frame.data(), uint32_t(frame.size()), rules(workers)) < workers);
  if (frame.size() < 14) return 0;
  const uint16_t ether_type = uint16_t(frame[12] << 8 | frame[13]);
  const size_t ip = 14;
  size_t source = 0, length = 0;
  if (ether_type == 0x0800 && frame.size() >= ip + 20 && (frame[ip] >> 4) == 4 && frame[ip + 9] != 1) {
    source = ip + 12;
    length = 4;
  } else if (ether_type == 0x86dd && frame.size() >= ip + 40 && (frame[ip] >> 4) == 6 && frame[ip + 6] != 58 &&
             frame[ip + 6] != 44) {
    source = ip + 8;
    length = 16;
  }
  if (length == 0 || is_snat(&frame[source], length) || is_snat(&frame[source + length], length)) return 0;
  const uint16_t before = routed_owner(frame.data(), uint32_t(frame.size()), rules(4));
  std::swap_ranges(frame.begin() + long(source), frame.begin() + long(source + length), frame.begin() + long(source + length));
  FUZZ_CHECK(routed_owner(frame.data(), uint32_t(frame.size()), rules(4)) == before);
  return 0;
}

// libFuzzer target: the router's ICMP errors (time exceeded, fragmentation needed / packet too
// big) built about arbitrary frames. The first input byte picks the source's family, where the
// IP header starts and the room given; the rest is the frame. Beyond not crashing: an error
// is either nothing or a well-formed frame within its size bound and the room, with correct
// checksums, addressed to the quoted packet's source.
#include <cstring>
#include <vector>

#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/ip_address.h"
#include "dataplane/verdict/icmp_router_error.h"
#include "dataplane/verdict/internet_checksum.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

void check_error(const std::vector<uint8_t>& frame, size_t l3_offset, const IpAddress& source, const uint8_t* out,
                 size_t length, size_t room) {
  if (length == 0) return;
  FUZZ_CHECK(length <= room);
  const bool v4 = source.family == 4;
  const size_t ip_length = v4 ? 20 : 40;
  FUZZ_CHECK(length >= l3_offset + ip_length + 8);
  FUZZ_CHECK(length - l3_offset <= (v4 ? 576u : 1280u));
  const uint8_t* ip = out + l3_offset;
  const uint8_t* icmp = ip + ip_length;
  const size_t icmp_length = length - l3_offset - ip_length;
  if (v4) {
    FUZZ_CHECK(ip[0] == 0x45 && ip[9] == 1);
    FUZZ_CHECK(load_be16(ip + 2) == length - l3_offset);
    FUZZ_CHECK(checksum_fold(checksum_sum(ip, 20)) == 0);
    FUZZ_CHECK(checksum_fold(checksum_sum(icmp, icmp_length)) == 0);
    FUZZ_CHECK(std::memcmp(ip + 12, source.bytes, 4) == 0);
    FUZZ_CHECK(std::memcmp(ip + 16, frame.data() + l3_offset + 12, 4) == 0);  // back to the sender
  } else {
    FUZZ_CHECK((ip[0] >> 4) == 6 && ip[6] == 58);
    FUZZ_CHECK(load_be16(ip + 4) == icmp_length);
    const uint32_t pseudo = checksum_sum(ip + 8, 32) + uint32_t(icmp_length) + 58;
    FUZZ_CHECK(checksum_fold(checksum_sum(icmp, icmp_length, pseudo)) == 0);
    FUZZ_CHECK(std::memcmp(ip + 8, source.bytes, 16) == 0);
    FUZZ_CHECK(std::memcmp(ip + 24, frame.data() + l3_offset + 8, 16) == 0);
  }
  // The quote is the packet's first bytes.
  FUZZ_CHECK(std::memcmp(icmp + 8, frame.data() + l3_offset, icmp_length - 8) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t control = data[0];
  const std::vector<uint8_t> frame(data + 1, data + size);
  IpAddress source;
  source.family = (control & 1) ? 6 : 4;
  for (int i = 0; i < 16; ++i) source.bytes[i] = uint8_t(0x20 + i);
  if (source.family == 4) std::memset(source.bytes + 4, 0, 12);
  const size_t l3_offset = (control & 2) ? 14 + 4 * ((control >> 2) & 3) : 14;
  const size_t room = (control & 0x10) ? 2048 : size_t(64 + (control >> 5) * 97);
  std::vector<uint8_t> out(room);
  size_t length = build_icmp_time_exceeded(frame, l3_offset, source, out);
  check_error(frame, l3_offset, source, out.data(), length, room);
  length = build_icmp_too_big(frame, l3_offset, source, 1280 + control, out);
  check_error(frame, l3_offset, source, out.data(), length, room);
  return 0;
}

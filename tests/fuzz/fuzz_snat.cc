// libFuzzer target: SNAT translation (snat_outbound, snat_inbound) over arbitrary frames. The
// first input byte picks the direction; the rest is an Ethernet frame. A table kept across inputs
// holds bindings for a few fixed tuples (and whatever earlier inputs made), on a slice of 17
// ports, so return packets and ICMP errors find bindings.
#include <cstring>
#include <vector>

#include "dataplane/nat/snat_translator.h"
#include "dataplane/parse/tcp_checksum.h"
#include "dataplane/verdict/internet_checksum.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.family = 4;
  address.bytes[0] = a, address.bytes[1] = b, address.bytes[2] = c, address.bytes[3] = d;
  return address;
}

IpAddress v6(uint8_t last) {
  IpAddress address;
  address.family = 6;
  address.bytes[0] = 0x20, address.bytes[1] = 0x01, address.bytes[2] = 0x0d, address.bytes[3] = 0xb8;
  address.bytes[15] = last;
  return address;
}

SnatTable& table() {
  static SnatTable* instance = [] {
    auto* t = new SnatTable;
    SnatTableSettings settings;
    settings.capacity = 64;
    settings.addresses = {v4(198, 18, 100, 1), v6(100)};
    settings.ports = {1024, 1040};
    settings.quarantine_ticks = 8;
    settings.hash_seed = 7;
    t->init(settings);
    for (uint8_t protocol : {6, 17, 1})
      t->allocate(make_nat_key(protocol, v4(198, 18, 1, 10), 40000, v4(198, 19, 0, 80), protocol == 1 ? 0 : 443), 0);
    for (uint8_t protocol : {6, 17, 58})
      t->allocate(make_nat_key(protocol, v6(10), 40000, v6(80), protocol == 58 ? 0 : 443), 0);
    return t;
  }();
  return *instance;
}

bool ipv4_header_ok(const std::vector<uint8_t>& frame, const ParsedPacket& packet) {
  return packet.ip_version != 4 ||
         checksum_fold(checksum_sum(frame.data() + packet.l3_offset, packet.l4_offset - packet.l3_offset)) == 0;
}

// The L4 checksum of a whole (unfragmented) TCP/UDP/ICMP packet; true for what it cannot check.
bool l4_ok(const std::vector<uint8_t>& frame, const ParsedPacket& packet) {
  if (packet.is_fragment || packet.l3_end > frame.size() || packet.l3_end < packet.l4_offset) return true;
  std::span<const uint8_t> segment(frame.data() + packet.l4_offset, packet.l3_end - packet.l4_offset);
  if (packet.l4_protocol == 17 && segment.size() >= 8 && segment[6] == 0 && segment[7] == 0) return true;
  if (packet.l4_protocol == 1) return checksum_fold(checksum_sum(segment.data(), segment.size())) == 0;
  if (packet.l4_protocol != 6 && packet.l4_protocol != 17 && packet.l4_protocol != 58) return true;
  return l4_checksum(packet.src, packet.dst, packet.l4_protocol, segment) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static uint64_t now = 0;
  const bool outbound = data[0] & 1;
  std::vector<uint8_t> frame(data + 1, data + size);
  ParsedPacket packet;
  if (parse_packet(frame, packet) != PacketParseError::none) return 0;
  const std::vector<uint8_t> before = frame;
  const ParsedPacket parsed_before = packet;
  const bool header_ok = ipv4_header_ok(frame, packet);
  const bool segment_ok = l4_ok(frame, packet);
  SnatTable& nat = table();
  const SnatResult result = outbound ? snat_outbound(frame, packet, nat, ++now) : snat_inbound(frame, packet, nat, ++now);
  nat.age(now, {50, 50, 50}, 4);
  FUZZ_CHECK(frame.size() == before.size());
  FUZZ_CHECK(to_string(result.status) != nullptr);
  if (result.status != SnatStatus::translated) {
    FUZZ_CHECK(frame == before);
    return 0;
  }
  ParsedPacket after;
  FUZZ_CHECK(parse_packet(frame, after) == PacketParseError::none);
  FUZZ_CHECK(after.src == packet.src && after.dst == packet.dst);
  // Translation never changes where a packet goes (outbound) or where it came from (inbound).
  if (outbound) FUZZ_CHECK(after.dst == parsed_before.dst);
  else FUZZ_CHECK(after.src == parsed_before.src);
  FUZZ_CHECK(ipv4_header_ok(frame, after) == header_ok);
  if (result.icmp_error) FUZZ_CHECK(l4_ok(frame, after));  // its checksum was checked, then made again
  else FUZZ_CHECK(l4_ok(frame, after) == segment_ok);
  FUZZ_CHECK(result.binding >= 0);
  return 0;
}

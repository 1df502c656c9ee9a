// libFuzzer target: parse_packet over arbitrary frames, and the checks the packet path runs on a
// parsed frame (link-local ICMPv6, IPv4 header and TCP checksums, TCP options), and the cut of a
// frame to its L3 packet (l3_end) that the packet path makes before anything else reads it.
#include <cstring>
#include <vector>

#include "dataplane/parse/ipv4_header_checksum.h"
#include "dataplane/parse/link_local_icmpv6.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/parse/tcp_checksum.h"
#include "dataplane/parse/tcp_options.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

// ParsedPacket offsets are 16-bit: the parser reads at most this much of a frame.
constexpr size_t kMaxFrame = 65535;
constexpr size_t kPadding = 16;

void check_offsets(const ParsedPacket& p, PacketParseError error, size_t frame_size) {
  const size_t limit = frame_size < kMaxFrame ? frame_size : kMaxFrame;
  FUZZ_CHECK(p.vlan_count <= kMaxVlanTags);
  FUZZ_CHECK(p.l3_offset <= limit);
  FUZZ_CHECK(p.l4_offset <= limit);
  FUZZ_CHECK(size_t(p.payload_offset) + p.payload_length <= limit);
  if (error != PacketParseError::none) return;
  FUZZ_CHECK(p.l3_offset < p.l3_end && p.l3_end <= limit);
  if (p.ethertype == kEtherTypeArp) {
    FUZZ_CHECK(p.l3_end == p.l3_offset + 28);
    return;
  }
  FUZZ_CHECK(size_t(p.payload_offset) + p.payload_length <= p.l3_end);
  FUZZ_CHECK(p.ethertype == kEtherTypeIpv4 || p.ethertype == kEtherTypeIpv6);
  FUZZ_CHECK(p.l3_offset == 14 + 4 * p.vlan_count);
  FUZZ_CHECK(p.ip_version == (p.ethertype == kEtherTypeIpv4 ? 4 : 6));
  FUZZ_CHECK(p.src.family == p.ip_version && p.dst.family == p.ip_version);
  FUZZ_CHECK(p.l3_offset < p.l4_offset && p.l4_offset <= p.payload_offset);
  FUZZ_CHECK(p.is_fragment || !p.is_later_fragment);
  if (p.is_later_fragment) {
    FUZZ_CHECK(p.payload_offset == p.l4_offset && p.src_port == 0 && p.dst_port == 0);
    return;
  }
  if (p.l4_protocol == kIpProtoTcp) FUZZ_CHECK(p.payload_offset >= p.l4_offset + 20);
  if (p.l4_protocol == kIpProtoUdp) FUZZ_CHECK(p.payload_offset == p.l4_offset + 8);
}

bool same(const ParsedPacket& a, const ParsedPacket& b) {
  return a.ethertype == b.ethertype && a.vlan_count == b.vlan_count && a.ip_version == b.ip_version &&
         a.l3_offset == b.l3_offset && a.l4_offset == b.l4_offset && a.payload_offset == b.payload_offset &&
         a.payload_length == b.payload_length && a.l4_protocol == b.l4_protocol && a.is_fragment == b.is_fragment &&
         a.is_later_fragment == b.is_later_fragment && a.src == b.src && a.dst == b.dst &&
         a.src_port == b.src_port && a.dst_port == b.dst_port && a.tcp_flags == b.tcp_flags &&
         a.tcp_seq == b.tcp_seq && a.tcp_ack == b.tcp_ack && a.icmp_type == b.icmp_type && a.icmp_code == b.icmp_code &&
         a.ttl == b.ttl && a.source_routed == b.source_routed && a.fragment_offset == b.fragment_offset &&
         a.more_fragments == b.more_fragments && a.l3_end == b.l3_end;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ParsedPacket parsed;
  const auto error = parse_packet({data, size}, parsed);
  FUZZ_CHECK(std::strcmp(to_string(error), "unknown") != 0);
  check_offsets(parsed, error, size);
  if (error == PacketParseError::none && parsed.ip_version != 0) {
    // Both read only inside the frame (ASan); their answers need no check here.
    const std::span<const uint8_t> frame(data, size < kMaxFrame ? size : kMaxFrame);
    (void)classify_link_local_icmpv6(frame, parsed);
    (void)tcp_checksum_ok(frame, parsed);
    (void)ipv4_header_checksum_ok(frame, parsed);
    if (parsed.l4_protocol == kIpProtoTcp && !parsed.is_later_fragment) (void)check_tcp_options(frame, parsed);
  }

  // The frame cut at l3_end (what the appliance forwards) reads exactly as the whole one did.
  if (error == PacketParseError::none) {
    const std::vector<uint8_t> cut(data, data + parsed.l3_end);  // exact size: ASan sees over-reads
    ParsedPacket again;
    FUZZ_CHECK(parse_packet(cut, again) == PacketParseError::none);
    FUZZ_CHECK(same(parsed, again));
    const std::span<const uint8_t> whole(data, size);
    FUZZ_CHECK(ipv4_header_checksum_ok(cut, again) == ipv4_header_checksum_ok(whole, parsed));
  }

  // Ethernet pads short frames, and the payload is bounded by the IP length: bytes after the IP
  // packet must change nothing.
  if (error == PacketParseError::none && parsed.ip_version != 0) {
    std::vector<uint8_t> padded(data, data + size);
    padded.resize(size + kPadding, 0);
    ParsedPacket again;
    FUZZ_CHECK(parse_packet(padded, again) == PacketParseError::none);
    FUZZ_CHECK(same(parsed, again));
  }
  return 0;
}

// libFuzzer target: routed mode's ARP and neighbour discovery readers (dataplane/route/arp.h,
// neighbour_discovery.h) over arbitrary frames that parse_packet accepted, and the answers the
// worker would build from what they accept (respond_to_neighbour_message, in place).
#include <cstring>
#include <vector>

#include "dataplane/parse/packet_parser.h"
#include "dataplane/parse/tcp_checksum.h"
#include "dataplane/route/arp.h"
#include "dataplane/route/neighbour_discovery.h"
#include "dataplane/route/neighbour_responder.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

const MacAddress kOwnMac{{0x02, 0, 0, 0, 0, 0x01}};

MacAddress frame_source(const uint8_t* data) {
  MacAddress mac;
  std::memcpy(mac.bytes, data + 6, 6);
  return mac;
}

void check_arp(std::span<const uint8_t> frame, const ParsedPacket& packet) {
  ArpMessage message;
  const ArpCheck check = read_arp(frame, packet, message);
  FUZZ_CHECK(std::strcmp(to_string(check), "unknown") != 0);
  FUZZ_CHECK(packet.ethertype == kEtherTypeArp || check == ArpCheck::not_arp);
  if (check != ArpCheck::ok) return;
  FUZZ_CHECK(message.operation == kArpRequest || message.operation == kArpReply);
  FUZZ_CHECK(!message.sender_mac.is_zero() && !message.sender_mac.is_multicast());
  FUZZ_CHECK(message.sender_mac == frame_source(frame.data()));
  // The answer the worker would send reads back as a reply to exactly this sender.
  IpAddress own = message.target_ip;
  own.bytes[0] = 198;  // any usable address
  std::vector<uint8_t> reply(kArpFrameLength);
  FUZZ_CHECK(build_arp_reply(reply, kOwnMac, own, message) == kArpFrameLength);
  ParsedPacket again;
  FUZZ_CHECK(parse_packet(reply, again) == PacketParseError::none);
  ArpMessage answer;
  FUZZ_CHECK(read_arp(reply, again, answer) == ArpCheck::ok);
  FUZZ_CHECK(answer.operation == kArpReply && answer.target_mac == message.sender_mac &&
             answer.target_ip == message.sender_ip && answer.sender_ip == own);
}

void check_nd(std::span<const uint8_t> frame, const ParsedPacket& packet) {
  NdMessage message;
  const NdCheck check = read_nd(frame, packet, message);
  FUZZ_CHECK(std::strcmp(to_string(check), "unknown") != 0);
  if (check != NdCheck::ok) return;
  FUZZ_CHECK(message.type == kNeighbourSolicitation || message.type == kNeighbourAdvertisement);
  FUZZ_CHECK(message.target.family == 6 && message.target.bytes[0] != 0xff);
  FUZZ_CHECK(packet.ttl == 255);
  FUZZ_CHECK(!message.has_link_address || message.link_address == frame_source(frame.data()));
  FUZZ_CHECK(l4_checksum(packet.src, packet.dst, kIpProtoIcmpv6,
                         frame.subspan(packet.l4_offset, packet.payload_length)) == 0);
  if (message.type != kNeighbourSolicitation) return;
  // The advertisement the worker would answer with is one read_nd accepts, for the target asked.
  std::vector<uint8_t> reply(kNdFrameLength);
  FUZZ_CHECK(build_neighbour_advertisement_reply(reply, kOwnMac, message.target, message,
                                                 frame_source(frame.data())) == kNdFrameLength);
  ParsedPacket again;
  FUZZ_CHECK(parse_packet(reply, again) == PacketParseError::none);
  NdMessage answer;
  FUZZ_CHECK(read_nd(reply, again, answer) == NdCheck::ok);
  FUZZ_CHECK(answer.type == kNeighbourAdvertisement && answer.target == message.target);
  FUZZ_CHECK(answer.has_link_address && answer.link_address == kOwnMac);
}

// The worker's answer, written over the frame's own buffer as the packet path does: an answer
// parses and is ARP or ND from the own MAC; a learned neighbour is a unicast MAC.
void check_responder(const std::vector<uint8_t>& frame, const ParsedPacket& packet) {
  OwnAddress own[2];
  own[0].address.family = 4;
  own[0].prefix_length = 24;
  std::memcpy(own[0].address.bytes, "\xc6\x12\x00\x01", 4);  // 198.18.0.1
  // The target a well-formed NS asks for counts as own, so that the fuzzer reaches the answers.
  NdMessage message;
  own[1].address.family = 6;
  own[1].prefix_length = 64;
  if (read_nd(frame, packet, message) == NdCheck::ok) own[1].address = message.target;
  std::vector<uint8_t> buffer(frame);
  buffer.resize(frame.size() + 128, 0);
  const auto response = respond_to_neighbour_message(std::span<const uint8_t>(buffer.data(), frame.size()), packet,
                                                     kOwnMac, own, buffer);
  FUZZ_CHECK((response.outcome == NeighbourOutcome::answered) == (response.reply_length != 0));
  if (response.observed) FUZZ_CHECK(!response.mac.is_zero() && !response.mac.is_multicast());
  if (response.reply_length == 0) return;
  const std::vector<uint8_t> reply(buffer.begin(), buffer.begin() + response.reply_length);
  ParsedPacket answer;
  FUZZ_CHECK(parse_packet(reply, answer) == PacketParseError::none);
  FUZZ_CHECK(std::memcmp(reply.data() + 6, kOwnMac.bytes, 6) == 0);
  FUZZ_CHECK(answer.ethertype == kEtherTypeArp || answer.icmp_type == kNeighbourAdvertisement);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> frame(data, data + size);  // exact size: ASan sees over-reads
  ParsedPacket packet;
  if (parse_packet(frame, packet) != PacketParseError::none) return 0;
  check_arp(frame, packet);
  check_nd(frame, packet);
  check_responder(frame, packet);
  return 0;
}

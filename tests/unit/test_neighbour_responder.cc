// The worker's answer to ARP and neighbour discovery on a routed port
// (dataplane/route/neighbour_responder.h).
#include "dataplane/route/neighbour_responder.h"

#include <gtest/gtest.h>

#include <vector>

#include "dataplane/route/arp.h"
#include "dataplane/route/neighbour_discovery.h"

namespace sluice {
namespace {

using Bytes = std::vector<uint8_t>;

IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.family = 4;
  address.bytes[0] = a, address.bytes[1] = b, address.bytes[2] = c, address.bytes[3] = d;
  return address;
}

IpAddress v6(uint8_t last) {  // 2001:db8:1::<last>
  IpAddress address;
  address.family = 6;
  address.bytes[0] = 0x20, address.bytes[1] = 0x01, address.bytes[2] = 0x0d, address.bytes[3] = 0xb8;
  address.bytes[5] = 1;
  address.bytes[15] = last;
  return address;
}

const MacAddress kOwnMac{{0x02, 0, 0, 0, 0, 0x01}};
const MacAddress kClientMac{{0x02, 0, 0, 0, 0, 0x10}};
const std::vector<OwnAddress> kOwn = {{v4(198, 18, 0, 1), 24}, {v6(1), 64}};

struct Answer {
  NeighbourResponse response;
  Bytes reply;
};

Answer respond(const Bytes& frame) {
  ParsedPacket packet;
  EXPECT_EQ(parse_packet(frame, packet), PacketParseError::none);
  Answer answer;
  answer.reply.resize(128);
  answer.response = respond_to_neighbour_message(frame, packet, kOwnMac, kOwn, answer.reply);
  answer.reply.resize(answer.response.reply_length);
  return answer;
}

Bytes arp_request(const IpAddress& sender, const IpAddress& target) {
  Bytes frame(kArpFrameLength);
  frame.resize(build_arp_request(frame, kClientMac, sender, target));
  return frame;
}

Bytes neighbour_solicitation(const IpAddress& source, const IpAddress& target) {
  Bytes frame(kNdFrameLength);
  frame.resize(build_neighbour_solicitation(frame, kClientMac, source, target));
  return frame;
}

TEST(NeighbourResponder, AnswersAnArpRequestForAnOwnAddressAndLearnsTheSender) {
  const Answer answer = respond(arp_request(v4(198, 18, 0, 10), v4(198, 18, 0, 1)));
  ASSERT_EQ(answer.response.outcome, NeighbourOutcome::answered);
  EXPECT_TRUE(answer.response.observed);
  EXPECT_EQ(answer.response.address, v4(198, 18, 0, 10));
  EXPECT_EQ(answer.response.mac, kClientMac);
  ParsedPacket packet;
  ASSERT_EQ(parse_packet(answer.reply, packet), PacketParseError::none);
  ArpMessage reply;
  ASSERT_EQ(read_arp(answer.reply, packet, reply), ArpCheck::ok);
  EXPECT_EQ(reply.operation, kArpReply);
  EXPECT_EQ(reply.sender_mac, kOwnMac);
  EXPECT_EQ(reply.sender_ip, v4(198, 18, 0, 1));
  EXPECT_EQ(reply.target_ip, v4(198, 18, 0, 10));
}

TEST(NeighbourResponder, AnswersInPlace) {
  Bytes frame = arp_request(v4(198, 18, 0, 10), v4(198, 18, 0, 1));
  ParsedPacket packet;
  ASSERT_EQ(parse_packet(frame, packet), PacketParseError::none);
  const auto response = respond_to_neighbour_message(frame, packet, kOwnMac, kOwn, frame);
  ASSERT_EQ(response.outcome, NeighbourOutcome::answered);
  ASSERT_EQ(parse_packet(frame, packet), PacketParseError::none);
  ArpMessage reply;
  ASSERT_EQ(read_arp(frame, packet, reply), ArpCheck::ok);
  EXPECT_EQ(reply.target_mac, kClientMac);
  EXPECT_EQ(reply.target_ip, v4(198, 18, 0, 10));

  Bytes ns(128);
  ns.resize(build_neighbour_solicitation(ns, kClientMac, v6(0x10), v6(1)));
  ns.resize(128);  // room for the answer in the same buffer
  ASSERT_EQ(parse_packet(std::span<const uint8_t>(ns.data(), kNdFrameLength), packet), PacketParseError::none);
  const auto nd = respond_to_neighbour_message(std::span<const uint8_t>(ns.data(), kNdFrameLength), packet, kOwnMac,
                                               kOwn, ns);
  ASSERT_EQ(nd.outcome, NeighbourOutcome::answered);
  ns.resize(nd.reply_length);
  ASSERT_EQ(parse_packet(ns, packet), PacketParseError::none);
  NdMessage advertisement;
  ASSERT_EQ(read_nd(ns, packet, advertisement), NdCheck::ok);
  EXPECT_EQ(advertisement.destination, v6(0x10));
  EXPECT_EQ(Bytes(ns.begin(), ns.begin() + 6), Bytes(kClientMac.bytes, kClientMac.bytes + 6));
}

TEST(NeighbourResponder, RequestForAnotherAddressIsNotForUs) {
  const Answer answer = respond(arp_request(v4(198, 18, 0, 10), v4(198, 18, 0, 2)));
  EXPECT_EQ(answer.response.outcome, NeighbourOutcome::not_for_us);
  EXPECT_FALSE(answer.response.observed);
  EXPECT_TRUE(answer.reply.empty());
}

TEST(NeighbourResponder, ArpReplyToUsIsLearned) {
  Bytes frame(kArpFrameLength);
  ArpMessage request;  // what the appliance asked: who has 198.18.0.10
  request.operation = kArpRequest;
  request.sender_mac = kOwnMac;
  request.sender_ip = v4(198, 18, 0, 1);
  request.target_ip = v4(198, 18, 0, 10);
  frame.resize(build_arp_reply(frame, kClientMac, v4(198, 18, 0, 10), request));
  const Answer answer = respond(frame);
  EXPECT_EQ(answer.response.outcome, NeighbourOutcome::learned);
  EXPECT_TRUE(answer.response.observed);
  EXPECT_EQ(answer.response.address, v4(198, 18, 0, 10));
  EXPECT_EQ(answer.response.mac, kClientMac);
  EXPECT_TRUE(answer.reply.empty());
}

TEST(NeighbourResponder, SenderClaimingAnOwnAddressIsRefused) {
  const Answer answer = respond(arp_request(v4(198, 18, 0, 1), v4(198, 18, 0, 1)));
  EXPECT_EQ(answer.response.outcome, NeighbourOutcome::refused);
  EXPECT_FALSE(answer.response.observed);
}

TEST(NeighbourResponder, ProbeIsAnsweredButNotLearned) {
  const Answer answer = respond(arp_request(v4(0, 0, 0, 0), v4(198, 18, 0, 1)));
  EXPECT_EQ(answer.response.outcome, NeighbourOutcome::answered);
  EXPECT_FALSE(answer.response.observed);
}

TEST(NeighbourResponder, VlanTaggedRequestIsRefused) {
  const Bytes plain = arp_request(v4(198, 18, 0, 10), v4(198, 18, 0, 1));
  Bytes tagged(plain.begin(), plain.begin() + 12);
  tagged.insert(tagged.end(), {0x81, 0x00, 0x00, 0x07});
  tagged.insert(tagged.end(), plain.begin() + 12, plain.begin() + 42);
  const Answer answer = respond(tagged);
  EXPECT_EQ(answer.response.outcome, NeighbourOutcome::refused);
}

TEST(NeighbourResponder, AnswersASolicitationAndLearnsItsSource) {
  const Answer answer = respond(neighbour_solicitation(v6(0x10), v6(1)));
  ASSERT_EQ(answer.response.outcome, NeighbourOutcome::answered);
  EXPECT_TRUE(answer.response.observed);
  EXPECT_EQ(answer.response.address, v6(0x10));
  EXPECT_EQ(answer.response.mac, kClientMac);
  ParsedPacket packet;
  ASSERT_EQ(parse_packet(answer.reply, packet), PacketParseError::none);
  NdMessage advertisement;
  ASSERT_EQ(read_nd(answer.reply, packet, advertisement), NdCheck::ok);
  EXPECT_EQ(advertisement.type, kNeighbourAdvertisement);
  EXPECT_EQ(advertisement.target, v6(1));
  EXPECT_TRUE(advertisement.solicited);
  EXPECT_EQ(advertisement.link_address, kOwnMac);
}

TEST(NeighbourResponder, SolicitationForAnotherAddressIsNotForUs) {
  EXPECT_EQ(respond(neighbour_solicitation(v6(0x10), v6(2))).response.outcome, NeighbourOutcome::not_for_us);
}

TEST(NeighbourResponder, AdvertisementOfANeighbourIsLearnedAndOfAnOwnAddressRefused) {
  Bytes frame(kNdFrameLength);
  frame.resize(build_unsolicited_neighbour_advertisement(frame, kClientMac, v6(0x10)));
  const Answer answer = respond(frame);
  EXPECT_EQ(answer.response.outcome, NeighbourOutcome::learned);
  EXPECT_EQ(answer.response.address, v6(0x10));
  EXPECT_EQ(answer.response.mac, kClientMac);

  Bytes claim(kNdFrameLength);
  claim.resize(build_unsolicited_neighbour_advertisement(claim, kClientMac, v6(1)));
  const Answer refused = respond(claim);
  EXPECT_EQ(refused.response.outcome, NeighbourOutcome::refused);
  EXPECT_FALSE(refused.response.observed);
}

TEST(NeighbourResponder, RouterDiscoveryIsNotForUs) {
  Bytes frame = neighbour_solicitation(v6(0x10), v6(1));
  frame[54] = 133;  // a router solicitation: the appliance sends no router advertisements
  EXPECT_EQ(respond(frame).response.outcome, NeighbourOutcome::not_for_us);
}

TEST(NeighbourResponder, BrokenMessagesAreRefused) {
  Bytes frame = neighbour_solicitation(v6(0x10), v6(1));
  frame[57] ^= 1;  // checksum
  EXPECT_EQ(respond(frame).response.outcome, NeighbourOutcome::refused);
  Bytes arp = arp_request(v4(198, 18, 0, 10), v4(198, 18, 0, 1));
  arp[22] = 0x01;  // multicast sender
  arp[6] = 0x01;
  EXPECT_EQ(respond(arp).response.outcome, NeighbourOutcome::refused);
}

}  // namespace
}  // namespace sluice

#include "dataplane/route/neighbour_responder.h"

#include <cstring>

#include "dataplane/route/arp.h"
#include "dataplane/route/neighbour_discovery.h"

namespace sluice {

namespace {

bool is_own(std::span<const OwnAddress> own_addresses, const IpAddress& address) {
  for (const OwnAddress& own : own_addresses)
    if (own.address == address) return true;
  return false;
}

NeighbourResponse respond_to_arp(std::span<const uint8_t> frame, const ParsedPacket& packet,
                                 const MacAddress& own_mac, std::span<const OwnAddress> own_addresses,
                                 std::span<uint8_t> out) {
  NeighbourResponse response;
  ArpMessage message;
  if (read_arp(frame, packet, message) != ArpCheck::ok) return response;
  // Someone else claiming an own address (a conflict, or a lie): never learned, never answered.
  if (is_own(own_addresses, message.sender_ip)) return response;
  if (!is_own(own_addresses, message.target_ip)) {
    response.outcome = NeighbourOutcome::not_for_us;
    return response;
  }
  if (!is_arp_probe(message)) {
    response.observed = true;
    response.address = message.sender_ip;
    response.mac = message.sender_mac;
  }
  if (message.operation == kArpReply) {
    response.outcome = response.observed ? NeighbourOutcome::learned : NeighbourOutcome::refused;
    return response;
  }
  response.reply_length = build_arp_reply(out, own_mac, message.target_ip, message);
  response.outcome = response.reply_length != 0 ? NeighbourOutcome::answered : NeighbourOutcome::refused;
  return response;
}

NeighbourResponse respond_to_nd(std::span<const uint8_t> frame, const ParsedPacket& packet, const MacAddress& own_mac,
                                std::span<const OwnAddress> own_addresses, std::span<uint8_t> out) {
  NeighbourResponse response;
  NdMessage message;
  const NdCheck check = read_nd(frame, packet, message);
  if (check == NdCheck::not_nd) {
    // Router solicitations and advertisements, redirects: the appliance sends no router
    // advertisements (its neighbours are configured with it as their next hop) and takes none.
    response.outcome = NeighbourOutcome::not_for_us;
    return response;
  }
  if (check != NdCheck::ok) return response;
  if (message.type == kNeighbourAdvertisement) {
    // An advertisement for an own address is a duplicate (or a lie): never learned.
    if (is_own(own_addresses, message.target) || !message.has_link_address) {
      response.outcome = is_own(own_addresses, message.target) ? NeighbourOutcome::refused : NeighbourOutcome::not_for_us;
      return response;
    }
    response.outcome = NeighbourOutcome::learned;
    response.observed = true;
    response.address = message.target;
    response.mac = message.link_address;
    return response;
  }
  if (!is_own(own_addresses, message.target)) {
    response.outcome = NeighbourOutcome::not_for_us;
    return response;
  }
  if (is_own(own_addresses, message.source)) return response;
  if (message.has_link_address) {
    response.observed = true;
    response.address = message.source;
    response.mac = message.link_address;
  }
  MacAddress requester;
  std::memcpy(requester.bytes, frame.data() + 6, 6);  // before `out` (maybe `frame`) is written
  response.reply_length = build_neighbour_advertisement_reply(out, own_mac, message.target, message, requester);
  response.outcome = response.reply_length != 0 ? NeighbourOutcome::answered : NeighbourOutcome::refused;
  return response;
}

}  // namespace

NeighbourResponse respond_to_neighbour_message(std::span<const uint8_t> frame, const ParsedPacket& packet,
                                               const MacAddress& own_mac,
                                               std::span<const OwnAddress> own_addresses, std::span<uint8_t> out) {
  // Routed ports are untagged: an answer to a tagged request would leave on the wrong VLAN.
  if (packet.vlan_count != 0) return NeighbourResponse{};
  if (packet.ethertype == kEtherTypeArp) return respond_to_arp(frame, packet, own_mac, own_addresses, out);
  return respond_to_nd(frame, packet, own_mac, own_addresses, out);
}

}  // namespace sluice

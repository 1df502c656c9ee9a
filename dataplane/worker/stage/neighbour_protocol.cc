#include "dataplane/worker/stage/neighbour_protocol.h"

#include <rte_mbuf.h>

#include "dataplane/parse/packet_parser.h"
#include "dataplane/route/neighbour_responder.h"

namespace sluice {

// ARP and NS/NA on a routed port: a request for one of the port's own addresses is answered in
// the frame's own buffer and sent back out of the port it came in on; the neighbour it shows
// (the requester, or an advertised neighbour) goes to the control thread as "observed". Nothing
// of it is forwarded.
bool NeighbourProtocol::handle(uint8_t ingress, rte_mbuf* frame) {
  if (!context_.tables || !rte_pktmbuf_is_contiguous(frame)) {
    context_.drop(frame, Reason::neighbour_message_refused);
    return true;
  }
  const RoutedPort& port = context_.tables->port(ingress);
  uint8_t* data = rte_pktmbuf_mtod(frame, uint8_t*);
  const size_t length = rte_pktmbuf_data_len(frame);
  const std::span<const uint8_t> bytes(data, length);
  ParsedPacket packet;
  if (parse_packet(bytes, packet) != PacketParseError::none) {
    context_.drop(frame, Reason::neighbour_message_refused);
    return true;
  }
  const std::span<uint8_t> room(data, length + rte_pktmbuf_tailroom(frame));
  const NeighbourResponse response =
      respond_to_neighbour_message(bytes, packet, port.mac, port.addresses, room);
  if (response.observed) {
    NeighbourEvent event;
    event.kind = NeighbourEventKind::observed;
    event.port = ingress;
    event.address = response.address;
    event.mac = response.mac;
    context_.report(event);
  }
  switch (response.outcome) {
    case NeighbourOutcome::answered:
      frame->data_len = uint16_t(response.reply_length);
      frame->pkt_len = uint32_t(response.reply_length);
      context_.send(ingress, frame);
      return true;
    case NeighbourOutcome::learned:
      context_.drop(frame, Reason::neighbour_message_consumed);
      return true;
    case NeighbourOutcome::not_for_us:
      context_.drop(frame, Reason::neighbour_not_for_appliance);
      return true;
    case NeighbourOutcome::refused:
      break;
  }
  context_.drop(frame, Reason::neighbour_message_refused);
  return true;
}

}  // namespace sluice

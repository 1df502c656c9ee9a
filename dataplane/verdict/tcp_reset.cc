#include "dataplane/verdict/tcp_reset.h"

#include "dataplane/verdict/tcp_reply_segment.h"

namespace sluice {

size_t build_tcp_reset(std::span<const uint8_t> frame, const ParsedPacket& packet, std::span<uint8_t> out) {
  if (!reply::tcp_segment_fits(frame, packet, out)) return 0;
  reply::TcpSegmentFields fields{&packet.dst, &packet.src, packet.dst_port, packet.src_port, 0, 0, kTcpRst | kTcpAck, 0};
  // RFC 9293 3.10.7.1: take the sequence number the peer expects; without its ACK there is none.
  fields.seq = (packet.tcp_flags & kTcpAck) ? packet.tcp_ack : 0;
  // Acknowledge everything the segment occupied, so the client accepts the reset as in-window.
  fields.ack = packet.tcp_seq + packet.payload_length;
  if (packet.tcp_flags & kTcpSyn) ++fields.ack;
  if (packet.tcp_flags & kTcpFin) ++fields.ack;
  return reply::write_tcp_segment(frame, packet, true, fields, out);
}

size_t build_tcp_reset_onward(std::span<const uint8_t> frame, const ParsedPacket& packet, uint32_t seq,
                              std::span<uint8_t> out) {
  if (!(packet.tcp_flags & kTcpAck) || !reply::tcp_segment_fits(frame, packet, out)) return 0;
  reply::TcpSegmentFields fields{&packet.src,         &packet.dst, packet.src_port, packet.dst_port, seq,
                                 packet.tcp_ack,      kTcpRst | kTcpAck, 0};
  return reply::write_tcp_segment(frame, packet, false, fields, out);
}

}  // namespace sluice

#include "dataplane/verdict/tcp_syn_ack.h"

#include "dataplane/verdict/tcp_reply_segment.h"

namespace sluice {

size_t build_tcp_syn_ack(std::span<const uint8_t> frame, const ParsedPacket& packet, uint32_t isn,
                         std::span<uint8_t> out) {
  // A fragmented SYN is no probe any balancer sends; SYN with FIN or RST is no opening at all.
  if (packet.is_fragment || (packet.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst | kTcpFin)) != kTcpSyn) return 0;
  if (!reply::tcp_segment_fits(frame, packet, out)) return 0;
  const reply::TcpSegmentFields fields{&packet.dst,           &packet.src, packet.dst_port,  packet.src_port, isn,
                                       packet.tcp_seq + 1,    kTcpSyn | kTcpAck, kHealthProbeWindow};
  return reply::write_tcp_segment(frame, packet, true, fields, out);
}

}  // namespace sluice

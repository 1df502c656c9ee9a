#include "dataplane/local/local_delivery.h"

namespace sluice {

namespace {

bool for_probe(const ParsedPacket& packet, uint16_t probe_port) {
  return probe_port != 0 && packet.l4_protocol == kIpProtoTcp && !packet.is_later_fragment &&
         packet.dst_port == probe_port;
}

LocalAction probe_action(const ParsedPacket& packet, bool ready) {
  // Unready means silent on every segment: an answer of any kind could read as "alive".
  if (!ready) return LocalAction::probe_not_ready;
  if (packet.is_fragment) return LocalAction::probe_consumed;  // no balancer fragments a probe
  const uint8_t flags = packet.tcp_flags;
  if ((flags & (kTcpSyn | kTcpAck | kTcpRst | kTcpFin)) == kTcpSyn) return LocalAction::probe_syn_ack;
  if (flags & (kTcpRst | kTcpSyn)) return LocalAction::probe_consumed;  // a reset, or SYN with odd flags
  if ((flags & kTcpFin) || packet.payload_length > 0) return LocalAction::probe_reset;
  return LocalAction::probe_consumed;  // the ACK completing the handshake
}

}  // namespace

LocalAction decide_local(const ParsedPacket& packet, const LocalDeliveryRules& rules, bool ready) {
  if (for_probe(packet, rules.probe_port)) return probe_action(packet, ready);
  if (rules.kernel && rules.kernel->admits(packet)) return LocalAction::to_kernel;
  return LocalAction::not_allowed;
}

}  // namespace sluice

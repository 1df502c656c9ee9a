#include "dataplane/worker/stage/local_delivery.h"

#include <cstring>
#include <span>

#include <rte_mbuf.h>

#include "dataplane/local/local_delivery.h"
#include "dataplane/parse/ipv4_header_checksum.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/verdict/tcp_reset.h"
#include "dataplane/verdict/tcp_syn_ack.h"

namespace sluice {

namespace {

std::span<uint8_t> first_segment(rte_mbuf* frame) { return {rte_pktmbuf_mtod(frame, uint8_t*), frame->data_len}; }

// The SYN-ACK's initial sequence number: the worker keeps no state for a probe, so any number
// serves; the clock's bits keep successive probes from looking alike.
uint32_t probe_isn(uint64_t now_tsc) { return uint32_t(now_tsc >> 10) ^ uint32_t(now_tsc >> 42); }

}  // namespace

void LocalDelivery::answer(uint8_t ingress, rte_mbuf* frame, size_t length, Reason reason) {
  if (length == 0) {
    context_.drop(frame, reason);
    return;
  }
  frame->data_len = uint16_t(length);
  frame->pkt_len = uint32_t(length);
  context_.send(ingress, frame);
}

bool LocalDelivery::deliver(uint8_t ingress, rte_mbuf* frame) {
  const LocalDeliverySetup& local = context_.setup.local;
  std::span<uint8_t> bytes = first_segment(frame);
  ParsedPacket packet;
  // Answers are written over the frame: a chained one (a jumbo frame) is taken by no local
  // service, nor is anything that does not parse.
  if (frame->nb_segs != 1 || parse_packet(bytes, packet) != PacketParseError::none) return false;
  if (packet.ip_version == 4 && !ipv4_header_checksum_ok(bytes, packet)) {
    context_.drop(frame, Reason::ipv4_header_checksum_bad);
    return true;
  }
  const bool ready = local.ready && local.ready->load(std::memory_order_relaxed);
  switch (decide_local(packet, {local.probe_port, local.kernel}, ready)) {
    case LocalAction::probe_syn_ack:
      answer(ingress, frame, build_tcp_syn_ack(bytes, packet, probe_isn(context_.now_tsc), bytes),
             Reason::health_probe_segment);
      return true;
    case LocalAction::probe_reset:
      bump(context_.setup.counters->dropped_packets[static_cast<int>(Reason::health_probe_segment)]);
      answer(ingress, frame, build_tcp_reset(bytes, packet, bytes), Reason::health_probe_segment);
      return true;
    case LocalAction::probe_consumed:
      context_.drop(frame, Reason::health_probe_segment);
      return true;
    case LocalAction::probe_not_ready:
      context_.drop(frame, Reason::health_probe_not_ready);
      return true;
    case LocalAction::to_kernel: {
      if (local.exception_port == kNoPort) return false;
      // The tap's kernel side has the port's MAC (net_tap gives both ends one address): the
      // kernel takes the frame as its own.
      const MacAddress& tap_mac = context_.tables->port(local.exception_port).mac;
      std::memcpy(bytes.data(), tap_mac.bytes, sizeof tap_mac.bytes);
      std::memcpy(bytes.data() + sizeof tap_mac.bytes, tap_mac.bytes, sizeof tap_mac.bytes);
      context_.send(local.exception_port, frame);
      return true;
    }
    case LocalAction::not_allowed:
      return false;
  }
  return false;
}

bool LocalDelivery::from_kernel_acceptable(rte_mbuf* frame) const {
  std::span<uint8_t> bytes = first_segment(frame);
  ParsedPacket packet;
  if (parse_packet(bytes, packet) != PacketParseError::none || packet.ip_version == 0) return false;
  return context_.tables->owner_of(packet.src) != kNoPort;
}

}  // namespace sluice

// The SYN-ACK a worker answers a load balancer's TCP health probe with (routing.health_probe):
// the handshake completes at the prober while the appliance is ready, with no socket and no
// state on the appliance. Pure: no DPDK, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/packet_parser.h"

namespace sluice {

// Window of the SYN-ACK: zero, since nothing the prober might send is ever read (a later
// segment with data or FIN is answered with a reset, see build_tcp_reset).
inline constexpr uint16_t kHealthProbeWindow = 0;

// Writes into `out` the SYN-ACK answering `packet` (parsed from `frame`): the L2 header with
// MACs swapped (VLAN tags kept), addresses and ports swapped, flags SYN|ACK, seq = `isn`,
// ack = the SYN's seq + 1 (data on the SYN is not acknowledged), window kHealthProbeWindow, no
// options, TTL/hop limit 64, valid checksums. Returns the frame length, or 0 when `packet` is
// not an opening SYN (TCP, SYN set, ACK, RST and FIN clear, not a fragment) or `out` is too
// small.
size_t build_tcp_syn_ack(std::span<const uint8_t> frame, const ParsedPacket& packet, uint32_t isn,
                         std::span<uint8_t> out);

}  // namespace sluice

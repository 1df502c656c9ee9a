// Source NAT on byte frames: the source of an outbound packet becomes a SNAT address and port,
// the destination of a return packet goes back to the client's, and an ICMP error about a
// translated flow is translated too (its outer address and the embedded header it quotes). The
// IPv4 header checksum and the TCP/UDP/ICMP checksums are updated incrementally (a UDP checksum
// of 0, "none", stays 0); an ICMP error's own checksum is checked and then computed again over
// the message, since its embedded bytes change. Pure: no DPDK, no allocation.
//
// Where it runs (routed mode only): `snat_inbound` on every packet arriving on OUTSIDE for a SNAT
// address, before the flow lookup, so the packet processor sees the original tuple;
// `snat_outbound` after the verdict, on packets routed by a route with `snat: true`, so the
// policy judged the client's own packet and translation never changes where a packet goes.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/nat/snat_table.h"
#include "dataplane/parse/packet_parser.h"

namespace sluice {

enum class SnatStatus : uint8_t {
  translated,      // rewritten; `packet` describes the rewritten frame
  no_binding,      // inbound: no active translation has this tuple (or the ICMP error's quote)
  exhausted,       // outbound: no binding could be made (see `allocation`)
  later_fragment,  // a non-first IP fragment: its ports are in another fragment
  unsupported,     // a protocol other than TCP, UDP, ICMP echo and ICMP errors
  malformed,       // too short for its header, or an ICMP error whose quote cannot be read,
                   // whose checksum is wrong, or whose quote belongs to another host
};

struct SnatResult {
  SnatStatus status = SnatStatus::malformed;
  int32_t binding = -1;
  SnatAllocationStatus allocation = SnatAllocationStatus::ok;  // exhausted only
  bool icmp_error = false;  // the packet was an ICMP error about a translated flow
};

// `frame` holds the packet `packet` was parsed from; on `translated` both are updated.
SnatResult snat_outbound(std::span<uint8_t> frame, ParsedPacket& packet, SnatTable& table, uint64_t now);
SnatResult snat_inbound(std::span<uint8_t> frame, ParsedPacket& packet, SnatTable& table, uint64_t now);

// True when `address` is one of the table's SNAT addresses (inbound packets to it belong to SNAT).
bool is_snat_address(const SnatTable& table, const IpAddress& address);

const char* to_string(SnatStatus status);

}  // namespace sluice

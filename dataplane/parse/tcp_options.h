// The TCP options a packet of a flow still waiting for its verdict may carry. Before the verdict
// nothing but the message being judged may leave, so an option the appliance cannot read is a
// channel: only the options every real stack sends in a handshake pass (RFC 9293 EOL, NOP and
// MSS; RFC 7323 window scale and timestamps; RFC 2018 SACK-permitted and SACK).
// Pure: no DPDK, no allocation; never reads outside the span it is given.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/parse/packet_parser.h"

namespace sluice {

enum class TcpOptionsStatus : uint8_t {
  ok = 0,
  not_allowed,  // a kind outside the list above (TCP Fast Open cookies, MPTCP, experimental kinds…)
  malformed,    // a length that is not the kind's, runs past the header, or bytes after EOL that are not zero
};

// The options of the TCP header `packet` describes (between its fixed 20 bytes and its payload).
TcpOptionsStatus check_tcp_options(std::span<const uint8_t> frame, const ParsedPacket& packet);

}  // namespace sluice

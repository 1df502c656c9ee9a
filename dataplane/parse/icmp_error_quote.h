// The packet an ICMP or ICMPv6 error quotes (RFC 792, RFC 4443 2.4): the IP header of the packet
// that caused the error and the first bytes of its L4 header — enough for the ports or the echo
// identifier. Read by source NAT (to translate the quote back) and by the packet processor (to
// find the flow an error from outside is about). Pure: no DPDK, no allocation; never reads
// outside [start, end) of the span it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/ip_address.h"

namespace sluice {

// Destination unreachable (fragmentation needed among its codes), time exceeded and parameter
// problem; for ICMPv6 also packet too big. Redirects, source quench and the informational
// types are not errors about a flow.
inline bool is_icmp_error_type(uint8_t family, uint8_t type) {
  return family == 4 ? (type == 3 || type == 11 || type == 12) : (type >= 1 && type <= 4);
}

enum class IcmpQuoteError : uint8_t {
  none = 0,
  truncated_ip,        // fewer bytes than the quoted IP header (20 / 40)
  bad_ip_header,       // another IP version than the error's own, or an IPv4 IHL under 5
  later_fragment,      // a quoted IPv4 fragment with an offset: its L4 header is in another one
  truncated_l4,        // fewer than 8 bytes of a quoted TCP/UDP/ICMP header
  quoted_not_echo,     // a quoted ICMP message other than an echo request or reply (an error
                       // about an error is never sent, RFC 1122 3.2.2)
};

struct IcmpQuote {
  size_t l3 = 0;             // where the quoted IP header starts (offset into the span)
  size_t l4 = 0;             // where its L4 header starts
  uint8_t protocol = 0;      // the quoted IP protocol (IPv6: the first next header; an extension
                             // header is not walked)
  IpAddress src;             // the sender of the quoted packet
  IpAddress dst;
  // True for TCP, UDP and ICMP echo: the ports (or identifier) below were read. Other protocols
  // have no ports the appliance keys on.
  bool has_ports = false;
  bool echo = false;          // a quoted ICMP/ICMPv6 echo request or reply
  bool echo_request = false;
  uint16_t source_port = 0;       // the echo identifier for a quoted echo
  uint16_t destination_port = 0;  // 0 for a quoted echo
};

// Reads the quote that starts at `start` (8 bytes after the ICMP header's start) and ends at
// `end` (the end of the error's IP packet) in `bytes`; `family` is the error's IP version, which
// the quote must share.
IcmpQuoteError parse_icmp_quote(std::span<const uint8_t> bytes, size_t start, size_t end, uint8_t family,
                                IcmpQuote& out);

const char* to_string(IcmpQuoteError error);

}  // namespace sluice

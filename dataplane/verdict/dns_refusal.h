// Builds the DNS answer the appliance gives a query the policy does not allow (NXDOMAIN or
// REFUSED), so that the client's lookup fails at once instead of timing out. Pure: no DPDK, no
// allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/parse/packet_parser.h"

namespace sluice {

inline constexpr uint8_t kDnsRcodeNxdomain = 3;
inline constexpr uint8_t kDnsRcodeRefused = 5;

// A UDP datagram from the resolver's address and port back to the client (L2 header of `frame`
// kept, MACs swapped) carrying a response to the query in `packet`'s payload: its id, its
// question (the payload's first `question_end` bytes, as parse_dns_query measured them), RD
// copied, RA set, `rcode`, and no records. Returns the frame length, or 0 when `packet` is not a
// whole UDP packet holding that question or `out` is too small.
size_t build_dns_refusal(std::span<const uint8_t> frame, const ParsedPacket& packet, size_t question_end,
                         uint8_t rcode, std::span<uint8_t> out);

}  // namespace sluice

// Rewrites a parsed packet's source or destination address in its frame, keeping right the
// IPv4 header checksum and the L4 checksum whose pseudo-header covers it (TCP, UDP unless its
// checksum is 0, ICMPv6). Pure; used by the DNS forwarder (SNAT rewrites ports too and has its
// own path in snat_translator.cc).
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/parse/packet_parser.h"

namespace sluice {

// False (nothing written) when `to` is of another family, or the L4 header's checksum field is
// not inside the frame. A later fragment carries no L4 header: only its IP header changes.
bool rewrite_address(std::span<uint8_t> frame, ParsedPacket& packet, bool source, const IpAddress& to);

}  // namespace sluice

// The frames a client would send for an `explain` question, so that the question goes through
// the dataplane's own PacketProcessor instead of a second copy of its rules: a TCP SYN, the
// client's first payload (a TLS ClientHello or an HTTP request), a UDP datagram or an ICMP echo.
// Pure: byte vectors, no DPDK.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "dataplane/parse/ip_address.h"

namespace sluice {

using Frame = std::vector<uint8_t>;

inline constexpr uint16_t kProbeSourcePort = 49152;  // the first dynamic port: any client port judges the same

struct ProbeFlow {
  IpAddress source;
  IpAddress destination;     // same family as source
  uint16_t source_port = kProbeSourcePort;
  uint16_t destination_port = 0;
};

// Ethernet + IPv4/IPv6 + the L4 header. IPv4 gets its header checksum; L4 checksums stay zero
// (the dataplane does not check them and these frames never reach a wire).
Frame tcp_frame(const ProbeFlow& flow, uint8_t tcp_flags, std::span<const uint8_t> payload = {});
Frame udp_frame(const ProbeFlow& flow, std::span<const uint8_t> payload = {});
Frame icmp_echo_frame(const ProbeFlow& flow);  // ICMPv6 echo request for IPv6

// A minimal TLS 1.3 ClientHello, whole in one record, with `server_name` as its only host_name.
std::vector<uint8_t> tls_client_hello(std::string_view server_name);
// "GET / HTTP/1.1" with `host` as its Host header.
std::vector<uint8_t> http_request(std::string_view host);

}  // namespace sluice

#include "cli/probe_frames.h"

#include <string>

#include "dataplane/parse/byte_writer.h"
#include "dataplane/parse/packet_parser.h"
#include "dataplane/parse/tcp_checksum.h"
#include "dataplane/verdict/internet_checksum.h"

namespace sluice {

namespace {

void append(Frame& out, std::span<const uint8_t> bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

// Wraps an L4 segment (header and payload) in Ethernet and IP.
Frame ip_frame(const ProbeFlow& flow, uint8_t ip_protocol, Frame segment) {
  // The dataplane checks the TCP checksum of a payload segment it judges: probes carry a real one.
  if (ip_protocol == kIpProtoTcp) set16(segment, 16, l4_checksum(flow.source, flow.destination, ip_protocol, segment));
  // Locally administered MACs: nothing in the dataplane looks at them.
  Frame frame{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  if (flow.source.family == 4) {
    put16(frame, kEtherTypeIpv4);
    size_t header = frame.size();
    put8(frame, 0x45);
    put8(frame, 0);
    put16(frame, static_cast<uint16_t>(20 + segment.size()));
    put16(frame, 1);       // identification
    put16(frame, 0x4000);  // don't fragment
    put8(frame, 64);
    put8(frame, ip_protocol);
    put16(frame, 0);
    frame.insert(frame.end(), flow.source.bytes, flow.source.bytes + 4);
    frame.insert(frame.end(), flow.destination.bytes, flow.destination.bytes + 4);
    set16(frame, header + 10, checksum_fold(checksum_sum(frame.data() + header, 20)));
  } else {
    put16(frame, kEtherTypeIpv6);
    put32(frame, 0x60000000);
    put16(frame, static_cast<uint16_t>(segment.size()));
    put8(frame, ip_protocol);
    put8(frame, 64);
    frame.insert(frame.end(), flow.source.bytes, flow.source.bytes + 16);
    frame.insert(frame.end(), flow.destination.bytes, flow.destination.bytes + 16);
  }
  append(frame, segment);
  return frame;
}

}  // namespace

Frame tcp_frame(const ProbeFlow& flow, uint8_t tcp_flags, std::span<const uint8_t> payload) {
  Frame segment;
  put16(segment, flow.source_port);
  put16(segment, flow.destination_port);
  // A SYN starts at sequence 1000; the first payload follows the handshake.
  put32(segment, (tcp_flags & kTcpSyn) ? 1000 : 1001);
  put32(segment, (tcp_flags & kTcpAck) ? 5001 : 0);
  put8(segment, 0x50);  // 20-byte header
  put8(segment, tcp_flags);
  put16(segment, 65535);
  put16(segment, 0);
  put16(segment, 0);
  append(segment, payload);
  return ip_frame(flow, kIpProtoTcp, segment);
}

Frame udp_frame(const ProbeFlow& flow, std::span<const uint8_t> payload) {
  Frame segment;
  put16(segment, flow.source_port);
  put16(segment, flow.destination_port);
  put16(segment, static_cast<uint16_t>(8 + payload.size()));
  put16(segment, 0);
  append(segment, payload);
  return ip_frame(flow, kIpProtoUdp, segment);
}

Frame icmp_echo_frame(const ProbeFlow& flow) {
  bool v6 = flow.source.family == 6;
  Frame segment;
  put8(segment, v6 ? 128 : 8);  // echo request
  put8(segment, 0);
  put16(segment, 0);
  put16(segment, 1);  // identifier
  put16(segment, 1);  // sequence
  return ip_frame(flow, v6 ? kIpProtoIcmpv6 : kIpProtoIcmp, segment);
}

std::vector<uint8_t> tls_client_hello(std::string_view server_name) {
  Frame extensions;
  put16(extensions, 0);  // server_name
  put16(extensions, static_cast<uint16_t>(server_name.size() + 5));
  put16(extensions, static_cast<uint16_t>(server_name.size() + 3));
  put8(extensions, 0);  // host_name
  put16(extensions, static_cast<uint16_t>(server_name.size()));
  extensions.insert(extensions.end(), server_name.begin(), server_name.end());
  put16(extensions, 43);  // supported_versions: TLS 1.3, 1.2
  put16(extensions, 5);
  put8(extensions, 4);
  put16(extensions, 0x0304);
  put16(extensions, 0x0303);

  Frame body;
  put16(body, 0x0303);
  body.insert(body.end(), 32, 0x5a);  // random
  put8(body, 0);                      // no session id
  put16(body, 2);
  put16(body, 0x1301);  // TLS_AES_128_GCM_SHA256
  put8(body, 1);
  put8(body, 0);  // null compression
  put16(body, static_cast<uint16_t>(extensions.size()));
  append(body, extensions);

  Frame record{22, 3, 1};  // handshake record, legacy version TLS 1.0
  put16(record, static_cast<uint16_t>(body.size() + 4));
  put8(record, 1);  // ClientHello
  put24(record, static_cast<uint32_t>(body.size()));
  append(record, body);
  return record;
}

std::vector<uint8_t> http_request(std::string_view host) {
  std::string head = "GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\nUser-Agent: sluicectl-explain\r\n\r\n";
  return {head.begin(), head.end()};
}

}  // namespace sluice

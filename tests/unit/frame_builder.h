// Builds Ethernet frames and TLS/HTTP payloads for unit tests of the packet path.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "dataplane/parse/tcp_checksum.h"
#include "dataplane/verdict/internet_checksum.h"
#include "tests/unit/bytes.h"

namespace sluice::test {

// A TLS 1.3-style ClientHello in one record, with one host_name (none when `sni` is empty).
inline Bytes client_hello(const std::string& sni) {
  Bytes extensions;
  if (!sni.empty()) {
    put16(extensions, 0);  // server_name
    put16(extensions, static_cast<uint16_t>(sni.size() + 5));
    put16(extensions, static_cast<uint16_t>(sni.size() + 3));
    extensions.push_back(0);  // host_name
    put16(extensions, static_cast<uint16_t>(sni.size()));
    extensions.insert(extensions.end(), sni.begin(), sni.end());
  }
  put16(extensions, 43);  // supported_versions: TLS 1.3, 1.2
  put16(extensions, 5);
  extensions.push_back(4);
  put16(extensions, 0x0304);
  put16(extensions, 0x0303);

  Bytes body;
  put16(body, 0x0303);
  body.insert(body.end(), 32, 0x11);  // random
  body.push_back(0);                  // session id
  put16(body, 2);
  put16(body, 0x1301);                // TLS_AES_128_GCM_SHA256
  body.push_back(1);
  body.push_back(0);                  // null compression
  put16(body, static_cast<uint16_t>(extensions.size()));
  body.insert(body.end(), extensions.begin(), extensions.end());

  Bytes record{22, 3, 1};
  put16(record, static_cast<uint16_t>(body.size() + 4));
  record.push_back(1);  // ClientHello
  put24(record, static_cast<uint32_t>(body.size()));
  record.insert(record.end(), body.begin(), body.end());
  return record;
}

inline uint32_t ipv4(const char* text) {
  in_addr address{};
  inet_pton(AF_INET, text, &address);
  return ntohl(address.s_addr);
}

struct Tcp4 {
  const char* src = "198.18.1.10";
  const char* dst = "198.19.0.80";
  uint16_t src_port = 40000;
  uint16_t dst_port = 443;
  uint8_t flags = 0x18;  // PSH|ACK
  uint32_t seq = 1000;
  uint32_t ack = 5000;
  Bytes payload;
};

// The IPv4 header checksum of the IPv4 packet after an untagged Ethernet header in `frame`,
// filled in (again, after a test changed a header field).
inline void refresh_ipv4_checksum(Bytes& frame) {
  const size_t header_length = size_t(frame[14] & 0x0f) * 4;
  frame[24] = frame[25] = 0;
  const uint16_t checksum = checksum_fold(checksum_sum(frame.data() + 14, header_length));
  frame[24] = uint8_t(checksum >> 8);
  frame[25] = uint8_t(checksum);
}

// Ethernet + IPv4 + TCP (+ payload). The IPv4 header and TCP checksums are right (the dataplane
// checks the first on every IPv4 packet, the second on the payload of flows it judges).
inline Bytes tcp4_frame(const Tcp4& spec, uint8_t ip_protocol = 6) {
  Bytes frame{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  put16(frame, 0x0800);
  uint16_t l4_length = static_cast<uint16_t>((ip_protocol == 6 ? 20 : 8) + spec.payload.size());
  frame.push_back(0x45);
  frame.push_back(0);
  put16(frame, static_cast<uint16_t>(20 + l4_length));
  put16(frame, 1);
  put16(frame, 0x4000);
  frame.push_back(64);
  frame.push_back(ip_protocol);
  put16(frame, 0);
  put32(frame, ipv4(spec.src));
  put32(frame, ipv4(spec.dst));
  put16(frame, spec.src_port);
  put16(frame, spec.dst_port);
  if (ip_protocol == 6) {
    put32(frame, spec.seq);
    put32(frame, spec.ack);
    frame.push_back(0x50);
    frame.push_back(spec.flags);
    put16(frame, 65535);
    put16(frame, 0);
    put16(frame, 0);
  } else {
    put16(frame, l4_length);
    put16(frame, 0);
  }
  frame.insert(frame.end(), spec.payload.begin(), spec.payload.end());
  if (ip_protocol == 6) {
    IpAddress source{4}, destination{4};
    std::memcpy(source.bytes, frame.data() + 26, 4);
    std::memcpy(destination.bytes, frame.data() + 30, 4);
    const uint16_t checksum = l4_checksum(source, destination, 6, std::span<const uint8_t>(frame).subspan(34));
    frame[50] = uint8_t(checksum >> 8);
    frame[51] = uint8_t(checksum);
  }
  refresh_ipv4_checksum(frame);
  return frame;
}

// `frame` (from tcp4_frame) with `options` (a multiple of 4 bytes) after its fixed TCP header:
// data offset, IPv4 total length and TCP checksum follow.
inline Bytes with_tcp_options(Bytes frame, const Bytes& options) {
  frame.insert(frame.begin() + 54, options.begin(), options.end());
  frame[46] = uint8_t((5 + options.size() / 4) << 4);
  const uint16_t total = uint16_t((frame[16] << 8 | frame[17]) + options.size());
  frame[16] = uint8_t(total >> 8);
  frame[17] = uint8_t(total);
  frame[50] = frame[51] = 0;
  IpAddress source{4}, destination{4};
  std::memcpy(source.bytes, frame.data() + 26, 4);
  std::memcpy(destination.bytes, frame.data() + 30, 4);
  const uint16_t checksum = l4_checksum(source, destination, 6, std::span<const uint8_t>(frame).subspan(34));
  frame[50] = uint8_t(checksum >> 8);
  frame[51] = uint8_t(checksum);
  refresh_ipv4_checksum(frame);
  return frame;
}

// `frame` (an IPv4 frame) with `options` (a multiple of 4 bytes) after its fixed IP header:
// header length, total length and header checksum follow (the L4 checksum does not cover them).
inline Bytes with_ipv4_options(Bytes frame, const Bytes& options) {
  frame.insert(frame.begin() + 34, options.begin(), options.end());
  frame[14] = uint8_t(0x40 | (5 + options.size() / 4));
  const uint16_t total = uint16_t((frame[16] << 8 | frame[17]) + options.size());
  frame[16] = uint8_t(total >> 8);
  frame[17] = uint8_t(total);
  refresh_ipv4_checksum(frame);
  return frame;
}

inline Bytes http_get(const std::string& host) {
  std::string head = "GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: test\r\n\r\n";
  return Bytes(head.begin(), head.end());
}

}  // namespace sluice::test

#include "bench/traffic.h"

#include <algorithm>

#include "bench/domains.h"
#include "dataplane/parse/byte_reader.h"
#include "dataplane/parse/byte_writer.h"
#include "dataplane/verdict/internet_checksum.h"

namespace sluice::bench {

namespace {

void put_bytes(Bytes& out, const Bytes& bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }
void put_fill(Bytes& out, size_t count, uint8_t value) { out.insert(out.end(), count, value); }

constexpr size_t kEthernetLength = 14;
constexpr size_t kIpv4Length = 20;

// Ethernet + IPv4 header for an L4 message of `l4_length` bytes; checksum filled in.
Bytes ip_frame_head(const Endpoint& src, const Endpoint& dst, uint8_t protocol, size_t l4_length) {
  Bytes frame{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};  // locally administered MACs
  put16(frame, 0x0800);
  put8(frame, 0x45);
  put8(frame, 0);
  put16(frame, static_cast<uint16_t>(kIpv4Length + l4_length));
  put16(frame, 1);
  put16(frame, 0x4000);  // don't fragment
  put8(frame, 64);
  put8(frame, protocol);
  put16(frame, 0);
  put32(frame, src.ip);
  put32(frame, dst.ip);
  set16(frame, kEthernetLength + 10, checksum_fold(checksum_sum(frame.data() + kEthernetLength, kIpv4Length)));
  return frame;
}

// The L4 checksum over the IPv4 pseudo-header and the L4 message at `l4` in `frame`.
void fill_l4_checksum(Bytes& frame, size_t checksum_offset, uint8_t protocol) {
  const uint8_t* ip = frame.data() + kEthernetLength;
  size_t l4_length = (size_t(ip[2]) << 8 | ip[3]) - kIpv4Length;
  uint32_t sum = checksum_sum(ip + 12, 8);  // source and destination addresses
  sum += protocol;
  sum += static_cast<uint32_t>(l4_length);
  sum = checksum_sum(ip + kIpv4Length, l4_length, sum);
  uint16_t checksum = checksum_fold(sum);
  if (protocol == 17 && checksum == 0) checksum = 0xffff;
  set16(frame, kEthernetLength + kIpv4Length + checksum_offset, checksum);
}

void pad(Bytes& frame, size_t length) {
  if (frame.size() < length) frame.resize(length, 0);
}

// One TLS extension: type, length, body.
void extension(Bytes& out, uint16_t type, const Bytes& body) {
  put16(out, type);
  put16(out, static_cast<uint16_t>(body.size()));
  put_bytes(out, body);
}

Bytes u16_list(std::initializer_list<uint16_t> values, int length_bytes) {
  Bytes body;
  size_t length = values.size() * 2;
  if (length_bytes == 2) put16(body, static_cast<uint16_t>(length));
  else put8(body, static_cast<uint8_t>(length));
  for (auto value : values) put16(body, value);
  return body;
}

void dns_name(Bytes& out, const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    put8(out, static_cast<uint8_t>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  put8(out, 0);
}

}  // namespace

uint32_t ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | d;
}

// Ports keep the kinds apart inside one flow table (new connections use 32768 and up).
Endpoint established_client(uint32_t flow) {
  return {ipv4(198, 18, static_cast<uint8_t>(flow >> 8), static_cast<uint8_t>(flow)),
          static_cast<uint16_t>(1024 + (flow >> 16))};
}
Endpoint established_server(uint32_t flow) {
  return {ipv4(198, 19, 0, static_cast<uint8_t>(1 + flow % 250)), kAllowedNetworkPort};
}

void restamp_ipv4(uint8_t* frame, const Endpoint& src, const Endpoint& dst) {
  uint8_t* ip = frame + kEthernetLength;
  store_be32(ip + 12, src.ip);
  store_be32(ip + 16, dst.ip);
  store_be16(ip + kIpv4Length, src.port);
  store_be16(ip + kIpv4Length + 2, dst.port);
  store_be16(ip + 10, 0);
  store_be16(ip + 10, checksum_fold(checksum_sum(ip, kIpv4Length)));
}

Bytes tcp_frame(const TcpSegment& segment) {
  constexpr size_t kTcpLength = 20;
  Bytes frame = ip_frame_head(segment.src, segment.dst, 6, kTcpLength + segment.payload.size());
  put16(frame, segment.src.port);
  put16(frame, segment.dst.port);
  put32(frame, segment.seq);
  put32(frame, segment.ack);
  put8(frame, 0x50);
  put8(frame, segment.flags);
  put16(frame, 64240);
  put16(frame, 0);
  put16(frame, 0);
  put_bytes(frame, segment.payload);
  fill_l4_checksum(frame, 16, 6);
  pad(frame, std::max(kMinFrameLength, segment.frame_length));
  return frame;
}

Bytes udp_frame(const Endpoint& src, const Endpoint& dst, const Bytes& payload) {
  Bytes frame = ip_frame_head(src, dst, 17, 8 + payload.size());
  put16(frame, src.port);
  put16(frame, dst.port);
  put16(frame, static_cast<uint16_t>(8 + payload.size()));
  put16(frame, 0);
  put_bytes(frame, payload);
  fill_l4_checksum(frame, 6, 17);
  pad(frame, kMinFrameLength);
  return frame;
}

Bytes client_hello(const std::string& sni, HelloSize size) {
  // The extensions of a current Chromium, GREASE values included; ECH is left out on purpose:
  // Sluice judges ECH hellos by their own reason, and this profile measures SNI matching.
  Bytes extensions;
  extension(extensions, 0x0a0a, {});
  Bytes server_name;
  put16(server_name, static_cast<uint16_t>(sni.size() + 3));
  put8(server_name, 0);
  put16(server_name, static_cast<uint16_t>(sni.size()));
  server_name.insert(server_name.end(), sni.begin(), sni.end());
  extension(extensions, 0x0000, server_name);
  extension(extensions, 0x0017, {});                  // extended_master_secret
  extension(extensions, 0xff01, {0});                 // renegotiation_info
  bool pq = size == HelloSize::post_quantum;
  extension(extensions, 0x000a, pq ? u16_list({0x2a2a, 0x11ec, 0x001d, 0x0017, 0x0018}, 2)
                                   : u16_list({0x2a2a, 0x001d, 0x0017, 0x0018}, 2));
  extension(extensions, 0x000b, {1, 0});              // ec_point_formats
  extension(extensions, 0x0023, {});                  // session_ticket
  Bytes alpn;
  put16(alpn, 12);
  put8(alpn, 2);
  alpn.insert(alpn.end(), {'h', '2'});
  put8(alpn, 8);
  for (char c : std::string("http/1.1")) alpn.push_back(static_cast<uint8_t>(c));
  extension(extensions, 0x0010, alpn);
  extension(extensions, 0x0005, {1, 0, 0, 0, 0});     // status_request
  extension(extensions, 0x000d, u16_list({0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}, 2));
  extension(extensions, 0x0012, {});                  // signed_certificate_timestamp
  Bytes key_share;
  Bytes shares;
  put16(shares, 0x2a2a);
  put16(shares, 1);
  put8(shares, 0);
  if (pq) {
    put16(shares, 0x11ec);  // X25519MLKEM768: 1184-byte ML-KEM key + 32-byte X25519 key
    put16(shares, 1216);
    put_fill(shares, 1216, 0x5a);
  }
  put16(shares, 0x001d);
  put16(shares, 32);
  put_fill(shares, 32, 0x3c);
  put16(key_share, static_cast<uint16_t>(shares.size()));
  put_bytes(key_share, shares);
  extension(extensions, 0x0033, key_share);
  extension(extensions, 0x002d, {1, 1});              // psk_key_exchange_modes
  extension(extensions, 0x002b, {6, 0x3a, 0x3a, 3, 4, 3, 3});  // supported_versions
  extension(extensions, 0x001b, {2, 0, 2});           // compress_certificate: brotli
  extension(extensions, 0x4469, {0, 3, 2, 'h', '2'}); // application_settings
  extension(extensions, 0x1a1a, {0});

  Bytes body;
  put16(body, 0x0303);
  put_fill(body, 32, 0x11);  // random
  put8(body, 32);
  put_fill(body, 32, 0x22);  // legacy session id
  Bytes suites = u16_list({0x4a4a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                           0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
                          2);
  put_bytes(body, suites);
  put8(body, 1);
  put8(body, 0);  // null compression
  // Chromium pads the handshake to 512 bytes when it is shorter (RFC 7685).
  constexpr size_t kPaddedHandshake = 512;
  size_t handshake_without_padding = 4 + body.size() + 2 + extensions.size();
  if (handshake_without_padding + 4 <= kPaddedHandshake) {
    size_t padding = kPaddedHandshake - handshake_without_padding - 4;
    extension(extensions, 0x0015, Bytes(padding, 0));
  }
  put16(body, static_cast<uint16_t>(extensions.size()));
  put_bytes(body, extensions);

  Bytes record{22, 3, 1};
  put16(record, static_cast<uint16_t>(body.size() + 4));
  put8(record, 1);  // ClientHello
  put24(record, static_cast<uint32_t>(body.size()));
  put_bytes(record, body);
  return record;
}

Bytes http_request(const std::string& host) {
  std::string head = "GET /simple/requests/ HTTP/1.1\r\nHost: " + host +
                     "\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/131.0.0.0 Safari/537.36\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
                     "Accept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\n"
                     "Connection: keep-alive\r\n\r\n";
  return Bytes(head.begin(), head.end());
}

Bytes dns_query(const std::string& name, uint16_t id) {
  Bytes message;
  put16(message, id);
  put16(message, 0x0100);  // recursion desired
  put16(message, 1);
  put16(message, 0);
  put16(message, 0);
  put16(message, 0);
  dns_name(message, name);
  put16(message, 1);  // A
  put16(message, 1);  // IN
  return message;
}

Bytes dns_answer(const std::string& name, uint16_t id, uint32_t first_address) {
  Bytes message;
  put16(message, id);
  put16(message, 0x8180);  // response, recursion desired and available
  put16(message, 1);
  put16(message, 2);
  put16(message, 0);
  put16(message, 0);
  dns_name(message, name);
  put16(message, 1);
  put16(message, 1);
  for (uint32_t i = 0; i < 2; ++i) {
    put16(message, 0xc00c);  // the name of the question
    put16(message, 1);
    put16(message, 1);
    put32(message, 300);     // TTL
    put16(message, 4);
    put32(message, first_address + i);
  }
  return message;
}

std::vector<Bytes> segment(const Bytes& payload, size_t mss) {
  std::vector<Bytes> segments;
  for (size_t at = 0; at < payload.size(); at += mss)
    segments.emplace_back(payload.begin() + static_cast<long>(at),
                          payload.begin() + static_cast<long>(std::min(payload.size(), at + mss)));
  return segments;
}

ConnectionFrames connection_frames(const Endpoint& client, const Endpoint& server, const Bytes& first_payload) {
  constexpr uint32_t kClientIsn = 1000, kServerIsn = 70000;
  ConnectionFrames frames;
  frames.syn = tcp_frame({client, server, kTcpSyn, kClientIsn, 0, {}, 0});
  frames.syn_ack = tcp_frame({server, client, kTcpSynAck, kServerIsn, kClientIsn + 1, {}, 0});
  frames.ack = tcp_frame({client, server, kTcpAck, kClientIsn + 1, kServerIsn + 1, {}, 0});
  uint32_t seq = kClientIsn + 1;
  for (const auto& part : segment(first_payload)) {
    frames.payload.push_back(tcp_frame({client, server, kTcpPshAck, seq, kServerIsn + 1, part, 0}));
    seq += static_cast<uint32_t>(part.size());
  }
  return frames;
}

}  // namespace sluice::bench

// Frames for the benchmarks, built in memory before any clock starts: Ethernet/IPv4/TCP/UDP with
// real checksums (so the pcap handed to nDPI is valid), ClientHellos of a browser's size and of a
// post-quantum browser's size, HTTP request heads and DNS messages.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::bench {

using Bytes = std::vector<uint8_t>;

inline constexpr uint8_t kTcpSyn = 0x02, kTcpAck = 0x10, kTcpPshAck = 0x18, kTcpSynAck = 0x12;
inline constexpr size_t kMinFrameLength = 60;  // a 64-byte Ethernet frame without its FCS
inline constexpr size_t kTcpMss = 1460;        // the segment size a 1500-byte MTU gives

struct Endpoint {
  uint32_t ip = 0;  // host byte order
  uint16_t port = 0;
};

// 198.18.0.0/15 only (RFC 2544 benchmarking range), as every Sluice test address.
uint32_t ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);

// The established profiles' endpoints (flow → client in 198.18/16, server in the allowed
// network), shared by the one-worker profiles and the several-worker runs.
Endpoint established_client(uint32_t flow);
Endpoint established_server(uint32_t flow);

// Rewrites the addresses and ports of the Ethernet/IPv4/TCP-or-UDP frame at `frame` (no
// options) to `src` → `dst` in place and makes its IPv4 header checksum valid again: a recycled
// or copied frame becomes another flow's packet.
void restamp_ipv4(uint8_t* frame, const Endpoint& src, const Endpoint& dst);

struct TcpSegment {
  Endpoint src;
  Endpoint dst;
  uint8_t flags = kTcpAck;
  uint32_t seq = 1;
  uint32_t ack = 1;
  Bytes payload;
  size_t frame_length = 0;  // pad the frame up to this size (IMIX); 0 = as small as it can be
};

// Ethernet + IPv4 + TCP + payload, padded to at least 60 bytes.
Bytes tcp_frame(const TcpSegment& segment);
// Ethernet + IPv4 + UDP + payload, padded to at least 60 bytes.
Bytes udp_frame(const Endpoint& src, const Endpoint& dst, const Bytes& payload);

enum class HelloSize : uint8_t {
  typical,         // 517-byte record, like a current browser's (padding extension to 512)
  post_quantum,    // X25519MLKEM768 key share: ~1.8 KB, two TCP segments at a 1460-byte MSS
};

// A TLS 1.3 ClientHello record announcing `sni`, with a browser's set of extensions.
Bytes client_hello(const std::string& sni, HelloSize size);

// A browser-like HTTP/1.1 GET request head for `host`.
Bytes http_request(const std::string& host);

// A DNS query for `name` (A) and its answer with two A records.
Bytes dns_query(const std::string& name, uint16_t id);
Bytes dns_answer(const std::string& name, uint16_t id, uint32_t first_address);

// Splits `payload` into TCP payloads of at most `mss` bytes.
std::vector<Bytes> segment(const Bytes& payload, size_t mss = kTcpMss);

// A client's new TCP connection: SYN and the server's SYN-ACK, the client's ACK, then the
// client's first payload in MSS-sized segments (a post-quantum ClientHello takes two).
struct ConnectionFrames {
  Bytes syn;       // client → server (inside)
  Bytes syn_ack;   // server → client (outside)
  Bytes ack;       // client → server
  std::vector<Bytes> payload;
};
ConnectionFrames connection_frames(const Endpoint& client, const Endpoint& server, const Bytes& first_payload);

}  // namespace sluice::bench

// A QUIC client's first flight for the benchmarks, built before any clock starts: the
// post-quantum ClientHello a current Chromium sends (~1.9 KB, bench/traffic.h) as a bare handshake
// message, split over two Initial datagrams of Chromium's size (1250-byte UDP payloads), each
// protected with the keys of the connection's own 8-byte DCID, so that every connection costs the
// worker a key derivation, as a real new connection does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/traffic.h"

namespace sluice::bench {

inline constexpr size_t kQuicInitialPayload = 1250;  // Chromium 156's Initial datagrams (UDP payload)

// The UDP payloads of one connection's Initials; empty when libcrypto failed.
std::vector<Bytes> quic_initials(const std::string& sni, uint64_t connection_id);

}  // namespace sluice::bench

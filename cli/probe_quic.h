// The UDP payload a QUIC client would send first, for an `explain` question to a QUIC port: one
// protected QUIC v1 Initial (RFC 9001 5) carrying `crypto` as CRYPTO data from offset 0, padded
// to 1200 bytes (RFC 9000 14.1). Control side only: it allocates and uses libcrypto freely.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sluice {

// Empty when libcrypto failed.
std::vector<uint8_t> quic_initial_payload(std::span<const uint8_t> crypto);

}  // namespace sluice

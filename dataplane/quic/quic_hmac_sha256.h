// HMAC-SHA256 (RFC 2104) for the Initial key derivation, with no heap allocation: libcrypto's
// SHA-256 does the hashing; this file only does HMAC's two padded passes around it. OpenSSL 3.0's
// own HMAC (EVP_MAC) and even a reused EVP_MD_CTX allocate on every init (measured: 5 and 1
// allocations), which would make every new QUIC connection cost 25 heap allocations on the worker.
// A key's padded states are computed once (`HmacSha256Key`) and copied for each use, so a key used
// several times (the version's salt, a secret expanded into key, iv and hp) is padded once.
// Checked against libcrypto's EVP_MAC HMAC in test_quic_initial.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sluice {

constexpr size_t kHmacSha256Length = 32;

// Opaque room for two of libcrypto's SHA256_CTX (112 bytes each on every platform OpenSSL 3.0
// supports; the .cc checks the size at compile time), so that callers need no OpenSSL header.
struct HmacSha256Key {
  alignas(8) uint8_t inner[128];
  alignas(8) uint8_t outer[128];
};

// Pads `key` (any length; longer than a block is hashed first, as RFC 2104 says). False only if
// libcrypto's SHA-256 failed.
bool hmac_sha256_key(std::span<const uint8_t> key, HmacSha256Key& out);

// HMAC-SHA256(key, data1 || data2).
bool hmac_sha256(const HmacSha256Key& key, std::span<const uint8_t> data1, std::span<const uint8_t> data2,
                 uint8_t (&out)[kHmacSha256Length]);

}  // namespace sluice

// SHA256_Init/Update/Final are deprecated in OpenSSL 3.0 in favour of EVP_Digest*, which allocates
// a context on every init; they remain in Debian 12's libcrypto, work on a caller's stack context
// and never allocate. That is the one reason this file uses them.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "dataplane/quic/quic_hmac_sha256.h"

#include <openssl/sha.h>

#include <cstring>

namespace sluice {

namespace {

constexpr size_t kBlock = 64;  // SHA-256's block: HMAC's pad length
static_assert(sizeof(SHA256_CTX) <= sizeof(HmacSha256Key::inner), "HmacSha256Key too small for SHA256_CTX");
static_assert(alignof(SHA256_CTX) <= 8, "HmacSha256Key's alignment too small for SHA256_CTX");

SHA256_CTX* context(uint8_t* storage) { return reinterpret_cast<SHA256_CTX*>(storage); }
const SHA256_CTX* context(const uint8_t* storage) { return reinterpret_cast<const SHA256_CTX*>(storage); }

bool padded(const uint8_t (&key)[kBlock], uint8_t pad, uint8_t* storage) {
  uint8_t block[kBlock];
  for (size_t i = 0; i < kBlock; ++i) block[i] = key[i] ^ pad;
  return SHA256_Init(context(storage)) == 1 && SHA256_Update(context(storage), block, kBlock) == 1;
}

}  // namespace

bool hmac_sha256_key(std::span<const uint8_t> key, HmacSha256Key& out) {
  uint8_t block[kBlock] = {};
  if (key.size() > kBlock) {
    SHA256_CTX hash;
    if (SHA256_Init(&hash) != 1 || SHA256_Update(&hash, key.data(), key.size()) != 1 ||
        SHA256_Final(block, &hash) != 1) {
      return false;
    }
  } else if (!key.empty()) {
    std::memcpy(block, key.data(), key.size());
  }
  return padded(block, 0x36, out.inner) && padded(block, 0x5c, out.outer);
}

bool hmac_sha256(const HmacSha256Key& key, std::span<const uint8_t> data1, std::span<const uint8_t> data2,
                 uint8_t (&out)[kHmacSha256Length]) {
  SHA256_CTX hash = *context(key.inner);
  uint8_t inner[kHmacSha256Length];
  if ((!data1.empty() && SHA256_Update(&hash, data1.data(), data1.size()) != 1) ||
      (!data2.empty() && SHA256_Update(&hash, data2.data(), data2.size()) != 1) || SHA256_Final(inner, &hash) != 1) {
    return false;
  }
  hash = *context(key.outer);
  return SHA256_Update(&hash, inner, sizeof(inner)) == 1 && SHA256_Final(out, &hash) == 1;
}

}  // namespace sluice

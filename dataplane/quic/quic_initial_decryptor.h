// Removes the protection of a client's QUIC Initial packets (RFC 9001 5): keys from the
// Destination Connection ID (HKDF-SHA256 with the version's salt and labels), header protection
// off with AES-128-ECB, the payload decrypted with AES-128-GCM. All the cryptography is libcrypto's
// (Debian's OpenSSL 3); nothing here is a cipher of our own.
//
// One object a worker, made at start: the libcrypto contexts and the plaintext buffer are created
// once and reused, so opening a packet allocates nothing on the heap (the unit test counts
// libcrypto's allocations; see derive_client_keys for the one place that does allocate).
// Not thread-safe: one worker, one decryptor.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "dataplane/quic/quic_hmac_sha256.h"
#include "dataplane/quic/quic_packet_header.h"
#include "dataplane/quic/quic_status.h"

// libcrypto's types, declared so that callers need no OpenSSL header.
struct evp_cipher_st;
struct evp_cipher_ctx_st;

namespace sluice {

// The largest UDP payload: no Initial packet is longer.
constexpr size_t kQuicMaxDatagramSize = 65527;

struct QuicInitialKeys {
  std::array<uint8_t, 32> client_initial_secret{};
  std::array<uint8_t, 16> key{};
  std::array<uint8_t, 12> iv{};
  std::array<uint8_t, 16> hp{};
};

// A decrypted Initial packet. Both views point into the decryptor's buffer and hold until the next
// open() on the same decryptor.
struct QuicOpenedPacket {
  uint64_t packet_number = 0;             // as sent (truncated; an Initial's first packets are small)
  std::span<const uint8_t> header;        // the header with its protection removed (the AEAD's AAD)
  std::span<const uint8_t> payload;       // the frames
};

class QuicInitialDecryptor {
 public:
  QuicInitialDecryptor();
  ~QuicInitialDecryptor();
  QuicInitialDecryptor(const QuicInitialDecryptor&) = delete;
  QuicInitialDecryptor& operator=(const QuicInitialDecryptor&) = delete;

  // False when libcrypto could not give us SHA-256 HMAC, AES-128-ECB or AES-128-GCM (a broken
  // install); then every call says crypto_unavailable. Checked at start so that it fails loudly.
  bool ready() const { return ready_; }

  // The client's Initial keys for `version` (v1 or v2) and `destination_connection_id` (RFC 9001
  // 5.2, RFC 9369 3.3). The last result is remembered, so the Initials of one connection (same
  // DCID) derive once. Allocates nothing: the HMACs are quic_hmac_sha256.h's over libcrypto's
  // SHA-256 (OpenSSL 3.0's EVP_MAC HMAC allocated 25 times a derivation), with each version's salt
  // padded once at construction (test_quic_initial.cc counts the allocations).
  QuicStatus derive_client_keys(uint32_t version, std::span<const uint8_t> destination_connection_id,
                                QuicInitialKeys& out);

  // Opens the Initial packet at the start of `packet` whose header `header` describes (parsed by
  // parse_quic_long_header from the same bytes). `packet` is not modified: the unprotected header
  // and the plaintext go to this object's buffer, so a packet longer than kQuicMaxDatagramSize is
  // packet_too_long.
  QuicStatus open(std::span<const uint8_t> packet, const QuicLongHeader& header, QuicOpenedPacket& out);

  // Checks a server's Retry packet (`packet` whole, `header` parsed from it) against its Retry
  // Integrity Tag (RFC 9001 5.8, RFC 9369 3.3.3): AES-128-GCM with the version's published key and
  // nonce over the Retry pseudo-packet, which begins with the client's Original Destination
  // Connection ID. ok, or decrypt_failed when the tag does not verify (a client discards such a
  // Retry). Allocates nothing.
  QuicStatus verify_retry(std::span<const uint8_t> packet, const QuicLongHeader& header,
                          std::span<const uint8_t> original_destination_connection_id);

 private:
  bool expand_label(const HmacSha256Key& secret, const char* label, size_t length, uint8_t* out);
  const QuicInitialKeys* keys_for(uint32_t version, std::span<const uint8_t> destination_connection_id);

  bool ready_ = false;
  HmacSha256Key salt_v1_;  // HKDF-Extract's keys, padded once
  HmacSha256Key salt_v2_;
  evp_cipher_st* aes_ecb_ = nullptr;
  evp_cipher_st* aes_gcm_ = nullptr;
  evp_cipher_ctx_st* header_ctx_ = nullptr;
  evp_cipher_ctx_st* payload_ctx_ = nullptr;
  evp_cipher_ctx_st* retry_ctx_ = nullptr;  // AES-128-GCM for Retry integrity tags (own keys)

  // The last derivation (see derive_client_keys).
  bool cached_ = false;
  uint32_t cached_version_ = 0;
  uint8_t cached_dcid_length_ = 0;
  std::array<uint8_t, kQuicMaxConnectionIdLength> cached_dcid_{};
  QuicInitialKeys cached_keys_;
  bool contexts_keyed_ = false;  // header_ctx_ and payload_ctx_ hold cached_keys_' hp and key

  std::unique_ptr<uint8_t[]> plaintext_;  // kQuicMaxDatagramSize bytes, allocated once
};

}  // namespace sluice

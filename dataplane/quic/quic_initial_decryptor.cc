#include "dataplane/quic/quic_initial_decryptor.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace sluice {

namespace {

constexpr size_t kSha256Length = 32;
constexpr size_t kTagLength = 16;
constexpr size_t kSampleLength = 16;
// RFC 9001 5.4.2: the sample starts 4 bytes after the packet number's first byte, as if it were
// 4 bytes long, whatever its real length.
constexpr size_t kSampleOffsetFromPacketNumber = 4;
constexpr uint8_t kLongHeaderProtectedBits = 0x0f;  // reserved (2) and packet number length (2)
constexpr uint8_t kLongHeaderReservedBits = 0x0c;

// RFC 9001 5.2.
constexpr uint8_t kSaltV1[] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                               0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
// RFC 9369 3.3.1.
constexpr uint8_t kSaltV2[] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                               0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};

// RFC 9001 5.8 and RFC 9369 3.3.3: the fixed key and nonce of the Retry Integrity Tag.
constexpr uint8_t kRetryKeyV1[] = {0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
                                   0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e};
constexpr uint8_t kRetryNonceV1[] = {0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb};
constexpr uint8_t kRetryKeyV2[] = {0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2,
                                   0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92};
constexpr uint8_t kRetryNonceV2[] = {0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a};

struct VersionLabels {
  const char* key;
  const char* iv;
  const char* hp;
};
constexpr VersionLabels kLabelsV1 = {"quic key", "quic iv", "quic hp"};
constexpr VersionLabels kLabelsV2 = {"quicv2 key", "quicv2 iv", "quicv2 hp"};  // RFC 9369 3.3.2

}  // namespace

QuicInitialDecryptor::QuicInitialDecryptor() : plaintext_(new uint8_t[kQuicMaxDatagramSize]) {
  // Fetched once: an implicit fetch inside each init would search the provider store every packet.
  aes_ecb_ = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  aes_gcm_ = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  if (aes_ecb_ == nullptr || aes_gcm_ == nullptr) return;
  header_ctx_ = EVP_CIPHER_CTX_new();
  payload_ctx_ = EVP_CIPHER_CTX_new();
  retry_ctx_ = EVP_CIPHER_CTX_new();
  if (header_ctx_ == nullptr || payload_ctx_ == nullptr || retry_ctx_ == nullptr) return;
  if (!hmac_sha256_key(kSaltV1, salt_v1_) || !hmac_sha256_key(kSaltV2, salt_v2_)) return;
  // The ciphers are bound now; each packet then only sets keys and the nonce.
  if (EVP_EncryptInit_ex2(header_ctx_, aes_ecb_, nullptr, nullptr, nullptr) != 1) return;
  if (EVP_CIPHER_CTX_set_padding(header_ctx_, 0) != 1) return;
  if (EVP_DecryptInit_ex2(payload_ctx_, aes_gcm_, nullptr, nullptr, nullptr) != 1) return;
  if (EVP_DecryptInit_ex2(retry_ctx_, aes_gcm_, nullptr, nullptr, nullptr) != 1) return;
  ready_ = true;
}

QuicInitialDecryptor::~QuicInitialDecryptor() {
  EVP_CIPHER_CTX_free(retry_ctx_);
  EVP_CIPHER_CTX_free(payload_ctx_);
  EVP_CIPHER_CTX_free(header_ctx_);
  EVP_CIPHER_free(aes_gcm_);
  EVP_CIPHER_free(aes_ecb_);
}

// HKDF-Expand-Label(secret, label, "", length) of RFC 8446 7.1. Every output QUIC asks for here is
// at most one SHA-256 block, and HKDF-Expand's first block is HMAC(PRK, info || 0x01) (RFC 5869
// 2.3). We compose it from HMAC rather than use libcrypto's HKDF (EVP_KDF), which copies key and
// info to fresh heap memory on every call. `secret` is the PRK, already padded as an HMAC key.
bool QuicInitialDecryptor::expand_label(const HmacSha256Key& secret, const char* label, size_t length,
                                        uint8_t* out) {
  static constexpr char kPrefix[] = "tls13 ";
  const size_t label_length = std::strlen(label);
  uint8_t info[2 + 1 + 255 + 1 + 1];
  size_t n = 0;
  info[n++] = uint8_t(length >> 8);
  info[n++] = uint8_t(length);
  info[n++] = uint8_t(sizeof(kPrefix) - 1 + label_length);
  std::memcpy(info + n, kPrefix, sizeof(kPrefix) - 1);
  n += sizeof(kPrefix) - 1;
  std::memcpy(info + n, label, label_length);
  n += label_length;
  info[n++] = 0;  // empty context
  info[n++] = 1;  // HKDF-Expand's block counter
  uint8_t block[kSha256Length];
  if (length > kSha256Length || !hmac_sha256(secret, {info, n}, {}, block)) return false;
  std::memcpy(out, block, length);
  return true;
}

QuicStatus QuicInitialDecryptor::derive_client_keys(uint32_t version, std::span<const uint8_t> destination_connection_id,
                                                    QuicInitialKeys& out) {
  if (!ready_) return QuicStatus::crypto_unavailable;
  if (version != kQuicVersion1 && version != kQuicVersion2) return QuicStatus::unknown_version;
  const bool v2 = version == kQuicVersion2;
  const VersionLabels& labels = v2 ? kLabelsV2 : kLabelsV1;
  uint8_t initial_secret[kSha256Length];
  HmacSha256Key initial_key, client_key;
  // HKDF-Extract(salt, IKM) is HMAC(salt, IKM) (RFC 5869 2.2).
  const bool derived = hmac_sha256(v2 ? salt_v2_ : salt_v1_, destination_connection_id, {}, initial_secret) &&
                       hmac_sha256_key(initial_secret, initial_key) &&
                       expand_label(initial_key, "client in", 32, out.client_initial_secret.data()) &&
                       hmac_sha256_key(out.client_initial_secret, client_key) &&
                       expand_label(client_key, labels.key, 16, out.key.data()) &&
                       expand_label(client_key, labels.iv, 12, out.iv.data()) &&
                       expand_label(client_key, labels.hp, 16, out.hp.data());
  return derived ? QuicStatus::ok : QuicStatus::crypto_unavailable;
}

const QuicInitialKeys* QuicInitialDecryptor::keys_for(uint32_t version, std::span<const uint8_t> dcid) {
  if (cached_ && cached_version_ == version && cached_dcid_length_ == dcid.size() &&
      std::equal(dcid.begin(), dcid.end(), cached_dcid_.begin())) {
    return &cached_keys_;
  }
  cached_ = false;
  contexts_keyed_ = false;
  if (dcid.size() > cached_dcid_.size()) return nullptr;
  if (derive_client_keys(version, dcid, cached_keys_) != QuicStatus::ok) return nullptr;
  cached_ = true;
  cached_version_ = version;
  cached_dcid_length_ = uint8_t(dcid.size());
  std::copy(dcid.begin(), dcid.end(), cached_dcid_.begin());
  return &cached_keys_;
}

QuicStatus QuicInitialDecryptor::open(std::span<const uint8_t> packet, const QuicLongHeader& header,
                                      QuicOpenedPacket& out) {
  out = QuicOpenedPacket{};
  if (!ready_) return QuicStatus::crypto_unavailable;
  if (header.type != QuicPacketType::initial) return QuicStatus::not_initial;
  const size_t pn_offset = header.packet_number_offset;
  const size_t packet_length = header.packet_length;
  if (packet_length > packet.size() || pn_offset > packet_length) return QuicStatus::truncated;
  // The sample must exist (RFC 9001 5.4.2), which also leaves room for the packet number and a tag.
  if (packet_length - pn_offset < kSampleOffsetFromPacketNumber + kSampleLength) return QuicStatus::packet_too_short;
  // The plaintext buffer holds any packet a UDP datagram can carry, and no more.
  if (packet_length > kQuicMaxDatagramSize) return QuicStatus::packet_too_long;
  if (header.destination_connection_id.size() > kQuicMaxConnectionIdLength) return QuicStatus::connection_id_too_long;

  const QuicInitialKeys* keys = keys_for(header.version, header.destination_connection_id);
  if (keys == nullptr) return QuicStatus::crypto_unavailable;

  // The AES key schedules are set once per connection's keys: the Initials of one connection
  // then cost only the nonce (re-keying measured at about half of a 1200-byte packet's GCM time).
  if (!contexts_keyed_) {
    if (EVP_EncryptInit_ex2(header_ctx_, nullptr, keys->hp.data(), nullptr, nullptr) != 1 ||
        EVP_DecryptInit_ex2(payload_ctx_, nullptr, keys->key.data(), nullptr, nullptr) != 1) {
      return QuicStatus::crypto_unavailable;
    }
    contexts_keyed_ = true;
  }

  // Header protection: mask = AES-ECB(hp, sample) (RFC 9001 5.4.3). With padding off, one whole
  // block in leaves nothing buffered, so the context needs no Final and is ready for the next.
  uint8_t mask[kSampleLength];
  int written = 0;
  if (EVP_EncryptUpdate(header_ctx_, mask, &written, packet.data() + pn_offset + kSampleOffsetFromPacketNumber,
                        int(kSampleLength)) != 1 ||
      written != int(kSampleLength)) {
    return QuicStatus::crypto_unavailable;
  }

  uint8_t* plain = plaintext_.get();
  // Always copies 4 bytes of packet number: the sample check above keeps them inside the packet.
  std::memcpy(plain, packet.data(), pn_offset + 4);
  plain[0] ^= mask[0] & kLongHeaderProtectedBits;
  const size_t pn_length = size_t(plain[0] & 0x03) + 1;
  uint64_t packet_number = 0;
  for (size_t i = 0; i < pn_length; ++i) {
    plain[pn_offset + i] ^= mask[1 + i];
    packet_number = (packet_number << 8) | plain[pn_offset + i];
  }
  const size_t header_length = pn_offset + pn_length;
  const size_t ciphertext_length = packet_length - header_length - kTagLength;

  // The nonce is the IV with the packet number XORed into its low bytes (RFC 9001 5.3).
  uint8_t nonce[12];
  std::memcpy(nonce, keys->iv.data(), sizeof(nonce));
  for (size_t i = 0; i < 8; ++i) nonce[sizeof(nonce) - 1 - i] ^= uint8_t(packet_number >> (8 * i));
  uint8_t tag[kTagLength];
  std::memcpy(tag, packet.data() + packet_length - kTagLength, kTagLength);

  uint8_t* payload = plain + header_length;
  int payload_written = 0;
  int final_written = 0;
  if (EVP_DecryptInit_ex2(payload_ctx_, nullptr, nullptr, nonce, nullptr) != 1 ||
      EVP_DecryptUpdate(payload_ctx_, nullptr, &written, plain, int(header_length)) != 1 ||
      EVP_DecryptUpdate(payload_ctx_, payload, &payload_written, packet.data() + header_length,
                        int(ciphertext_length)) != 1 ||
      EVP_CIPHER_CTX_ctrl(payload_ctx_, EVP_CTRL_AEAD_SET_TAG, int(kTagLength), tag) != 1) {
    return QuicStatus::crypto_unavailable;
  }
  // A tag that does not verify is the packet's fault: other keys (another DCID) or changed bytes.
  if (EVP_DecryptFinal_ex(payload_ctx_, payload + payload_written, &final_written) != 1) {
    return QuicStatus::decrypt_failed;
  }
  // Checked only after the tag verified, as RFC 9000 17.2 says: before, the bits are not the sender's.
  if (plain[0] & kLongHeaderReservedBits) return QuicStatus::reserved_bits_set;

  out.packet_number = packet_number;
  out.header = {plain, header_length};
  out.payload = {payload, ciphertext_length};
  return QuicStatus::ok;
}

QuicStatus QuicInitialDecryptor::verify_retry(std::span<const uint8_t> packet, const QuicLongHeader& header,
                                              std::span<const uint8_t> original_dcid) {
  if (!ready_) return QuicStatus::crypto_unavailable;
  if (header.type != QuicPacketType::retry) return QuicStatus::not_initial;
  if (header.version != kQuicVersion1 && header.version != kQuicVersion2) return QuicStatus::unknown_version;
  if (packet.size() < kTagLength || original_dcid.size() > kQuicMaxConnectionIdLength) return QuicStatus::truncated;
  const bool v2 = header.version == kQuicVersion2;
  // The pseudo-packet is ODCID Length, ODCID, then the Retry without its tag: all of it AAD, no
  // plaintext. GCM takes the AAD in pieces, so it is never copied together.
  const uint8_t odcid_length = uint8_t(original_dcid.size());
  uint8_t tag[kTagLength];
  std::memcpy(tag, packet.data() + packet.size() - kTagLength, kTagLength);
  int written = 0;
  if (EVP_DecryptInit_ex2(retry_ctx_, nullptr, v2 ? kRetryKeyV2 : kRetryKeyV1, v2 ? kRetryNonceV2 : kRetryNonceV1,
                          nullptr) != 1 ||
      EVP_DecryptUpdate(retry_ctx_, nullptr, &written, &odcid_length, 1) != 1 ||
      (odcid_length > 0 &&
       EVP_DecryptUpdate(retry_ctx_, nullptr, &written, original_dcid.data(), int(odcid_length)) != 1) ||
      EVP_DecryptUpdate(retry_ctx_, nullptr, &written, packet.data(), int(packet.size() - kTagLength)) != 1 ||
      EVP_CIPHER_CTX_ctrl(retry_ctx_, EVP_CTRL_AEAD_SET_TAG, int(kTagLength), tag) != 1) {
    return QuicStatus::crypto_unavailable;
  }
  uint8_t none[1];
  return EVP_DecryptFinal_ex(retry_ctx_, none, &written) == 1 ? QuicStatus::ok : QuicStatus::decrypt_failed;
}

}  // namespace sluice

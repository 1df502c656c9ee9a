// Builds protected QUIC client Initial packets for the tests and the fuzz target: the sender's side
// of RFC 9001 5, with libcrypto, so that packets of any shape (split ClientHellos, coalesced
// packets, forbidden frames) can be made beyond the RFCs' one published sample. Off the packet path:
// it allocates freely.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "dataplane/quic/quic_initial_decryptor.h"
#include "dataplane/quic/quic_packet_header.h"

namespace sluice::test {

using QuicBytes = std::vector<uint8_t>;

struct InitialSpec {
  uint32_t version = kQuicVersion1;
  QuicBytes dcid = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
  QuicBytes scid;
  QuicBytes token;
  uint32_t packet_number = 0;
  size_t packet_number_length = 4;  // 1..4
  uint8_t reserved_bits = 0;        // set into the two reserved header bits before protection
  QuicBytes frames;
};

inline void put_varint(QuicBytes& out, uint64_t value) {
  if (value < 0x40) {
    out.push_back(uint8_t(value));
  } else if (value < 0x4000) {
    out.push_back(uint8_t(0x40 | (value >> 8)));
    out.push_back(uint8_t(value));
  } else if (value < 0x40000000) {
    for (int i = 3; i >= 0; --i) out.push_back(uint8_t((i == 3 ? 0x80 : 0) | uint8_t(value >> (8 * i))));
  } else {
    for (int i = 7; i >= 0; --i) out.push_back(uint8_t((i == 7 ? 0xc0 : 0) | uint8_t(value >> (8 * i))));
  }
}

inline QuicBytes crypto_frame(uint64_t offset, std::span<const uint8_t> data) {
  QuicBytes frame = {0x06};
  put_varint(frame, offset);
  put_varint(frame, data.size());
  frame.insert(frame.end(), data.begin(), data.end());
  return frame;
}

inline QuicBytes padding_frames(size_t count) { return QuicBytes(count, 0x00); }

// The header up to the packet number, with a two-byte Length (so that it need not be known first).
inline QuicBytes initial_header(const InitialSpec& spec, size_t payload_length) {
  const uint8_t type_bits = spec.version == kQuicVersion2 ? 0x01 : 0x00;  // RFC 9369 3.2
  QuicBytes out = {uint8_t(0xc0 | (type_bits << 4) | (spec.reserved_bits << 2) | (spec.packet_number_length - 1))};
  for (int i = 3; i >= 0; --i) out.push_back(uint8_t(spec.version >> (8 * i)));
  out.push_back(uint8_t(spec.dcid.size()));
  out.insert(out.end(), spec.dcid.begin(), spec.dcid.end());
  out.push_back(uint8_t(spec.scid.size()));
  out.insert(out.end(), spec.scid.begin(), spec.scid.end());
  put_varint(out, spec.token.size());
  out.insert(out.end(), spec.token.begin(), spec.token.end());
  const size_t length = spec.packet_number_length + payload_length + 16;
  out.push_back(uint8_t(0x40 | (length >> 8)));
  out.push_back(uint8_t(length));
  return out;
}

// A protected Initial as a client sends it; keys from `keys_source` (the code under test derives
// them, and the RFC vectors check that derivation separately). Empty when libcrypto failed.
inline QuicBytes protect_initial(QuicInitialDecryptor& keys_source, const InitialSpec& spec) {
  QuicInitialKeys keys;
  if (keys_source.derive_client_keys(spec.version, spec.dcid, keys) != QuicStatus::ok) return {};
  QuicBytes packet = initial_header(spec, spec.frames.size());
  const size_t pn_offset = packet.size();
  for (size_t i = spec.packet_number_length; i-- > 0;) packet.push_back(uint8_t(spec.packet_number >> (8 * i)));

  uint8_t nonce[12];
  std::memcpy(nonce, keys.iv.data(), sizeof(nonce));
  for (size_t i = 0; i < 8; ++i) nonce[11 - i] ^= uint8_t(uint64_t(spec.packet_number) >> (8 * i));
  QuicBytes sealed(spec.frames.size() + 16);
  int n = 0;
  bool good = false;
  if (EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new()) {
    good = EVP_EncryptInit_ex2(ctx, EVP_aes_128_gcm(), keys.key.data(), nonce, nullptr) == 1 &&
           EVP_EncryptUpdate(ctx, nullptr, &n, packet.data(), int(packet.size())) == 1 &&
           EVP_EncryptUpdate(ctx, sealed.data(), &n, spec.frames.data(), int(spec.frames.size())) == 1 &&
           EVP_EncryptFinal_ex(ctx, sealed.data() + n, &n) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, sealed.data() + spec.frames.size()) == 1;
    EVP_CIPHER_CTX_free(ctx);
  }
  if (!good) return {};
  packet.insert(packet.end(), sealed.begin(), sealed.end());

  // Header protection needs 4 + 16 bytes after the packet number's start; a shorter packet is
  // returned unprotected-header (the reader refuses it before looking at the protection).
  if (packet.size() < pn_offset + 4 + 16) return packet;
  uint8_t mask[16];
  good = false;
  if (EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new()) {
    good = EVP_EncryptInit_ex2(ctx, EVP_aes_128_ecb(), keys.hp.data(), nullptr, nullptr) == 1 &&
           EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
           EVP_EncryptUpdate(ctx, mask, &n, packet.data() + pn_offset + 4, 16) == 1;
    EVP_CIPHER_CTX_free(ctx);
  }
  if (!good) return {};
  packet[0] ^= mask[0] & 0x0f;
  for (size_t i = 0; i < spec.packet_number_length; ++i) packet[pn_offset + i] ^= mask[1 + i];
  return packet;
}

// A server's Retry (RFC 9000 17.2.5) to a client whose connection IDs were `client_scid` (the
// Retry's DCID) and `original_dcid`, with its integrity tag (RFC 9001 5.8, RFC 9369 3.3.3) made
// here with libcrypto from the RFCs' fixed key and nonce; `break_tag` flips a bit of it.
inline QuicBytes retry_packet(uint32_t version, const QuicBytes& client_scid, const QuicBytes& new_scid,
                              const QuicBytes& token, const QuicBytes& original_dcid, bool break_tag = false) {
  static constexpr uint8_t key_v1[] = {0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
                                       0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e};
  static constexpr uint8_t nonce_v1[] = {0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb};
  static constexpr uint8_t key_v2[] = {0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2,
                                       0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92};
  static constexpr uint8_t nonce_v2[] = {0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a};
  const bool v2 = version == kQuicVersion2;
  QuicBytes packet = {uint8_t(v2 ? 0xc0 : 0xf0)};  // Retry: type bits 11 in v1, 00 in v2
  for (int i = 3; i >= 0; --i) packet.push_back(uint8_t(version >> (8 * i)));
  packet.push_back(uint8_t(client_scid.size()));
  packet.insert(packet.end(), client_scid.begin(), client_scid.end());
  packet.push_back(uint8_t(new_scid.size()));
  packet.insert(packet.end(), new_scid.begin(), new_scid.end());
  packet.insert(packet.end(), token.begin(), token.end());
  QuicBytes pseudo = {uint8_t(original_dcid.size())};
  pseudo.insert(pseudo.end(), original_dcid.begin(), original_dcid.end());
  pseudo.insert(pseudo.end(), packet.begin(), packet.end());
  uint8_t tag[16] = {};
  int n = 0;
  bool good = false;
  if (EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new()) {
    good = EVP_EncryptInit_ex2(ctx, EVP_aes_128_gcm(), v2 ? key_v2 : key_v1, v2 ? nonce_v2 : nonce_v1, nullptr) == 1 &&
           EVP_EncryptUpdate(ctx, nullptr, &n, pseudo.data(), int(pseudo.size())) == 1 &&
           EVP_EncryptFinal_ex(ctx, tag, &n) == 1 && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
  }
  if (!good) return {};
  if (break_tag) tag[5] ^= 0x10;
  packet.insert(packet.end(), tag, tag + 16);
  return packet;
}

// A server's Version Negotiation packet (RFC 9000 17.2.1) listing `versions`.
inline QuicBytes version_negotiation_packet(const QuicBytes& client_scid, const QuicBytes& client_dcid,
                                            const std::vector<uint32_t>& versions) {
  QuicBytes packet = {0x80, 0, 0, 0, 0, uint8_t(client_scid.size())};
  packet.insert(packet.end(), client_scid.begin(), client_scid.end());
  packet.push_back(uint8_t(client_dcid.size()));
  packet.insert(packet.end(), client_dcid.begin(), client_dcid.end());
  for (uint32_t version : versions) {
    for (int i = 3; i >= 0; --i) packet.push_back(uint8_t(version >> (8 * i)));
  }
  return packet;
}

}  // namespace sluice::test

#include "cli/probe_quic.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>

#include "dataplane/quic/quic_initial_decryptor.h"

namespace sluice {

namespace {

constexpr size_t kDatagramSize = 1200;
constexpr size_t kPacketNumberLength = 4;
constexpr size_t kTagLength = 16;
constexpr uint8_t kDestinationConnectionId[] = {0x73, 0x6c, 0x75, 0x69, 0x63, 0x65, 0x78, 0x70};  // "sluicexp"

void put_varint2(std::vector<uint8_t>& out, size_t value) {  // value < 16384
  out.push_back(uint8_t(0x40 | (value >> 8)));
  out.push_back(uint8_t(value));
}

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

}  // namespace

std::vector<uint8_t> quic_initial_payload(std::span<const uint8_t> crypto) {
  QuicInitialDecryptor deriver;  // the reader's own key schedule: the sender's keys are the same
  QuicInitialKeys keys;
  if (deriver.derive_client_keys(kQuicVersion1, kDestinationConnectionId, keys) != QuicStatus::ok) return {};

  // Header: long, fixed bit, Initial, 4-byte packet number; v1; DCID; no SCID; no token; Length.
  std::vector<uint8_t> packet;
  packet.reserve(kDatagramSize + crypto.size() + 64);
  for (uint8_t byte : {0xc3, 0, 0, 0, 1, int(sizeof kDestinationConnectionId)}) packet.push_back(byte);
  for (uint8_t byte : kDestinationConnectionId) packet.push_back(byte);
  packet.push_back(0);  // SCID length
  packet.push_back(0);  // token length
  const size_t length_field = packet.size();
  const size_t header_length = length_field + 2 + kPacketNumberLength;

  std::vector<uint8_t> frames = {0x06, 0x00};  // CRYPTO at offset 0
  put_varint2(frames, crypto.size());
  frames.insert(frames.end(), crypto.begin(), crypto.end());
  if (header_length + frames.size() + kTagLength < kDatagramSize)
    frames.resize(kDatagramSize - header_length - kTagLength, 0x00);  // PADDING frames
  put_varint2(packet, kPacketNumberLength + frames.size() + kTagLength);
  const size_t pn_offset = packet.size();
  packet.insert(packet.end(), kPacketNumberLength, 0);  // packet number 0

  // Payload: AES-128-GCM, nonce = iv (packet number 0), AAD = the header.
  std::vector<uint8_t> sealed(frames.size() + kTagLength);
  int n = 0;
  CipherContext gcm(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!gcm || EVP_EncryptInit_ex2(gcm.get(), EVP_aes_128_gcm(), keys.key.data(), keys.iv.data(), nullptr) != 1 ||
      EVP_EncryptUpdate(gcm.get(), nullptr, &n, packet.data(), int(packet.size())) != 1 ||
      EVP_EncryptUpdate(gcm.get(), sealed.data(), &n, frames.data(), int(frames.size())) != 1 ||
      EVP_EncryptFinal_ex(gcm.get(), sealed.data() + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(gcm.get(), EVP_CTRL_AEAD_GET_TAG, int(kTagLength), sealed.data() + frames.size()) != 1)
    return {};
  packet.insert(packet.end(), sealed.begin(), sealed.end());

  // Header protection: AES-128-ECB of the sample 4 bytes after the packet number's start.
  uint8_t mask[16];
  CipherContext ecb(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ecb || EVP_EncryptInit_ex2(ecb.get(), EVP_aes_128_ecb(), keys.hp.data(), nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ecb.get(), 0) != 1 ||
      EVP_EncryptUpdate(ecb.get(), mask, &n, packet.data() + pn_offset + 4, 16) != 1)
    return {};
  packet[0] ^= mask[0] & 0x0f;
  for (size_t i = 0; i < kPacketNumberLength; ++i) packet[pn_offset + i] ^= mask[1 + i];
  return packet;
}

}  // namespace sluice

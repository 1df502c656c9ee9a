#include "dataplane/quic/quic_crypto_stream.h"

#include <algorithm>
#include <cstring>

#include "dataplane/parse/byte_reader.h"

namespace sluice {

namespace {
constexpr size_t kHandshakeHeaderLength = 4;
}

QuicCryptoStream::QuicCryptoStream(std::span<uint8_t> data, std::span<uint8_t> present)
    : data_(data), present_(present.first(std::min(present.size(), present_bytes_for(data.size())))) {
  // A short `present` shrinks what can be tracked rather than let a bit fall outside it.
  if (present_.size() < present_bytes_for(data_.size())) data_ = data_.first(present_.size() * 8);
  reset();
}

void QuicCryptoStream::reset() {
  if (!present_.empty()) std::memset(present_.data(), 0, present_.size());
  contiguous_ = 0;
}

QuicStatus QuicCryptoStream::add(uint64_t offset, std::span<const uint8_t> bytes) {
  if (offset > data_.size() || bytes.size() > data_.size() - offset) return QuicStatus::crypto_too_large;
  const size_t begin = size_t(offset);
  const size_t end = begin + bytes.size();
  // Check every overlap before writing, so that a conflicting frame changes nothing. Whole bytes of
  // `present_` go eight stream bytes at a time: none there, nothing to compare.
  for (size_t i = begin; i < end;) {
    if (i % 8 == 0 && end - i >= 8 && present_[i / 8] == 0) {
      i += 8;
      continue;
    }
    if (has(i) && data_[i] != bytes[i - begin]) return QuicStatus::crypto_conflict;
    ++i;
  }
  std::memcpy(data_.data() + begin, bytes.data(), bytes.size());
  for (size_t i = begin; i < end;) {
    if (i % 8 == 0 && end - i >= 8) {
      present_[i / 8] = 0xff;
      i += 8;
    } else {
      mark(i++);
    }
  }
  while (contiguous_ < data_.size()) {
    if (contiguous_ % 8 == 0 && data_.size() - contiguous_ >= 8 && present_[contiguous_ / 8] == 0xff) {
      contiguous_ += 8;
    } else if (has(contiguous_)) {
      ++contiguous_;
    } else {
      break;
    }
  }
  return QuicStatus::ok;
}

size_t QuicCryptoStream::first_message_length() const {
  if (contiguous_ < kHandshakeHeaderLength) return 0;
  return kHandshakeHeaderLength + load_be24(data_.data() + 1);
}

std::span<const uint8_t> QuicCryptoStream::first_handshake_message() const {
  const size_t length = first_message_length();
  if (length == 0 || length > contiguous_) return {};
  return std::span<const uint8_t>(data_.data(), length);
}

bool QuicCryptoStream::first_handshake_message_too_large() const { return first_message_length() > data_.size(); }

}  // namespace sluice

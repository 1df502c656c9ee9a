// Big-endian field access for the parsers and the reset builder.
// Pure, no allocation. Loads and stores go byte by byte, so no access is ever unaligned and the
// host's byte order does not matter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sluice {

inline uint16_t load_be16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }

inline uint32_t load_be24(const uint8_t* p) { return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2]; }

inline uint32_t load_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

inline void store_be16(uint8_t* p, uint16_t value) {
  p[0] = uint8_t(value >> 8);
  p[1] = uint8_t(value);
}

inline void store_be32(uint8_t* p, uint32_t value) {
  p[0] = uint8_t(value >> 24);
  p[1] = uint8_t(value >> 16);
  p[2] = uint8_t(value >> 8);
  p[3] = uint8_t(value);
}

enum class ReadResult : uint8_t {
  ok = 0,
  overrun,     // the field runs past its container's declared end: the lengths contradict
  short_data,  // the field is inside its container but its bytes have not arrived yet
};

// Reads fields of a length-prefixed container whose declared end may lie beyond the bytes that have
// arrived. Telling the two failures apart is what lets a parser say "malformed" for a contradiction
// but "incomplete" for a valid prefix.
class ByteReader {
 public:
  // `data` holds every byte that has arrived; the container is [begin, end) of it (end may be past
  // data.size()). begin <= end is the caller's promise.
  ByteReader(std::span<const uint8_t> data, size_t begin, size_t end) : data_(data), pos_(begin), end_(end) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return end_ - pos_; }
  bool at_end() const { return pos_ == end_; }

  // Claims the next `n` bytes; `start` is their offset in `data`.
  ReadResult take(size_t n, size_t& start) {
    if (n > end_ - pos_) return ReadResult::overrun;
    if (pos_ > data_.size() || n > data_.size() - pos_) return ReadResult::short_data;
    start = pos_;
    pos_ += n;
    return ReadResult::ok;
  }

  ReadResult u8(uint8_t& value) {
    size_t start = 0;
    auto result = take(1, start);
    if (result == ReadResult::ok) value = data_[start];
    return result;
  }

  ReadResult u16(uint16_t& value) {
    size_t start = 0;
    auto result = take(2, start);
    if (result == ReadResult::ok) value = load_be16(data_.data() + start);
    return result;
  }

  ReadResult u24(uint32_t& value) {
    size_t start = 0;
    auto result = take(3, start);
    if (result == ReadResult::ok) value = load_be24(data_.data() + start);
    return result;
  }

  // Claims `n` bytes and returns them as text.
  ReadResult text(size_t n, std::string_view& value) {
    size_t start = 0;
    auto result = take(n, start);
    if (result == ReadResult::ok) value = std::string_view(reinterpret_cast<const char*>(data_.data() + start), n);
    return result;
  }

  // Claims `n` bytes as a nested container without requiring them to have arrived, so that the
  // nested reader can still tell a contradiction from a short read.
  ReadResult nested(size_t n, ByteReader& child) {
    if (n > end_ - pos_) return ReadResult::overrun;
    child = ByteReader(data_, pos_, pos_ + n);
    pos_ += n;
    return ReadResult::ok;
  }

 private:
  std::span<const uint8_t> data_;
  size_t pos_;
  size_t end_;
};

}  // namespace sluice

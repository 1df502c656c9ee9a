#include "dataplane/parse/tcp_options.h"

namespace sluice {

namespace {

constexpr uint8_t kEol = 0, kNop = 1, kMss = 2, kWindowScale = 3, kSackPermitted = 4, kSack = 5, kTimestamps = 8;
constexpr size_t kFixedTcpHeader = 20;

// The one length each allowed kind has (SACK: 2 + 8 a block, 1 to 4 blocks); 0 for other kinds.
bool length_fits(uint8_t kind, uint8_t length) {
  switch (kind) {
    case kMss: return length == 4;
    case kWindowScale: return length == 3;
    case kSackPermitted: return length == 2;
    case kSack: return length >= 10 && length <= 34 && (length - 2) % 8 == 0;
    case kTimestamps: return length == 10;
    default: return false;
  }
}

}  // namespace

TcpOptionsStatus check_tcp_options(std::span<const uint8_t> frame, const ParsedPacket& packet) {
  const size_t begin = size_t(packet.l4_offset) + kFixedTcpHeader;
  const size_t end = packet.payload_offset;
  if (end < begin || end > frame.size()) return TcpOptionsStatus::malformed;
  auto options = frame.subspan(begin, end - begin);
  size_t i = 0;
  while (i < options.size()) {
    const uint8_t kind = options[i];
    if (kind == kEol) {
      // What follows EOL is padding; anything but zeros there is data no stack reads.
      for (size_t j = i + 1; j < options.size(); ++j)
        if (options[j] != 0) return TcpOptionsStatus::malformed;
      return TcpOptionsStatus::ok;
    }
    if (kind == kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= options.size()) return TcpOptionsStatus::malformed;
    const uint8_t length = options[i + 1];
    if (length < 2 || i + length > options.size()) return TcpOptionsStatus::malformed;
    if (kind != kMss && kind != kWindowScale && kind != kSackPermitted && kind != kSack && kind != kTimestamps)
      return TcpOptionsStatus::not_allowed;
    if (!length_fits(kind, length)) return TcpOptionsStatus::malformed;
    i += length;
  }
  return TcpOptionsStatus::ok;
}

}  // namespace sluice

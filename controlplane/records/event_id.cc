#include "controlplane/records/event_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace sluice {

void format_uuid_v4_into(const uint8_t bytes[16], char (&text)[EventIdSource::kTextLength]) {
  uint8_t b[16];
  for (int i = 0; i < 16; ++i) b[i] = bytes[i];
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4: random
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10: RFC 9562
  static constexpr char kHex[] = "0123456789abcdef";
  size_t at = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text[at++] = '-';
    text[at++] = kHex[b[i] >> 4];
    text[at++] = kHex[b[i] & 0x0f];
  }
}

std::string format_uuid_v4(const uint8_t bytes[16]) {
  char text[EventIdSource::kTextLength];
  format_uuid_v4_into(bytes, text);
  return std::string(text, sizeof text);
}

void EventIdSource::refill() {
  size_t filled = 0;
  while (filled < pool_.size()) {
    ssize_t got = getrandom(pool_.data() + filled, pool_.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // No kernel randomness at all (pre-3.17 kernel or a seccomp filter): ids that could
      // repeat across appliances would silently corrupt every table they are merged into.
      std::perror("sluice: getrandom for record event ids");
      std::abort();
    }
    filled += static_cast<size_t>(got);
  }
  used_ = 0;
}

std::string EventIdSource::next() {
  char text[kTextLength];
  return std::string(next_into(text));
}

std::string_view EventIdSource::next_into(char (&text)[kTextLength]) {
  if (used_ + 16 > pool_.size()) refill();
  format_uuid_v4_into(pool_.data() + used_, text);
  used_ += 16;
  return {text, sizeof text};
}

}  // namespace sluice

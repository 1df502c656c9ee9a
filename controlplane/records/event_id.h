// The event_id of every record: a random (version 4, RFC 9562) UUID, so that records of every
// appliance and every restart can be merged into one table without a collision (122 random
// bits). Control thread only: records are made there, never on the packet path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

class EventIdSource {
 public:
  // "xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx" in lower-case hex, V one of 8, 9, a, b.
  std::string next();
  // The same into `text` (no allocation); the view points into it.
  static constexpr size_t kTextLength = 36;
  std::string_view next_into(char (&text)[kTextLength]);

 private:
  void refill();

  // Random bytes from the kernel (getrandom), taken 4 KiB at a time: one system call serves 256
  // records. A refill that cannot get kernel randomness aborts rather than write guessable ids.
  std::array<uint8_t, 4096> pool_{};
  size_t used_ = sizeof pool_;
};

// Formats 16 bytes as a version 4 UUID (sets the version and variant bits).
std::string format_uuid_v4(const uint8_t bytes[16]);
void format_uuid_v4_into(const uint8_t bytes[16], char (&text)[EventIdSource::kTextLength]);

}  // namespace sluice

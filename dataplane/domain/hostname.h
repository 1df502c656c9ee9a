// Host name normalisation shared by the matcher (packet path) and the validator.
#pragma once

#include <cstddef>
#include <string_view>

namespace sluice {

inline constexpr size_t kMaxHostnameLength = 253;

enum class HostnameStatus : uint8_t {
  ok = 0,
  empty,
  too_long,           // over 253 bytes after the trailing dot is removed
  bad_label_length,   // an empty label or one over 63 bytes
  invalid_byte,       // outside [A-Za-z0-9-_] in a label
};

// Lower-cases `name`, removes one trailing dot and checks hostname syntax (letters, digits,
// hyphen, underscore; labels 1..63 bytes). Writes at most kMaxHostnameLength bytes to `out`
// (no terminator) and sets `out_length`. No allocation.
HostnameStatus normalize_hostname(std::string_view name, char* out, size_t& out_length);

const char* to_string(HostnameStatus status);

}  // namespace sluice

// libFuzzer target: normalize_hostname over arbitrary names.
#include <cstring>
#include <string_view>
#include <vector>

#include "dataplane/domain/hostname.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

bool is_normal_byte(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view name(reinterpret_cast<const char*>(data), size);
  // Exactly the documented room, on the heap, so that ASan sees a write past it.
  std::vector<char> out(kMaxHostnameLength);
  size_t length = 12345;
  const auto status = normalize_hostname(name, out.data(), length);
  FUZZ_CHECK(std::strcmp(to_string(status), "unknown") != 0);
  if (status != HostnameStatus::ok) {
    FUZZ_CHECK(length == 0);
    return 0;
  }
  FUZZ_CHECK(length >= 1 && length <= kMaxHostnameLength);
  FUZZ_CHECK(length == size || (length == size - 1 && name.back() == '.'));
  const std::string_view normal(out.data(), length);
  // Labels of 1..63 normal bytes joined by single dots.
  size_t label = 0;
  for (char c : normal) {
    if (c == '.') {
      FUZZ_CHECK(label >= 1);
      label = 0;
      continue;
    }
    FUZZ_CHECK(is_normal_byte(c));
    ++label;
    FUZZ_CHECK(label <= 63);
  }
  FUZZ_CHECK(label >= 1);
  // Only the case differs from the input.
  for (size_t i = 0; i < length; ++i) {
    const char c = name[i];
    FUZZ_CHECK(normal[i] == ((c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c));
  }
  // A normal name is its own normal form.
  std::vector<char> twice(kMaxHostnameLength);
  size_t twice_length = 0;
  FUZZ_CHECK(normalize_hostname(normal, twice.data(), twice_length) == HostnameStatus::ok);
  FUZZ_CHECK(twice_length == length && std::memcmp(twice.data(), out.data(), length) == 0);
  return 0;
}

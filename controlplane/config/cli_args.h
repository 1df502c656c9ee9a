// Small helpers for the command lines: strict numbers (both), and "--flag VALUE" / "--flag=VALUE"
// for sluiced (sluicectl reads its arguments with CLI11).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

inline std::optional<uint32_t> parse_uint32(std::string_view text) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Walks argv; `take(flag)` returns the flag's value when argv[i] is that flag.
class ArgCursor {
 public:
  ArgCursor(int argc, char** argv, int first) : argc_(argc), argv_(argv), index_(first) {}
  bool done() const { return index_ >= argc_; }
  std::string_view current() const { return argv_[index_]; }
  void next() { ++index_; }
  // True when the current argument is `flag` (with "=VALUE" or a following VALUE); the value is
  // stored in `value`, `missing` is set when the flag has no value.
  bool take(std::string_view flag, std::string& value, bool& missing) {
    std::string_view arg = current();
    if (arg.rfind(flag, 0) != 0) return false;
    if (arg.size() == flag.size()) {
      if (index_ + 1 >= argc_) {
        missing = true;
        return true;
      }
      value = argv_[++index_];
      return true;
    }
    if (arg[flag.size()] != '=') return false;
    value = std::string(arg.substr(flag.size() + 1));
    return true;
  }

 private:
  int argc_;
  char** argv_;
  int index_;
};

}  // namespace sluice

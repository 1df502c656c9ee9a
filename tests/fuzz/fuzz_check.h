// Shared by the libFuzzer targets: invariants the parsers promise beyond "does not crash".
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

// A broken invariant is a finding like a crash: say which, then abort so that libFuzzer keeps the
// input as a crash artifact.
#define FUZZ_CHECK(condition)                                                                     \
  do {                                                                                            \
    if (!(condition)) {                                                                           \
      std::fprintf(stderr, "invariant broken: %s (%s:%d)\n", #condition, __FILE__, __LINE__);    \
      std::abort();                                                                               \
    }                                                                                             \
  } while (false)

namespace sluice::fuzz {

// True when `view` lies inside [begin, begin + size). An empty view may point anywhere (a
// default std::string_view points nowhere).
inline bool inside(std::string_view view, const uint8_t* begin, size_t size) {
  if (view.empty()) return true;
  const char* first = reinterpret_cast<const char*>(begin);
  return view.data() >= first && view.size() <= size && view.data() - first <= std::ptrdiff_t(size - view.size());
}

}  // namespace sluice::fuzz

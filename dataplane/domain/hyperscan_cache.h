// Compiled domain matchers (suffix table and Hyperscan database) kept on disk, keyed by their
// content, so that a restart or a reload with unchanged domain lists skips compilation. Control
// thread only (file I/O).
//
// A file holds the canonical pattern text it was compiled from; a load compares it in full,
// so a hash collision or a stale file can only cost a recompile, never a wrong matcher.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sluice {

class HyperscanCache {
 public:
  explicit HyperscanCache(std::string directory) : directory_(std::move(directory)) {}

  // Hands the bytes stored for `canonical_patterns` to `accept`, which returns whether it could
  // use them; a hit when it could, a miss when it could not or nothing is stored.
  bool load(const std::string& canonical_patterns, const std::function<bool(std::string_view)>& accept);
  // Best effort: a cache that cannot be written only costs the next compile.
  void store(const std::string& canonical_patterns, std::string_view bytes);

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  std::string path_for(const std::string& canonical_patterns) const;

  std::string directory_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace sluice

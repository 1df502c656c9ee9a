// Compiled Hyperscan databases kept on disk, keyed by their content, so that a restart or a
// reload with unchanged domain lists skips compilation. Control thread only (file I/O).
//
// A file holds the canonical pattern text it was compiled from; a load compares it in full,
// so a hash collision or a stale file can only cost a recompile, never a wrong database.
#pragma once

#include <cstdint>
#include <string>

#include <hs/hs.h>

namespace sluice {

class HyperscanCache {
 public:
  explicit HyperscanCache(std::string directory) : directory_(std::move(directory)) {}

  // The database compiled from `canonical_patterns`, or nullptr when none is cached.
  hs_database_t* load(const std::string& canonical_patterns);
  // Best effort: a cache that cannot be written only costs the next compile.
  void store(const std::string& canonical_patterns, const hs_database_t* database);

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  std::string path_for(const std::string& canonical_patterns) const;

  std::string directory_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace sluice

#include "dataplane/domain/hyperscan_cache.h"

#include <hs/hs.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice {

namespace {

// Two FNV-1a variants: a 128-bit name, so files of different lists practically never meet.
uint64_t fnv1a(const std::string& text, uint64_t basis) {
  uint64_t hash = basis;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// Databases are tied to the Hyperscan version and the CPU features they were built for.
std::string platform_tag() {
  hs_platform_info_t platform{};
  hs_populate_platform(&platform);
  return std::string(hs_version()) + "/" + std::to_string(platform.tune) + "/" +
         std::to_string(platform.cpu_features);
}

// 2: a suffix table before the Hyperscan database (domain_matcher.cc says how).
constexpr char kMagic[] = "sluice-hs-cache-2\n";

}  // namespace

std::string HyperscanCache::path_for(const std::string& canonical_patterns) const {
  std::string keyed = platform_tag() + "\n" + canonical_patterns;
  char name[64];
  std::snprintf(name, sizeof name, "%016llx%016llx.hsdb",
                static_cast<unsigned long long>(fnv1a(keyed, 0xcbf29ce484222325ull)),
                static_cast<unsigned long long>(fnv1a(keyed, 0x84222325cbf29ce4ull)));
  return (std::filesystem::path(directory_) / name).string();
}

bool HyperscanCache::load(const std::string& canonical_patterns,
                          const std::function<bool(std::string_view)>& accept) {
  std::ifstream in(path_for(canonical_patterns), std::ios::binary);
  std::string header = std::string(kMagic) + platform_tag() + "\n" + canonical_patterns;
  std::string stored(header.size(), '\0');
  if (!in || !in.read(stored.data(), static_cast<std::streamsize>(stored.size())) || stored != header) {
    ++misses_;
    return false;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!accept(bytes)) {
    ++misses_;
    return false;
  }
  ++hits_;
  return true;
}

void HyperscanCache::store(const std::string& canonical_patterns, std::string_view bytes) {
  std::error_code ignored;
  std::filesystem::create_directories(directory_, ignored);
  std::string path = path_for(canonical_patterns);
  std::string staged = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(staged, std::ios::binary | std::ios::trunc);
    out << kMagic << platform_tag() << "\n" << canonical_patterns;
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::filesystem::rename(staged, path, ignored);  // whole files only, for concurrent readers
  if (ignored) std::filesystem::remove(staged, ignored);
}

}  // namespace sluice

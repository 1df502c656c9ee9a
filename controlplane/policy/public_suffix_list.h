// Which names are public suffixes ("com", "co.uk"), so "*.co.uk" can be refused as over-broad.
// Reads Debian's publicsuffix list; a single-label name always counts as a public suffix.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

namespace sluice {

inline constexpr const char* kDefaultPublicSuffixListPath = "/usr/share/publicsuffix/public_suffix_list.dat";

class PublicSuffixList {
 public:
  // Returns false (and leaves only the single-label rule) when the file cannot be read.
  bool load(const std::string& path = kDefaultPublicSuffixListPath);
  // `name` is normalised (lower case, no trailing dot).
  bool is_public_suffix(std::string_view name) const;

 private:
  std::unordered_set<std::string> exact_;     // "co.uk"
  std::unordered_set<std::string> wildcard_;  // "*.ck" stored as "ck"
  std::unordered_set<std::string> exception_; // "!www.ck" stored as "www.ck"
};

}  // namespace sluice

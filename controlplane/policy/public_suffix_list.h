// Which names are public suffixes ("com", "co.uk"), so "*.co.uk" can be refused as over-broad.
// libpsl answers from Debian's list file (package publicsuffix), loaded explicitly: libpsl's
// built-in copy would silently age. A list that cannot be read is kept as an error, which the
// validator reports as a refusal of the policy: a missing list never lets "*.co.uk" pass.
#pragma once

#include <string>
#include <string_view>

struct psl_ctx_st;

namespace sluice {

inline constexpr const char* kDefaultPublicSuffixListPath = "/usr/share/publicsuffix/public_suffix_list.dat";

// The list sluiced and sluicectl load: $SLUICE_PUBLIC_SUFFIX_LIST when set (tests, a newer list
// kept elsewhere), else Debian's.
std::string public_suffix_list_path();

class PublicSuffixList {
 public:
  PublicSuffixList() = default;
  PublicSuffixList(const PublicSuffixList&) = delete;
  PublicSuffixList& operator=(const PublicSuffixList&) = delete;
  ~PublicSuffixList();

  // Reads the list (.dat text or libpsl's .dafsa). False, with error() naming the file and the
  // cause, when it cannot be read; an earlier list is dropped either way.
  bool load(const std::string& path = public_suffix_list_path());
  bool loaded() const { return psl_ != nullptr; }
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

  // `name` is normalised (lower case, no trailing dot). Only the list's ICANN section counts:
  // the private section lists names companies registered for their customers
  // ("s3.amazonaws.com", "github.io"), and refusing "*.s3.amazonaws.com" while accepting the
  // broader "*.amazonaws.com" would make breadth depend on a vendor's paperwork. A name under no
  // rule is a suffix when it has one label. A wildcard rule also makes its parent a suffix
  // ("*.kawasaki.jp": "kawasaki.jp"), as libpsl reads the list. False when no list is loaded.
  bool is_public_suffix(std::string_view name) const;

 private:
  psl_ctx_st* psl_ = nullptr;
  std::string path_;
  std::string error_ = "no public suffix list loaded";
};

}  // namespace sluice

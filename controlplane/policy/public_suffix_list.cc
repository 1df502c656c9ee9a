#include "controlplane/policy/public_suffix_list.h"

#include <algorithm>
#include <cctype>
#include <fstream>

namespace sluice {

namespace {

// Only the ICANN section counts. The private section lists names companies registered for their
// customers ("s3.amazonaws.com", "github.io"); refusing "*.s3.amazonaws.com" while accepting
// the broader "*.amazonaws.com" would make breadth depend on a vendor's paperwork.
constexpr std::string_view kEndOfIcannSection = "===END ICANN DOMAINS===";

std::string_view parent_of(std::string_view name) {
  const size_t dot = name.find('.');
  return dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
}

}  // namespace

bool PublicSuffixList::load(const std::string& path) {
  exact_.clear();
  wildcard_.clear();
  exception_.clear();

  std::ifstream input(path);
  if (!input) return false;
  std::string line;
  while (std::getline(input, line)) {
    if (line.starts_with("//")) {
      if (line.find(kEndOfIcannSection) != std::string::npos) break;
      continue;
    }
    // The list's own rule: a line is read only up to its first whitespace.
    const auto rule_end = std::find_if(line.begin(), line.end(), [](unsigned char c) { return std::isspace(c); });
    std::string rule(line.begin(), rule_end);
    if (rule.empty()) continue;
    std::transform(rule.begin(), rule.end(), rule.begin(), [](unsigned char c) { return char(std::tolower(c)); });

    if (rule.starts_with("!")) {
      exception_.insert(rule.substr(1));
    } else if (rule.starts_with("*.")) {
      wildcard_.insert(rule.substr(2));
    } else {
      exact_.insert(std::move(rule));
    }
  }
  return true;
}

bool PublicSuffixList::is_public_suffix(std::string_view name) const {
  if (name.empty()) return false;
  const std::string key(name);
  if (exception_.contains(key)) return false;
  if (exact_.contains(key)) return true;
  const std::string_view parent = parent_of(name);
  if (parent.empty()) return true;  // every top-level label is a suffix, listed or not
  return wildcard_.contains(std::string(parent));
}

}  // namespace sluice

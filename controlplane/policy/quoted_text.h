// `"text"` for messages to the operator: what they wrote, between double quotes, with a quote or
// backslash inside escaped (as std::quoted does) so the quoted text cannot seem to end early.
// Built directly rather than through an ostringstream: the validator and the shadow finder quote
// every pattern of a policy (a million for the largest lists), and a stream's construction and
// locale set-up cost more than the rest of the check.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

inline std::string quoted_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace sluice

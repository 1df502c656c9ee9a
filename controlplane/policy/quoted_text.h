// `"text"` for messages to the operator: what they wrote, between double quotes, with a quote or
// backslash inside escaped (std::quoted) so the quoted text cannot seem to end early.
#pragma once

#include <iomanip>
#include <sstream>
#include <string>
#include <string_view>

namespace sluice {

inline std::string quoted_text(std::string_view text) {
  std::ostringstream out;
  out << std::quoted(text);
  return out.str();
}

}  // namespace sluice

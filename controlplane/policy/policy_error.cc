#include "controlplane/policy/policy_error.h"

namespace sluice {

std::string PolicyError::to_string() const {
  std::string text = file;
  if (line > 0) text += ":" + std::to_string(line);
  text += ": ";
  // Syntax errors belong to no field; "file:3: : message" would read like a typo.
  if (!field.empty()) text += field + ": ";
  text += message;
  return text;
}

}  // namespace sluice

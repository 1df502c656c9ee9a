// One reason a policy or config file was refused, pointing at file, line and field.
#pragma once

#include <string>
#include <vector>

namespace sluice {

struct PolicyError {
  std::string file;
  int line = 0;       // 1-based; 0 when unknown (binary files)
  std::string field;  // path such as "attachments[1].policy"
  std::string message;

  // "policy.textproto:12: attachments[1].policy: unknown policy \"foo\""
  std::string to_string() const;
};

using PolicyErrors = std::vector<PolicyError>;

}  // namespace sluice

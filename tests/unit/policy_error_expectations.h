// Checks on the PolicyErrors a policy or config load returns: which errors, in which order, where.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "controlplane/policy/policy_error.h"

namespace sluice::test {

// Every error on its own line, for a failure message.
inline std::string all_errors(const PolicyErrors& errors) {
  std::string text;
  for (const PolicyError& error : errors) text += "\n  " + error.to_string();
  return text;
}

struct Expected {
  int line;
  std::string field;
  std::string message_part;
};

// Exactly these errors, in this order, each in `file`.
inline void expect_errors(const PolicyErrors& errors, const std::vector<Expected>& expected,
                          const std::string& file) {
  ASSERT_EQ(errors.size(), expected.size()) << all_errors(errors);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(errors[i].file, file) << i;
    EXPECT_EQ(errors[i].line, expected[i].line) << errors[i].to_string();
    EXPECT_EQ(errors[i].field, expected[i].field) << errors[i].to_string();
    EXPECT_NE(errors[i].message.find(expected[i].message_part), std::string::npos)
        << "expected \"" << expected[i].message_part << "\" in: " << errors[i].to_string();
  }
}

}  // namespace sluice::test

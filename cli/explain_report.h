// How `sluicectl explain` prints its answer: aligned "label: value" lines for people, one JSON
// object for machines (fields in docs/SLUICECTL.md). Pure: formats an ExplainAnswer.
#pragma once

#include <string>

#include "cli/explain.h"

namespace sluice {

// One sentence: why the dataplane reached the verdict, naming the rule.
std::string explain_because(const ExplainAnswer& answer);

std::string explain_text(const ExplainAnswer& answer);
std::string explain_json(const ExplainAnswer& answer, const std::string& policy_path);

}  // namespace sluice

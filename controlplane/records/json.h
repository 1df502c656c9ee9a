// JSON for sluicectl's --json answers, run summaries and the flow log: nlohmann's ordered_json,
// which keeps fields in the order written (the orders are documented in docs/SLUICECTL.md and
// docs/RECORDS.md and must stay stable). The denial record alone has its own formatter
// (denial_record_format.h, json_appender.h): it is written at the rate denials happen, straight
// into the writer's queue.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sluice {

using Json = nlohmann::ordered_json;

// One line of JSON. Bytes that are not UTF-8 (a name off the wire can hold any) print as U+FFFD
// instead of throwing, so a line is always written and always valid.
inline std::string json_line(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace sluice

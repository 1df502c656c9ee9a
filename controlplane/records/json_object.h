// Builds one JSON object field by field, in the order written, for sluicectl's --json answers
// (their field names and order are documented in docs/SLUICECTL.md and must stay stable).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/records/flow_event_json.h"

namespace sluice {

inline std::string json_string(std::string_view text) { return "\"" + json_escape(text) + "\""; }

// `items` are JSON values already (strings quoted, objects built).
inline std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

inline std::string json_string_array(const std::vector<std::string>& texts) {
  std::vector<std::string> items;
  for (const auto& text : texts) items.push_back(json_string(text));
  return json_array(items);
}

class JsonObject {
 public:
  // Separate names rather than overloads: a string literal would silently pick bool.
  JsonObject& text(std::string_view key, std::string_view value) { return raw(key, json_string(value)); }
  JsonObject& integer(std::string_view key, uint64_t value) { return raw(key, std::to_string(value)); }
  JsonObject& real(std::string_view key, double value) {
    char formatted[32];
    std::snprintf(formatted, sizeof formatted, "%.6f", value);
    return raw(key, formatted);
  }
  JsonObject& boolean(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }
  JsonObject& null(std::string_view key) { return raw(key, "null"); }
  JsonObject& raw(std::string_view key, std::string_view json) {
    body_ += body_.empty() ? "{" : ",";
    body_ += json_string(key) + ":" + std::string(json);
    return *this;
  }
  std::string str() const { return body_.empty() ? "{}" : body_ + "}"; }

 private:
  std::string body_;
};

}  // namespace sluice

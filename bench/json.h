// A JSON value for the results file, kept in nlohmann's ordered_json (members in insertion order,
// so results.json reads in the order the figures were measured), with the chaining the harness
// is written in: Json::object().set("a", 1).set("b", 2).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::bench {

class Json {
 public:
  Json() = default;  // null
  Json(bool value) : value_(value) {}
  Json(double value) : value_(value) {}
  Json(int value) : value_(value) {}
  Json(unsigned value) : value_(value) {}
  Json(int64_t value) : value_(value) {}
  Json(uint64_t value) : value_(value) {}
  Json(long long value) : value_(value) {}
  Json(unsigned long long value) : value_(value) {}
  Json(const char* value) : value_(value) {}
  Json(std::string value) : value_(std::move(value)) {}

  static Json object() { return Json(nlohmann::ordered_json::object()); }
  static Json array() { return Json(nlohmann::ordered_json::array()); }

  // Object: sets (appends) a member; returns *this for chaining.
  Json& set(const std::string& key, Json value) {
    value_[key] = std::move(value.value_);
    return *this;
  }
  // Array: appends.
  Json& push(Json value) {
    value_.push_back(std::move(value.value_));
    return *this;
  }
  // A copy of the member `key`, if this is an object that has it.
  std::optional<Json> find(const std::string& key) const {
    if (!value_.is_object()) return std::nullopt;
    auto member = value_.find(key);
    if (member == value_.end()) return std::nullopt;
    return Json(*member);
  }
  double number() const { return value_.is_number() ? value_.get<double>() : 0; }

  // Compact, or pretty with `indent` spaces. Non-finite numbers print as null.
  std::string dump(int indent = 0) const {
    return value_.dump(indent > 0 ? indent : -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }

 private:
  explicit Json(nlohmann::ordered_json value) : value_(std::move(value)) {}

  nlohmann::ordered_json value_;
};

// Median, minimum and maximum of repeated runs.
struct Spread {
  double median = 0, min = 0, max = 0;
};

inline Spread spread_of(std::vector<double> values) {
  Spread s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  s.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  s.min = values.front();
  s.max = values.back();
  return s;
}

inline Json to_json(const Spread& s) {
  return Json::object().set("median", s.median).set("min", s.min).set("max", s.max);
}

}  // namespace sluice::bench

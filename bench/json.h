// A small JSON value for the results file: numbers, strings, arrays, objects in insertion order
// (so results.json reads in the order the figures were measured).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace sluice::bench {

class Json {
 public:
  Json() : kind_(Kind::null) {}
  Json(bool value) : kind_(Kind::boolean), number_(value ? 1 : 0) {}
  Json(double value) : kind_(Kind::number), number_(value) {}
  Json(int value) : kind_(Kind::integer), integer_(value) {}
  Json(unsigned value) : kind_(Kind::integer), integer_(value) {}
  Json(int64_t value) : kind_(Kind::integer), integer_(value) {}
  Json(uint64_t value) : kind_(Kind::integer), integer_(static_cast<int64_t>(value)) {}
  Json(long long value) : kind_(Kind::integer), integer_(static_cast<int64_t>(value)) {}
  Json(unsigned long long value) : kind_(Kind::integer), integer_(static_cast<int64_t>(value)) {}
  Json(const char* value) : kind_(Kind::string), text_(value) {}
  Json(std::string value) : kind_(Kind::string), text_(std::move(value)) {}

  static Json object() { Json j; j.kind_ = Kind::object; return j; }
  static Json array() { Json j; j.kind_ = Kind::array; return j; }

  // Object: sets (appends) a member; returns *this for chaining.
  Json& set(const std::string& key, Json value) {
    kind_ = Kind::object;
    for (auto& member : members_)
      if (member.first == key) {
        member.second = std::move(value);
        return *this;
      }
    members_.emplace_back(key, std::move(value));
    return *this;
  }
  // Array: appends.
  Json& push(Json value) {
    kind_ = Kind::array;
    items_.push_back(std::move(value));
    return *this;
  }
  const Json* find(const std::string& key) const {
    for (const auto& member : members_)
      if (member.first == key) return &member.second;
    return nullptr;
  }
  double number() const { return kind_ == Kind::integer ? double(integer_) : number_; }

  std::string dump(int indent = 0) const {
    std::string out;
    write(out, indent, 0);
    return out;
  }

 private:
  enum class Kind { null, boolean, number, integer, string, array, object };

  static void quote(std::string& out, const std::string& text) {
    out += '"';
    for (unsigned char c : text) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
        out += escaped;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '"';
  }

  void write(std::string& out, int indent, int depth) const {
    auto newline = [&](int level) {
      if (!indent) return;
      out += '\n';
      out.append(static_cast<size_t>(indent * level), ' ');
    };
    switch (kind_) {
      case Kind::null: out += "null"; break;
      case Kind::boolean: out += number_ ? "true" : "false"; break;
      case Kind::integer: out += std::to_string(integer_); break;
      case Kind::number: {
        if (!std::isfinite(number_)) {
          out += "null";
          break;
        }
        char text[32];
        std::snprintf(text, sizeof text, "%.6g", number_);
        out += text;
        break;
      }
      case Kind::string: quote(out, text_); break;
      case Kind::array:
        out += '[';
        for (size_t i = 0; i < items_.size(); ++i) {
          if (i) out += ',';
          newline(depth + 1);
          items_[i].write(out, indent, depth + 1);
        }
        if (!items_.empty()) newline(depth);
        out += ']';
        break;
      case Kind::object:
        out += '{';
        for (size_t i = 0; i < members_.size(); ++i) {
          if (i) out += ',';
          newline(depth + 1);
          quote(out, members_[i].first);
          out += indent ? ": " : ":";
          members_[i].second.write(out, indent, depth + 1);
        }
        if (!members_.empty()) newline(depth);
        out += '}';
        break;
    }
  }

  Kind kind_;
  double number_ = 0;
  int64_t integer_ = 0;
  std::string text_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
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

// Appends JSON text to a caller's buffer: the records written at the rate denials happen are
// built with it, straight into the writer's queue, without a temporary string per field or per
// record (std::to_chars for numbers, one append per run of plain bytes for strings).
// Pure (no DPDK): the fuzz target tests/fuzz/fuzz_denial_record_json.cc links it alone.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

// Appends `text` escaped for the inside of a JSON string. Names on the wire are bytes, not
// UTF-8: every byte outside printable ASCII (controls, DEL, 0x80-0xff) becomes \u00XX (lower-case
// hex), so a line is valid JSON whatever the bytes, and a reader gets each byte back as the code
// point of the same value. '"' and '\' are escaped, \n \r \t in their short forms.
void append_json_escaped(std::string& out, std::string_view text);

// The escaped text as a string (append_json_escaped into a new string).
std::string json_escape(std::string_view text);

class JsonAppender {
 public:
  explicit JsonAppender(std::string& out) : out_(out) {}

  // JSON text written as it is: punctuation and field names ("{\"src_ip\":").
  JsonAppender& raw(std::string_view text) {
    out_.append(text);
    return *this;
  }
  // A JSON string: quoted and escaped.
  JsonAppender& string(std::string_view text) {
    out_.push_back('"');
    append_json_escaped(out_, text);
    out_.push_back('"');
    return *this;
  }
  JsonAppender& number(uint64_t value) { return digits(value); }
  JsonAppender& number(int64_t value) { return digits(value); }
  JsonAppender& boolean(bool value) { return raw(value ? "true" : "false"); }

 private:
  template <typename Integer>
  JsonAppender& digits(Integer value) {
    char text[24];
    const auto result = std::to_chars(text, text + sizeof text, value);
    out_.append(text, static_cast<size_t>(result.ptr - text));
    return *this;
  }

  std::string& out_;
};

}  // namespace sluice

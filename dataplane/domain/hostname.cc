#include "dataplane/domain/hostname.h"

namespace sluice {

namespace {

constexpr size_t kMaxLabelLength = 63;

bool is_hostname_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

HostnameStatus normalize_hostname(std::string_view name, char* out, size_t& out_length) {
  out_length = 0;
  // "example.com." is the same name written fully qualified; only one dot, so ".." stays wrong.
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return HostnameStatus::empty;
  if (name.size() > kMaxHostnameLength) return HostnameStatus::too_long;

  size_t label_length = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '.') {
      if (label_length == 0) return HostnameStatus::bad_label_length;
      label_length = 0;
    } else {
      if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
      if (!is_hostname_byte(c)) return HostnameStatus::invalid_byte;
      if (++label_length > kMaxLabelLength) return HostnameStatus::bad_label_length;
    }
    out[i] = c;
  }
  if (label_length == 0) return HostnameStatus::bad_label_length;
  out_length = name.size();
  return HostnameStatus::ok;
}

const char* to_string(HostnameStatus status) {
  switch (status) {
    case HostnameStatus::ok: return "ok";
    case HostnameStatus::empty: return "empty";
    case HostnameStatus::too_long: return "too_long";
    case HostnameStatus::bad_label_length: return "bad_label_length";
    case HostnameStatus::invalid_byte: return "invalid_byte";
  }
  return "unknown";
}

}  // namespace sluice

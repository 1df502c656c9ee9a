#include "controlplane/policy/record_fields.h"

#include <algorithm>
#include <array>

#include "controlplane/policy/quoted_text.h"

namespace sluice {

namespace {

namespace pb = sluice::policy;

// Every field name of docs/RECORDS.md (denial records and flow-log lines), those the issue
// tracker has planned (storage events, rule names), and the SQL view's columns.
constexpr std::array<std::string_view, 35> kReserved = {
    "event_time", "access_type", "policy",     "source_label",   "src_ip",          "src_port",
    "dst_ip",     "dst_port",    "protocol",   "destination_type", "destination",   "reason",
    "flow_id",    "appliance",   "count",      "dns_event",      "event_id",        "record_fields",
    "sni",        "http_host",   "verdict",    "tls_alpn",       "tls_version",     "storage_event",
    "rule",       "rule_name",   "group",      "ip_event",       "network_source_type", "domain_name",
    "rcode",      "generation",  "service_tag", "translated_src_ip", "translated_src_port"};

bool is_safe_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxRecordFieldKeyBytes || key[0] < 'a' || key[0] > 'z') return false;
  return std::all_of(key.begin(), key.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool is_safe_value(std::string_view value) {
  // Printable ASCII and UTF-8 bytes; no control characters (they would be escaped in JSON, but
  // a tenant id has no business holding one and a CSV or terminal reader would show garbage).
  return value.size() <= kMaxRecordFieldValueBytes &&
         std::none_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// The map's entries in the order the text wrote them: reflection reads a map field as its
// repeated entries, which the text parser filled in file order.
void check_map(const google::protobuf::Message& message, const std::string& prefix, const std::string& file,
               const FieldLocator& locator, PolicyErrors& errors) {
  const auto* field = message.GetDescriptor()->FindFieldByName("record_fields");
  const auto* reflection = message.GetReflection();
  const int size = reflection->FieldSize(message, field);
  const std::string path = prefix + "record_fields";
  auto add = [&](const std::string& at, std::string text) {
    errors.push_back({file, locator.line_of(at), at, std::move(text)});
  };
  if (size > static_cast<int>(kMaxRecordFields))
    add(path, "too many record_fields (" + std::to_string(size) + "); at most " + std::to_string(kMaxRecordFields));
  for (int i = 0; i < size; ++i) {
    const auto& entry = reflection->GetRepeatedMessage(message, field, i);
    const auto* entry_reflection = entry.GetReflection();
    const std::string key = entry_reflection->GetString(entry, entry.GetDescriptor()->FindFieldByName("key"));
    const std::string value = entry_reflection->GetString(entry, entry.GetDescriptor()->FindFieldByName("value"));
    const std::string at = path + "[" + std::to_string(i) + "]";
    if (!is_safe_key(key))
      add(at + ".key", "record field " + quoted_text(key) + ": a key is [a-z][a-z0-9_]*, at most " +
                           std::to_string(kMaxRecordFieldKeyBytes) + " bytes");
    else if (is_reserved_record_field(key))
      add(at + ".key", "record field " + quoted_text(key) + " is a field Sluice writes itself (docs/RECORDS.md)");
    if (!is_safe_value(value))
      add(at + ".value", "record field " + quoted_text(key) + ": a value is at most " +
                             std::to_string(kMaxRecordFieldValueBytes) + " bytes without control characters");
  }
}

}  // namespace

bool is_reserved_record_field(std::string_view key) {
  return key.substr(0, 7) == "sluice_" || std::find(kReserved.begin(), kReserved.end(), key) != kReserved.end();
}

PolicyErrors check_record_fields(const pb::PolicySet& set, const std::string& file, const FieldLocator& locator) {
  PolicyErrors errors;
  check_map(set, "", file, locator, errors);
  for (int i = 0; i < set.attachments_size(); ++i)
    check_map(set.attachments(i), "attachments[" + std::to_string(i) + "].", file, locator, errors);
  return errors;
}

}  // namespace sluice

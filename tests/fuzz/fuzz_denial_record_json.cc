// libFuzzer target: append_denial_record_json (the denial record's JSON line) over hostile text
// in every string field and arbitrary numbers: every line must parse as JSON, hold the documented
// fields in their order, and give each string field's bytes back (each byte as the code point of
// the same value: names on the wire are bytes, not UTF-8).
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/records/denial_record_format.h"
#include "controlplane/records/json_appender.h"
#include "controlplane/records/storage_record.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

namespace {

// What a reader of the line gets back for `bytes`: each byte as the code point of its value.
std::string as_code_points(std::string_view bytes) {
  std::string utf8;
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      utf8 += static_cast<char>(c);
    } else {
      utf8 += static_cast<char>(0xc0 | (c >> 6));
      utf8 += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return utf8;
}

// Cuts the input into pieces at each 0xfe byte (a byte the fields may still hold: a piece is
// itself arbitrary), with the first 16 bytes as numbers and flags.
struct Input {
  const uint8_t* data;
  size_t size;
  size_t at = 0;
  uint64_t number(int bytes) {
    uint64_t value = 0;
    for (int i = 0; i < bytes && at < size; ++i) value = value << 8 | data[at++];
    return value;
  }
  std::string_view piece() {
    const size_t begin = at;
    while (at < size && data[at] != 0xfe) ++at;
    std::string_view text(reinterpret_cast<const char*>(data) + begin, at - begin);
    if (at < size) ++at;
    return text;
  }
};

void check_string(const nlohmann::ordered_json& line, const char* key, std::string_view bytes) {
  FUZZ_CHECK(line.contains(key));
  FUZZ_CHECK(line[key].is_string());
  FUZZ_CHECK(line[key].get<std::string>() == as_code_points(bytes));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input input{data, size};
  const uint64_t flags = input.number(1);
  DenialRecordFields fields;
  fields.src_port = static_cast<uint16_t>(input.number(2));
  fields.dst_port = static_cast<uint16_t>(input.number(2));
  fields.translated_src_port = static_cast<uint16_t>(input.number(2));
  fields.flow_id = input.number(8);
  fields.count = input.number(1);
  fields.dns_rcode = static_cast<int8_t>(input.number(1));
  fields.translated = flags & 1;
  fields.dns_query = flags & 2;
  const bool storage_event = flags & 4;
  fields.event_time = input.piece();
  fields.access_type = input.piece();
  fields.policy = input.piece();
  fields.source_label = input.piece();
  fields.src_ip = input.piece();
  fields.dst_ip = input.piece();
  fields.translated_src_ip = input.piece();
  fields.protocol = input.piece();
  fields.destination_type = input.piece();
  fields.destination = input.piece();
  fields.reason = input.piece();
  fields.appliance = input.piece();
  fields.dns_name = input.piece();
  fields.rule = input.piece();
  fields.event_id = input.piece();
  StorageRecord storage;
  storage.hostname = input.piece();
  storage.path = input.piece();
  storage.rejection_reason = input.piece();
  storage.provider = input.piece();
  storage.path_style = flags & 8;
  if (storage_event) fields.storage = &storage;
  // Tenant fields: keys are checked identifiers (record_fields.h), values anything.
  std::vector<std::pair<std::string, std::string>> tenant;
  if (flags & 16) tenant.emplace_back("account_id", std::string(input.piece()));
  if (flags & 32) tenant.emplace_back("workspace_id", std::string(input.piece()));
  fields.record_fields = tenant;

  // Appended after text already in the buffer, as in the writer's queue.
  std::string out = "previous record\n";
  const size_t start = out.size();
  append_denial_record_json(out, fields);
  FUZZ_CHECK(out.compare(0, start, "previous record\n") == 0);
  const std::string_view record = std::string_view(out).substr(start);
  FUZZ_CHECK(record.find('\n') == std::string_view::npos);  // one line, whatever the names hold

  nlohmann::ordered_json line;
  try {
    line = nlohmann::ordered_json::parse(record);
  } catch (const nlohmann::json::exception&) {
    FUZZ_CHECK(false && "the record is not JSON");
  }
  FUZZ_CHECK(line.is_object());
  // The documented order (docs/RECORDS.md); optional fields where they apply.
  std::vector<std::string> order = {"event_time", "access_type", "policy", "source_label", "src_ip", "src_port",
                                    "dst_ip", "dst_port"};
  if (fields.translated) order.insert(order.end(), {"translated_src_ip", "translated_src_port"});
  order.insert(order.end(), {"protocol", "destination_type", "destination", "reason", "flow_id", "appliance", "count"});
  if (fields.dns_query) order.push_back("dns_event");
  if (fields.storage) order.push_back("storage_event");
  if (!fields.rule.empty()) order.push_back("rule");
  order.push_back("event_id");
  for (const auto& [key, value] : tenant) order.push_back(key);
  std::vector<std::string> keys;
  for (const auto& item : line.items()) keys.push_back(item.key());
  FUZZ_CHECK(keys == order);

  check_string(line, "event_time", fields.event_time);
  check_string(line, "access_type", fields.access_type);
  check_string(line, "policy", fields.policy);
  check_string(line, "source_label", fields.source_label);
  check_string(line, "src_ip", fields.src_ip);
  check_string(line, "dst_ip", fields.dst_ip);
  check_string(line, "protocol", fields.protocol);
  check_string(line, "destination_type", fields.destination_type);
  check_string(line, "destination", fields.destination);
  check_string(line, "reason", fields.reason);
  check_string(line, "appliance", fields.appliance);
  check_string(line, "event_id", fields.event_id);
  FUZZ_CHECK(line["src_port"] == fields.src_port);
  FUZZ_CHECK(line["dst_port"] == fields.dst_port);
  FUZZ_CHECK(line["flow_id"] == fields.flow_id);
  FUZZ_CHECK(line["count"] == fields.count);
  if (fields.translated) {
    check_string(line, "translated_src_ip", fields.translated_src_ip);
    FUZZ_CHECK(line["translated_src_port"] == fields.translated_src_port);
  }
  if (fields.dns_query) {
    check_string(line["dns_event"], "domain_name", fields.dns_name);
    FUZZ_CHECK(line["dns_event"]["rcode"] == fields.dns_rcode);
  }
  if (fields.storage) {
    const auto& event = line["storage_event"];
    check_string(event, "hostname", storage.hostname);
    check_string(event, "path", storage.path);
    check_string(event, "rejection_reason", storage.rejection_reason);
    check_string(event, "provider", storage.provider);
    FUZZ_CHECK(event["path_style"] == storage.path_style);
  }
  if (!fields.rule.empty()) check_string(line, "rule", fields.rule);
  for (const auto& [key, value] : tenant) check_string(line, key.c_str(), value);

  // The escaper alone agrees with the record's strings.
  const std::string escaped = json_escape(fields.destination);
  FUZZ_CHECK(nlohmann::json::parse("\"" + escaped + "\"").get<std::string>() == as_code_points(fields.destination));
  return 0;
}

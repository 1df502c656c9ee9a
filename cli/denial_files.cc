#include "cli/denial_files.h"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>

#include "cli/record_time.h"
#include "controlplane/records/json.h"
#include "denial.pb.h"

namespace sluice {
namespace {

void set_time(DenialRow& row) {
  if (auto ms = parse_rfc3339_ms(row.event_time)) {
    row.time_ms = *ms;
    row.time_valid = true;
  }
  if (row.count == 0) row.count = 1;
}

template <typename T>
T field(const Json& object, const char* name, T fallback) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const Json::exception&) {
    return fallback;
  }
}

bool row_from_json(const std::string& line, DenialRow& row) {
  Json object = Json::parse(line, nullptr, false);
  if (object.is_discarded() || !object.is_object()) return false;
  row.event_time = field<std::string>(object, "event_time", "");
  row.access_type = field<std::string>(object, "access_type", "");
  row.policy = field<std::string>(object, "policy", "");
  row.source_label = field<std::string>(object, "source_label", "");
  row.src_ip = field<std::string>(object, "src_ip", "");
  row.src_port = field<uint32_t>(object, "src_port", 0);
  row.dst_ip = field<std::string>(object, "dst_ip", "");
  row.dst_port = field<uint32_t>(object, "dst_port", 0);
  row.protocol = field<std::string>(object, "protocol", "");
  row.destination_type = field<std::string>(object, "destination_type", "");
  row.destination = field<std::string>(object, "destination", "");
  row.reason = field<std::string>(object, "reason", "");
  row.flow_id = field<uint64_t>(object, "flow_id", 0);
  row.appliance = field<std::string>(object, "appliance", "");
  row.count = field<uint64_t>(object, "count", 1);
  row.event_id = field<std::string>(object, "event_id", "");
  set_time(row);
  return true;
}

void row_from_proto(const sluice::denial::DenialRecord& record, DenialRow& row) {
  row.event_time = record.event_time();
  row.access_type = record.access_type();
  row.policy = record.policy();
  row.source_label = record.source_label();
  row.src_ip = record.src_ip();
  row.src_port = record.src_port();
  row.dst_ip = record.dst_ip();
  row.dst_port = record.dst_port();
  row.protocol = record.protocol();
  row.destination_type = record.destination_type();
  row.destination = record.destination();
  row.reason = record.reason();
  row.flow_id = record.flow_id();
  row.appliance = record.appliance();
  row.count = record.count();
  row.event_id = record.event_id();
  set_time(row);
}

void read_jsonl(const std::string& text, DenialReadResult& result, uint64_t& torn, uint64_t& damaged) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    bool last = end == std::string::npos;
    std::string line = text.substr(start, last ? std::string::npos : end - start);
    start = last ? text.size() : end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    DenialRow row;
    if (row_from_json(line, row)) {
      result.rows.push_back(std::move(row));
    } else if (last) {
      ++torn;  // no newline after it and not whole JSON: the write a crash cut short
    } else {
      ++damaged;
    }
  }
}

// varint length, then the message (docs/RECORDS.md). A length running past the end is a torn
// tail; a body that does not parse is damaged, and the next record still starts after it.
void read_pb(const std::string& bytes, DenialReadResult& result, uint64_t& torn, uint64_t& damaged) {
  size_t at = 0;
  while (at < bytes.size()) {
    uint64_t length = 0;
    int shift = 0;
    bool complete = false;
    while (at < bytes.size() && shift < 64) {
      uint8_t byte = static_cast<uint8_t>(bytes[at++]);
      length |= uint64_t(byte & 0x7f) << shift;
      shift += 7;
      if (!(byte & 0x80)) {
        complete = true;
        break;
      }
    }
    if (!complete || length > bytes.size() - at) {
      ++torn;
      return;
    }
    sluice::denial::DenialRecord record;
    if (record.ParseFromArray(bytes.data() + at, static_cast<int>(length))) {
      DenialRow row;
      row_from_proto(record, row);
      result.rows.push_back(std::move(row));
    } else {
      ++damaged;
    }
    at += length;
  }
}

// "X.pb" or "X.pb.N" (a rotation): the suffix after the last ".pb", when it names one.
bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The rotation number of "STEM" ("0": the current file) or "STEM.N"; -1 for any other name.
long rotation_of(std::string_view name, std::string_view stem) {
  if (name.substr(0, stem.size()) != stem) return -1;
  std::string_view rest = name.substr(stem.size());
  if (rest.empty()) return 0;
  if (rest.front() != '.' || !all_digits(rest.substr(1))) return -1;
  long rotation = 0;
  auto [end, error] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), rotation);
  return error == std::errc() && end == rest.data() + rest.size() ? rotation : -1;
}

}  // namespace

bool is_protobuf_denial_file(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  const size_t at = name.rfind(".pb");
  if (at == std::string::npos) return false;
  std::string_view rest = std::string_view(name).substr(at + 3);
  return rest.empty() || (rest.front() == '.' && all_digits(rest.substr(1)));
}

bool list_denial_files(const std::string& dir, std::vector<std::string>& files, std::string& error) {
  std::error_code code;
  std::filesystem::directory_iterator it(dir, code);
  if (code) {
    error = dir + ": " + code.message();
    return false;
  }
  std::vector<std::pair<long, std::string>> jsonl, pb;  // (rotation number, path); 0 = current
  for (; it != std::filesystem::directory_iterator(); it.increment(code)) {
    if (code) break;
    const std::string name = it->path().filename().string();
    if (long rotation = rotation_of(name, "denials.jsonl"); rotation >= 0)
      jsonl.emplace_back(rotation, it->path().string());
    else if (long rotation_pb = rotation_of(name, "denials.pb"); rotation_pb >= 0)
      pb.emplace_back(rotation_pb, it->path().string());
  }
  if (code) {
    error = dir + ": " + code.message();
    return false;
  }
  auto& chosen = jsonl.empty() ? pb : jsonl;
  if (chosen.empty()) {
    error = dir + ": no denial files (denials.jsonl, denials.jsonl.N, denials.pb, denials.pb.N)";
    return false;
  }
  std::sort(chosen.begin(), chosen.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [rotation, path] : chosen) files.push_back(path);
  return true;
}

bool read_denial_file(const std::string& path, DenialReadResult& result, std::string& error) {
  std::error_code code;
  if (std::filesystem::is_directory(path, code)) {
    error = path + ": is a directory (use --log-dir)";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    error = path + ": read failed";
    return false;
  }
  uint64_t torn = 0, damaged = 0;
  if (is_protobuf_denial_file(path)) read_pb(bytes, result, torn, damaged);
  else read_jsonl(bytes, result, torn, damaged);
  result.files.push_back(path);
  result.torn_records += torn;
  result.damaged_records += damaged;
  if (torn)
    result.notes.push_back(path + ": skipped a torn last record (cut short by a crash or a write in progress)");
  if (damaged) result.notes.push_back(path + ": skipped " + std::to_string(damaged) + " unreadable record(s)");
  return true;
}

}  // namespace sluice

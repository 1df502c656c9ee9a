// Reading denial records back: the JSON lines files and the length-delimited protobuf files
// sluiced writes (docs/RECORDS.md), current and rotated. Reading never trusts the file: a torn
// last record (a crash mid-write) is skipped and counted, a damaged one in the middle is skipped
// and counted separately, and neither stops the rest from being read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice {

// One record, as docs/RECORDS.md names its fields. `time_ms` is event_time parsed (0 when
// event_time is not RFC 3339; such a record is kept, and no time bound lets it through).
struct DenialRow {
  std::string event_time;
  int64_t time_ms = 0;
  bool time_valid = false;
  std::string access_type;
  std::string policy;
  std::string source_label;
  std::string src_ip;
  uint32_t src_port = 0;
  std::string dst_ip;
  uint32_t dst_port = 0;
  std::string protocol;
  std::string destination_type;
  std::string destination;
  std::string reason;
  uint64_t flow_id = 0;
  std::string appliance;
  uint64_t count = 1;  // denials this record stands for; an absent or 0 count reads as 1
  std::string event_id;  // "" in records written before records had one
};

struct DenialReadResult {
  std::vector<DenialRow> rows;
  std::vector<std::string> files;  // in the order read (oldest rotation first)
  uint64_t torn_records = 0;       // a last record cut short, skipped
  uint64_t damaged_records = 0;    // unreadable records before the end, skipped
  std::vector<std::string> notes;  // one line per file with torn or damaged records
};

// A file holds protobuf records when its name has ".pb" as its last suffix or before a
// rotation number ("denials.pb", "denials.pb.3"); anything else is JSON lines.
bool is_protobuf_denial_file(const std::string& path);

// The denial files of a log directory, oldest first: denials.jsonl.N … denials.jsonl.1,
// denials.jsonl. The protobuf files hold the same records, so they are read only when the
// directory has no JSON lines file. False with `error` when the directory cannot be read or
// holds neither.
bool list_denial_files(const std::string& dir, std::vector<std::string>& files, std::string& error);

// Appends the records of `path` to `result`. False with `error` when the file cannot be opened
// or read (a damaged record is not an error: it is counted).
bool read_denial_file(const std::string& path, DenialReadResult& result, std::string& error);

}  // namespace sluice

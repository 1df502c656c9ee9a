// `sluicectl denials`: filter denial records and print them, or the top destinations. The
// filters and the grouping are plain functions over DenialRow so the unit tests hold them.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/denial_files.h"
#include "controlplane/policy/cidr.h"

namespace sluice {

struct DenialFilter {
  std::optional<int64_t> since_ms;  // event_time >= since
  std::optional<int64_t> until_ms;  // event_time < until
  std::optional<std::string> policy;
  std::optional<Cidr> source;       // src_ip inside
};

bool denial_matches(const DenialRow& row, const DenialFilter& filter);

// One line of --top: the records of one (policy, destination), their denials summed by count.
struct DenialGroup {
  std::string policy;
  std::string destination;
  std::string destination_type;  // of the latest record
  uint64_t denials = 0;          // sum of count
  uint64_t records = 0;
  std::string first_seen;        // event_time of the earliest record
  std::string last_seen;         // … and of the latest
  int64_t first_ms = 0, last_ms = 0;
  std::vector<std::string> sources;       // distinct src_ip, sorted
  std::vector<std::string> access_types;  // distinct, sorted
  std::vector<uint32_t> dst_ports;        // distinct, sorted
};

// Groups by (policy, destination); the `top` largest by denials (ties: policy, then
// destination, alphabetically); all of them for top == 0.
std::vector<DenialGroup> top_denied(const std::vector<DenialRow>& rows, size_t top);

// A whole CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& text);

enum class OutputFormat : uint8_t { table, json, csv };

// Prints the matching rows (oldest first), or the groups when `top` is set.
void print_denials(const DenialReadResult& read, const std::vector<DenialRow>& rows, std::optional<size_t> top,
                   OutputFormat format, std::ostream& out);

}  // namespace sluice

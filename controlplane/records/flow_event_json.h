// Formats flow events as the JSON lines of the denial log (docs/RECORDS.md) and the flow log.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controlplane/records/json_appender.h"
#include "dataplane/policy/compiled_policy.h"
#include "dataplane/worker/flow_event.h"

namespace sluice {

// Converts worker TSC stamps to wall-clock time, from one reference taken at start.
class EventClock {
 public:
  EventClock();  // reference: now
  // An explicit reference: `start_tsc` was read at `start_unix_ns`, the TSC runs at `tsc_hz`.
  EventClock(uint64_t start_tsc, double tsc_hz, int64_t start_unix_ns)
      : start_tsc_(start_tsc), tsc_hz_(tsc_hz), start_unix_ns_(start_unix_ns) {}
  // RFC 3339, UTC, milliseconds: "2026-11-22T20:01:14.123Z".
  std::string format(uint64_t tsc) const;
  // The same into `text`; the view points into it. Calendar arithmetic runs once a second:
  // records within one second share the text before the milliseconds.
  std::string_view format_into(uint64_t tsc, char (&text)[64]) const;

 private:
  uint64_t start_tsc_;
  double tsc_hz_;
  int64_t start_unix_ns_;
  // The last second formatted and its "YYYY-MM-DDTHH:MM:SS." (one thread: the control thread).
  mutable int64_t cached_second_ = -1;
  mutable char cached_prefix_[48] = {};
  mutable size_t cached_prefix_length_ = 0;
};

// "TCP", "UDP", "ICMP", "ICMPV6" or the protocol number.
std::string protocol_name(uint8_t ip_protocol);
// The same into `text` (for a number) or a literal; the view lives as long as both.
std::string_view protocol_name_into(uint8_t ip_protocol, char (&text)[4]);

// What the record's `destination` holds: the name judged, else the destination address.
std::string destination_of(const FlowEvent& event);

// The names a record carries, resolved in the generation that judged the flow (a record may be
// written after that generation is gone, when repeats were aggregated).
struct RecordNames {
  std::string policy;
  std::string source_label;
  std::string rule;  // the numbered rule that decided (FlowEvent::rule_index); "" for none
  // The attachment's tenant fields (CompiledAttachment::record_fields), sorted by key.
  std::vector<std::pair<std::string, std::string>> record_fields;
};
RecordNames names_of(const FlowEvent& event, const CompiledPolicy& policy);

// The same names as views into the generation (or into a RecordNames): what the record path
// uses, copying nothing unless a record must outlive the generation (aggregation).
struct RecordNameViews {
  std::string_view policy;
  std::string_view source_label;
  std::string_view rule;
  std::span<const std::pair<std::string, std::string>> record_fields;

  RecordNameViews() = default;
  RecordNameViews(const RecordNames& names)  // NOLINT: a RecordNames is usable wherever views are
      : policy(names.policy), source_label(names.source_label), rule(names.rule), record_fields(names.record_fields) {}
  RecordNameViews(std::string_view policy_name, std::string_view label, std::string_view rule_name = {},
                  std::span<const std::pair<std::string, std::string>> fields = {})
      : policy(policy_name), source_label(label), rule(rule_name), record_fields(fields) {}
  RecordNames owned() const {
    return {std::string(policy), std::string(source_label), std::string(rule),
            std::vector<std::pair<std::string, std::string>>(record_fields.begin(), record_fields.end())};
  }
};
RecordNameViews name_views_of(const FlowEvent& event, const CompiledPolicy& policy);

// One denial record: every field of proto/denial.proto, in its order; the tenant fields
// (names.record_fields) last, as top-level fields. `count` is how many denials the record
// stands for (more than 1 when repeats were aggregated); `event_id` is the record's UUID
// (EventIdSource), "" only in tests and benchmarks.
std::string denial_record_json(const FlowEvent& event, const RecordNameViews& names, const std::string& appliance,
                               const EventClock& clock, uint64_t count = 1, std::string_view event_id = {});
// The same record appended to `out` (the writer's queue): the denial path's form, with no
// temporary string (denial_record_format.h).
void append_denial_record_json(std::string& out, const FlowEvent& event, const RecordNameViews& names,
                               std::string_view appliance, const EventClock& clock, uint64_t count = 1,
                               std::string_view event_id = {});

// The same record as a serialised sluice.denial.DenialRecord.
std::string denial_record_proto(const FlowEvent& event, const RecordNameViews& names, const std::string& appliance,
                                const EventClock& clock, uint64_t count = 1, std::string_view event_id = {});

// "TLS1.3", "TLS1.2"… for a TLS version number; "" for 0; "0x7f1c" for others (drafts, GREASE).
std::string tls_version_name(uint16_t version);

// One flow-log line: the verdict of a flow, allowed ones included; the line's own event_id and
// the attachment's tenant fields last.
std::string flow_log_json(const FlowEvent& event, const CompiledPolicy& policy, std::string_view event_id = {});

}  // namespace sluice

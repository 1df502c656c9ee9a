// Formats flow events as the JSON lines of the denial log (docs/RECORDS.md) and the flow log.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/policy/compiled_policy.h"
#include "dataplane/worker/flow_event.h"

namespace sluice {

// Converts worker TSC stamps to wall-clock time, from one reference taken at start.
class EventClock {
 public:
  EventClock();  // reference: now
  // RFC 3339, UTC, milliseconds: "2026-11-22T20:01:14.123Z".
  std::string format(uint64_t tsc) const;

 private:
  uint64_t start_tsc_;
  double tsc_hz_;
  int64_t start_unix_ns_;
};

std::string json_escape(std::string_view text);

// "TCP", "UDP", "ICMP", "ICMPV6" or the protocol number.
std::string protocol_name(uint8_t ip_protocol);

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

// One denial record: every field of proto/denial.proto, in its order; the tenant fields
// (names.record_fields) last, as top-level fields. `count` is how many denials the record
// stands for (more than 1 when repeats were aggregated); `event_id` is the record's UUID
// (EventIdSource), "" only in tests and benchmarks.
std::string denial_record_json(const FlowEvent& event, const RecordNames& names, const std::string& appliance,
                               const EventClock& clock, uint64_t count = 1, std::string_view event_id = {});

// The same record as a serialised sluice.denial.DenialRecord.
std::string denial_record_proto(const FlowEvent& event, const RecordNames& names, const std::string& appliance,
                                const EventClock& clock, uint64_t count = 1, std::string_view event_id = {});

// "TLS1.3", "TLS1.2"… for a TLS version number; "" for 0; "0x7f1c" for others (drafts, GREASE).
std::string tls_version_name(uint16_t version);

// One flow-log line: the verdict of a flow, allowed ones included; the line's own event_id and
// the attachment's tenant fields last.
std::string flow_log_json(const FlowEvent& event, const CompiledPolicy& policy, std::string_view event_id = {});

}  // namespace sluice

// The denial record's JSON line (docs/RECORDS.md) from fields already turned into text: the
// part of the record path that runs per denial, written into a caller's buffer (the writer's
// queue) with no allocation of its own. flow_event_json.h fills the fields from a FlowEvent.
// Pure (no DPDK): the fuzz target tests/fuzz/fuzz_denial_record_json.cc links it alone.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace sluice {

struct StorageRecord;

// Every field of one record, as text or numbers; views into the caller's storage, which
// outlives the call.
struct DenialRecordFields {
  std::string_view event_time;
  std::string_view access_type;
  std::string_view policy;
  std::string_view source_label;
  std::string_view src_ip;
  uint16_t src_port = 0;
  std::string_view dst_ip;
  uint16_t dst_port = 0;
  bool translated = false;  // routed mode with SNAT: the source the flow left with
  std::string_view translated_src_ip;
  uint16_t translated_src_port = 0;
  std::string_view protocol;
  std::string_view destination_type;
  std::string_view destination;
  std::string_view reason;
  uint64_t flow_id = 0;
  std::string_view appliance;
  uint64_t count = 1;
  bool dns_query = false;  // a denied DNS query: dns_event with its name and rcode
  std::string_view dns_name;
  int dns_rcode = -1;
  const StorageRecord* storage = nullptr;  // a storage name: storage_event
  std::string_view rule;                   // "" when no numbered rule decided: the field is left out
  std::string_view event_id;
  // The attachment's tenant fields, sorted by key; keys were checked (record_fields.h): safe
  // identifiers that no field above uses, written without escaping.
  std::span<const std::pair<std::string, std::string>> record_fields;
};

// Appends the record (without its newline) to `out`: every field of proto/denial.proto in its
// order, the tenant fields last as top-level fields.
void append_denial_record_json(std::string& out, const DenialRecordFields& fields);

}  // namespace sluice

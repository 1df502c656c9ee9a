#include "controlplane/records/denial_record_format.h"

#include "controlplane/records/json_appender.h"
#include "controlplane/records/storage_record.h"

namespace sluice {

void append_denial_record_json(std::string& out, const DenialRecordFields& fields) {
  JsonAppender json(out);
  json.raw("{\"event_time\":").string(fields.event_time);
  json.raw(",\"access_type\":").string(fields.access_type);
  json.raw(",\"policy\":").string(fields.policy);
  json.raw(",\"source_label\":").string(fields.source_label);
  json.raw(",\"src_ip\":").string(fields.src_ip);
  json.raw(",\"src_port\":").number(uint64_t{fields.src_port});
  json.raw(",\"dst_ip\":").string(fields.dst_ip);
  json.raw(",\"dst_port\":").number(uint64_t{fields.dst_port});
  if (fields.translated) {
    json.raw(",\"translated_src_ip\":").string(fields.translated_src_ip);
    json.raw(",\"translated_src_port\":").number(uint64_t{fields.translated_src_port});
  }
  json.raw(",\"protocol\":").string(fields.protocol);
  json.raw(",\"destination_type\":").string(fields.destination_type);
  json.raw(",\"destination\":").string(fields.destination);
  json.raw(",\"reason\":").string(fields.reason);
  json.raw(",\"flow_id\":").number(fields.flow_id);
  json.raw(",\"appliance\":").string(fields.appliance);
  json.raw(",\"count\":").number(fields.count);
  if (fields.dns_query) {
    json.raw(",\"dns_event\":{\"domain_name\":").string(fields.dns_name);
    json.raw(",\"rcode\":").number(int64_t{fields.dns_rcode}).raw("}");
  }
  if (const StorageRecord* storage = fields.storage) {
    json.raw(",\"storage_event\":{\"hostname\":").string(storage->hostname);
    json.raw(",\"path\":").string(storage->path);
    json.raw(",\"rejection_reason\":").string(storage->rejection_reason);
    json.raw(",\"path_style\":").boolean(storage->path_style);
    json.raw(",\"provider\":").string(storage->provider).raw("}");
  }
  // Only when a numbered rule decided: records of policies without rules keep their shape.
  if (!fields.rule.empty()) json.raw(",\"rule\":").string(fields.rule);
  json.raw(",\"event_id\":").string(fields.event_id);
  for (const auto& [key, value] : fields.record_fields) json.raw(",\"").raw(key).raw("\":").string(value);
  json.raw("}");
}

}  // namespace sluice

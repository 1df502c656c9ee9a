#include "controlplane/records/flow_event_json.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <rte_cycles.h>

#include "controlplane/records/denial_record_format.h"
#include "controlplane/records/json.h"
#include "controlplane/records/storage_record.h"
#include "dataplane/parse/packet_parser.h"
#include "denial.pb.h"

namespace sluice {

EventClock::EventClock()
    : start_tsc_(rte_rdtsc()),
      tsc_hz_(static_cast<double>(rte_get_tsc_hz())),
      start_unix_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()) {}

std::string EventClock::format(uint64_t tsc) const {
  char text[64];
  return std::string(format_into(tsc, text));
}

std::string_view EventClock::format_into(uint64_t tsc, char (&text)[64]) const {
  double elapsed = tsc >= start_tsc_ ? static_cast<double>(tsc - start_tsc_) / tsc_hz_ : 0.0;
  int64_t unix_ns = start_unix_ns_ + static_cast<int64_t>(elapsed * 1e9);
  const int64_t second = unix_ns / 1000000000;
  const int millis = static_cast<int>((unix_ns / 1000000) % 1000);
  if (second != cached_second_) {
    time_t seconds = static_cast<time_t>(second);
    tm utc{};
    gmtime_r(&seconds, &utc);
    int length = std::snprintf(cached_prefix_, sizeof cached_prefix_, "%04d-%02d-%02dT%02d:%02d:%02d.",
                               utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
    cached_prefix_length_ = length > 0 ? std::min<size_t>(static_cast<size_t>(length), sizeof cached_prefix_ - 1) : 0;
    cached_second_ = second;
  }
  std::memcpy(text, cached_prefix_, cached_prefix_length_);
  size_t at = cached_prefix_length_;
  text[at++] = static_cast<char>('0' + millis / 100);
  text[at++] = static_cast<char>('0' + millis / 10 % 10);
  text[at++] = static_cast<char>('0' + millis % 10);
  text[at++] = 'Z';
  return {text, at};
}

std::string protocol_name(uint8_t ip_protocol) {
  char text[4];
  return std::string(protocol_name_into(ip_protocol, text));
}

std::string_view protocol_name_into(uint8_t ip_protocol, char (&text)[4]) {
  switch (ip_protocol) {
    case kIpProtoTcp: return "TCP";
    case kIpProtoUdp: return "UDP";
    case kIpProtoIcmp: return "ICMP";
    case kIpProtoIcmpv6: return "ICMPV6";
    default: {
      const auto result = std::to_chars(text, text + sizeof text, unsigned{ip_protocol});
      return {text, static_cast<size_t>(result.ptr - text)};
    }
  }
}

std::string destination_of(const FlowEvent& event) {
  if (event.name_length) return std::string(event.name, event.name_length);
  return format_ip(event.dst);
}

namespace {

const CompiledAttachment* attachment_of(const FlowEvent& event, const CompiledPolicy& policy) {
  return event.attachment_index < policy.attachments.size() ? &policy.attachments[event.attachment_index] : nullptr;
}

std::string_view policy_name_of(const FlowEvent& event, const CompiledPolicy& policy) {
  return event.policy_index < policy.policies.size() ? std::string_view(policy.policies[event.policy_index].name) : "";
}

std::string_view rule_name_of(const FlowEvent& event, const CompiledPolicy& policy) {
  if (event.policy_index >= policy.policies.size()) return "";
  const auto& rules = policy.policies[event.policy_index].rules;
  return event.rule_index < rules.size() ? std::string_view(rules[event.rule_index].name) : "";
}

// Text of an address in `text`, "" for none (format_ip without a string).
std::string_view ip_text(const IpAddress& address, char (&text)[INET6_ADDRSTRLEN]) {
  int family = address.family == 4 ? AF_INET : address.family == 6 ? AF_INET6 : 0;
  if (family == 0 || inet_ntop(family, address.bytes, text, sizeof text) == nullptr) return {};
  return text;
}

}  // namespace

RecordNameViews name_views_of(const FlowEvent& event, const CompiledPolicy& policy) {
  const auto* attachment = attachment_of(event, policy);
  if (!attachment) return {policy_name_of(event, policy), "", rule_name_of(event, policy), {}};
  return {policy_name_of(event, policy), attachment->source_label, rule_name_of(event, policy), attachment->record_fields};
}

RecordNames names_of(const FlowEvent& event, const CompiledPolicy& policy) {
  return name_views_of(event, policy).owned();
}

// Built from views into fixed buffers and appended in place (denial_record_format.h): the
// control thread formats one of these per denial, and per-field temporary strings were most
// of the writer's time (bench side measure "writer", docs/PERFORMANCE.md).
void append_denial_record_json(std::string& out, const FlowEvent& event, const RecordNameViews& names,
                               std::string_view appliance, const EventClock& clock, uint64_t count,
                               std::string_view event_id) {
  char time_text[64], src_text[INET6_ADDRSTRLEN], dst_text[INET6_ADDRSTRLEN], translated_text[INET6_ADDRSTRLEN];
  char protocol_text[4];
  DenialRecordFields fields;
  fields.event_time = clock.format_into(event.tsc, time_text);
  fields.access_type = to_string(event.verdict);
  fields.policy = names.policy;
  fields.source_label = names.source_label;
  fields.src_ip = ip_text(event.src, src_text);
  fields.src_port = event.src_port;
  fields.dst_ip = ip_text(event.dst, dst_text);
  fields.dst_port = event.dst_port;
  if (event.translated_src.family != 0) {
    fields.translated = true;
    fields.translated_src_ip = ip_text(event.translated_src, translated_text);
    fields.translated_src_port = event.translated_src_port;
  }
  fields.protocol = protocol_name_into(event.protocol, protocol_text);
  const std::optional<StorageRecord> storage = storage_record_of(event);
  fields.destination_type = storage ? "STORAGE" : to_string(event.destination_type);
  const std::string_view name(event.name, event.name_length);
  fields.destination = event.name_length ? name : fields.dst_ip;
  fields.reason = to_string(event.reason);
  fields.flow_id = event.flow_id;
  fields.appliance = appliance;
  fields.count = count;
  fields.dns_query = event.dns_query;
  fields.dns_name = name;
  fields.dns_rcode = event.dns_rcode;
  fields.storage = storage ? &*storage : nullptr;
  fields.rule = names.rule;
  fields.event_id = event_id;
  fields.record_fields = names.record_fields;
  append_denial_record_json(out, fields);
}

std::string denial_record_json(const FlowEvent& event, const RecordNameViews& names, const std::string& appliance,
                               const EventClock& clock, uint64_t count, std::string_view event_id) {
  std::string line;
  append_denial_record_json(line, event, names, appliance, clock, count, event_id);
  return line;
}

std::string denial_record_proto(const FlowEvent& event, const RecordNameViews& names, const std::string& appliance,
                                const EventClock& clock, uint64_t count, std::string_view event_id) {
  sluice::denial::DenialRecord record;
  record.set_event_time(clock.format(event.tsc));
  record.set_access_type(to_string(event.verdict));
  record.set_policy(std::string(names.policy));
  record.set_source_label(std::string(names.source_label));
  record.set_src_ip(format_ip(event.src));
  record.set_src_port(event.src_port);
  record.set_dst_ip(format_ip(event.dst));
  record.set_dst_port(event.dst_port);
  if (event.translated_src.family != 0) {
    record.set_translated_src_ip(format_ip(event.translated_src));
    record.set_translated_src_port(event.translated_src_port);
  }
  record.set_protocol(protocol_name(event.protocol));
  const std::optional<StorageRecord> storage = storage_record_of(event);
  record.set_destination_type(storage ? "STORAGE" : to_string(event.destination_type));
  record.set_destination(destination_of(event));
  record.set_reason(to_string(event.reason));
  record.set_flow_id(event.flow_id);
  record.set_appliance(appliance);
  record.set_count(count);
  if (event.dns_query) {
    record.mutable_dns_event()->set_domain_name(std::string(event.name, event.name_length));
    record.mutable_dns_event()->set_rcode(event.dns_rcode);
  }
  if (storage) {
    auto& out = *record.mutable_storage_event();
    out.set_hostname(storage->hostname);
    out.set_path(storage->path);
    out.set_rejection_reason(storage->rejection_reason);
    out.set_path_style(storage->path_style);
    out.set_provider(storage->provider);
  }
  if (!names.rule.empty()) record.set_rule(std::string(names.rule));
  record.set_event_id(std::string(event_id));
  for (const auto& [key, value] : names.record_fields) (*record.mutable_record_fields())[key] = value;
  return record.SerializeAsString();
}

std::string tls_version_name(uint16_t version) {
  switch (version) {
    case 0: return "";
    case 0x0300: return "SSL3.0";
    case 0x0301: return "TLS1.0";
    case 0x0302: return "TLS1.1";
    case 0x0303: return "TLS1.2";
    case 0x0304: return "TLS1.3";
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%04x", version);
  return hex;
}

std::string flow_log_json(const FlowEvent& event, const CompiledPolicy& policy, std::string_view event_id) {
  const auto* attachment = attachment_of(event, policy);
  std::string_view name(event.name, event.name_length);
  bool judged_by_name = event.verdict != FlowVerdict::pending;
  Json line;
  line["src_ip"] = format_ip(event.src);
  line["src_port"] = event.src_port;
  line["dst_ip"] = format_ip(event.dst);
  line["dst_port"] = event.dst_port;
  if (event.translated_src.family != 0) {
    line["translated_src_ip"] = format_ip(event.translated_src);
    line["translated_src_port"] = event.translated_src_port;
  }
  line["protocol"] = protocol_name(event.protocol);
  const bool sni = event.destination_type == DestinationType::sni || event.destination_type == DestinationType::quic_sni;
  line["sni"] = judged_by_name && sni ? name : "";
  line["http_host"] = judged_by_name && event.destination_type == DestinationType::http_host ? name : "";
  line["policy"] = policy_name_of(event, policy);
  line["source_label"] = attachment ? attachment->source_label : "";
  line["verdict"] = to_string(event.verdict);
  line["reason"] = to_string(event.verdict == FlowVerdict::pending ? Reason::no_payload_seen : event.reason);
  // A storage name is a STORAGE destination with its storage event, allowed or denied, as in
  // the denial records; `sni` / `http_host` still say what it was judged as (docs/RECORDS.md,
  // "Flow log").
  const std::optional<StorageRecord> storage = storage_record_of(event);
  line["destination_type"] = storage ? "STORAGE" : to_string(event.destination_type);
  line["destination"] = destination_of(event);
  if (storage) {
    Json& event_json = line["storage_event"];
    event_json["hostname"] = storage->hostname;
    event_json["path"] = storage->path;
    event_json["rejection_reason"] = storage->rejection_reason;
    event_json["path_style"] = storage->path_style;
    event_json["provider"] = storage->provider;
  }
  line["tls_alpn"] = std::string(event.tls_alpn, event.tls_alpn_length);
  line["tls_version"] = tls_version_name(event.tls_version);
  line["flow_id"] = event.flow_id;
  if (std::string_view rule = rule_name_of(event, policy); !rule.empty()) line["rule"] = rule;
  line["event_id"] = event_id;
  if (attachment)
    for (const auto& [key, value] : attachment->record_fields) line[key] = value;
  return json_line(line);
}

}  // namespace sluice

// The denial record's formatter (denial_record_format.h, flow_event_json.h): the same bytes as
// the string-concatenating formatter it replaced, for a corpus of events, and valid JSON that
// gives every byte back for hostile names (controls, quotes, backslashes, bytes that are not
// UTF-8, names of the longest length a FlowEvent holds).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "controlplane/records/flow_event_json.h"
#include "controlplane/records/json_appender.h"
#include "controlplane/records/storage_record.h"

namespace sluice {
namespace {

// --- The formatter before this change, verbatim but for names: the reference for the bytes. ---

std::string legacy_json_escape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string legacy_json_string(std::string_view text) { return "\"" + legacy_json_escape(text) + "\""; }

std::string legacy_protocol_name(uint8_t ip_protocol) {
  switch (ip_protocol) {
    case 6: return "TCP";
    case 17: return "UDP";
    case 1: return "ICMP";
    case 58: return "ICMPV6";
    default: return std::to_string(ip_protocol);
  }
}

std::string legacy_denial_record_json(const FlowEvent& event, const RecordNames& names, const std::string& appliance,
                                      const std::string& event_time, uint64_t count, std::string_view event_id) {
  std::string line = "{";
  line += "\"event_time\":" + legacy_json_string(event_time);
  line += ",\"access_type\":" + legacy_json_string(to_string(event.verdict));
  line += ",\"policy\":" + legacy_json_string(names.policy);
  line += ",\"source_label\":" + legacy_json_string(names.source_label);
  line += ",\"src_ip\":" + legacy_json_string(format_ip(event.src));
  line += ",\"src_port\":" + std::to_string(event.src_port);
  line += ",\"dst_ip\":" + legacy_json_string(format_ip(event.dst));
  line += ",\"dst_port\":" + std::to_string(event.dst_port);
  if (event.translated_src.family != 0) {
    line += ",\"translated_src_ip\":" + legacy_json_string(format_ip(event.translated_src));
    line += ",\"translated_src_port\":" + std::to_string(event.translated_src_port);
  }
  line += ",\"protocol\":" + legacy_json_string(legacy_protocol_name(event.protocol));
  const std::optional<StorageRecord> storage = storage_record_of(event);
  line += ",\"destination_type\":" + legacy_json_string(storage ? "STORAGE" : to_string(event.destination_type));
  line += ",\"destination\":" +
          legacy_json_string(event.name_length ? std::string(event.name, event.name_length) : format_ip(event.dst));
  line += ",\"reason\":" + legacy_json_string(to_string(event.reason));
  line += ",\"flow_id\":" + std::to_string(event.flow_id);
  line += ",\"appliance\":" + legacy_json_string(appliance);
  line += ",\"count\":" + std::to_string(count);
  if (event.dns_query) {
    line += ",\"dns_event\":{\"domain_name\":" + legacy_json_string(std::string_view(event.name, event.name_length)) +
            ",\"rcode\":" + std::to_string(event.dns_rcode) + "}";
  }
  if (storage) {
    line += ",\"storage_event\":{\"hostname\":" + legacy_json_string(storage->hostname) +
            ",\"path\":" + legacy_json_string(storage->path) +
            ",\"rejection_reason\":" + legacy_json_string(storage->rejection_reason) +
            ",\"path_style\":" + (storage->path_style ? "true" : "false") +
            ",\"provider\":" + legacy_json_string(storage->provider) + "}";
  }
  if (!names.rule.empty()) line += ",\"rule\":" + legacy_json_string(names.rule);
  line += ",\"event_id\":" + legacy_json_string(event_id);
  for (const auto& [key, value] : names.record_fields) line += ",\"" + key + "\":" + legacy_json_string(value);
  line += "}";
  return line;
}

// --- Events ---

void set_ip(IpAddress& address, std::initializer_list<int> bytes) {
  address.family = bytes.size() == 4 ? 4 : 6;
  int i = 0;
  for (int byte : bytes) address.bytes[i++] = static_cast<uint8_t>(byte);
}

void set_name(FlowEvent& event, std::string_view name) {
  event.name_length = static_cast<uint8_t>(std::min(name.size(), sizeof event.name));
  std::memcpy(event.name, name.data(), event.name_length);
}

FlowEvent tls_denial() {
  FlowEvent event;
  event.flow_id = 18446744073709551615ull;
  set_ip(event.src, {198, 18, 0, 7});
  set_ip(event.dst, {198, 19, 1, 200});
  event.src_port = 65535;
  event.dst_port = 443;
  event.protocol = 6;
  event.verdict = FlowVerdict::denied_enforced;
  event.reason = Reason::domain_not_allowed;
  event.destination_type = DestinationType::sni;
  set_name(event, "pypi.org");
  return event;
}

// Bytes a hostile workload can put in a name: every control byte, quotes, backslashes, DEL,
// lone continuation bytes and truncated UTF-8 sequences, and the longest name a FlowEvent holds.
std::vector<std::string> hostile_names() {
  std::vector<std::string> names = {
      "a\"b\\c", "\\\"", "line\nbreak\r\ttab", std::string("nul\0byte", 8), "\x7f" "del", "\x80\xbf\xc0\xc1",
      "\xe2\x82", "caf\xc3\xa9.example", "\xff\xfe\xfd", "</script>{\"x\":1}", "\\u0000", "x.example.com",
  };
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls += static_cast<char>(c);
  names.push_back(controls);
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  names.push_back(every_byte.substr(0, kMaxHostnameLength));
  names.push_back(every_byte.substr(256 - kMaxHostnameLength));
  names.push_back(std::string(kMaxHostnameLength, '\xff'));
  names.push_back(std::string(kMaxHostnameLength, '"'));
  return names;
}

// The events of the corpus: every optional part of a record, alone and together.
std::vector<FlowEvent> corpus() {
  std::vector<FlowEvent> events;
  events.push_back(tls_denial());
  FlowEvent ip = tls_denial();
  ip.name_length = 0;
  ip.destination_type = DestinationType::ip;
  ip.reason = Reason::ip_not_allowed;
  ip.protocol = 17;
  events.push_back(ip);
  FlowEvent v6 = ip;
  set_ip(v6.src, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  set_ip(v6.dst, {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34});
  v6.protocol = 58;
  events.push_back(v6);
  for (uint8_t protocol : {uint8_t{0}, uint8_t{1}, uint8_t{47}, uint8_t{255}}) {
    FlowEvent other = ip;
    other.protocol = protocol;
    events.push_back(other);
  }
  FlowEvent unset = ip;  // no addresses at all (family 0)
  unset.src = {};
  unset.dst = {};
  events.push_back(unset);
  FlowEvent dry = tls_denial();
  dry.verdict = FlowVerdict::denied_dry_run;
  dry.destination_type = DestinationType::quic_sni;
  events.push_back(dry);
  FlowEvent translated = tls_denial();
  set_ip(translated.translated_src, {198, 18, 9, 4});
  translated.translated_src_port = 20417;
  events.push_back(translated);
  FlowEvent dns = tls_denial();
  dns.dns_query = true;
  dns.dns_rcode = 3;
  dns.protocol = 17;
  dns.dst_port = 53;
  dns.destination_type = DestinationType::dns;
  set_name(dns, "tunnel.example.net");
  events.push_back(dns);
  FlowEvent dns_dropped = dns;
  dns_dropped.dns_rcode = -1;
  dns_dropped.name_length = 0;
  events.push_back(dns_dropped);
  FlowEvent s3 = tls_denial();
  set_name(s3, "acme-logs.s3.eu-west-1.amazonaws.com");
  events.push_back(s3);
  FlowEvent path_style = tls_denial();
  path_style.destination_type = DestinationType::http_host;
  path_style.dst_port = 80;
  set_name(path_style, "s3.amazonaws.com");
  const std::string path = "/other-bucket/key\"with\\bytes\x01\xff";
  path_style.path_length = static_cast<uint8_t>(path.size());
  std::memcpy(path_style.path, path.data(), path.size());
  events.push_back(path_style);
  FlowEvent azure = tls_denial();
  set_name(azure, "lake.dfs.core.windows.net");
  events.push_back(azure);
  FlowEvent ruled = tls_denial();
  ruled.rule_index = 0;
  events.push_back(ruled);
  FlowEvent tenant = tls_denial();
  tenant.attachment_index = 1;
  events.push_back(tenant);
  for (const std::string& name : hostile_names()) {
    FlowEvent hostile = tls_denial();
    set_name(hostile, name);
    events.push_back(hostile);
    FlowEvent hostile_dns = dns;
    set_name(hostile_dns, name);
    events.push_back(hostile_dns);
    FlowEvent hostile_host = path_style;
    set_name(hostile_host, name);
    events.push_back(hostile_host);
  }
  return events;
}

void fill_corpus_policy(CompiledPolicy& policy) {
  policy.policies.resize(1);
  policy.policies[0].name = "lake \"prod\"\\\x01\xff";
  policy.policies[0].rules.resize(1);
  policy.policies[0].rules[0].name = "deny-paste\tsites";
  policy.attachments.resize(2);
  policy.attachments[0].source_label = "default";
  policy.attachments[1].source_label = "spark\nprod";
  policy.attachments[1].record_fields = {{"account_id", "acc-4417"}, {"workspace_id", "ws \"prod\"\x1f\x80"}};
}

// What a JSON reader gets back for `bytes`: each byte as the code point of its value.
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

TEST(DenialRecordFormat, WritesTheSameBytesAsTheFormatterItReplaced) {
  CompiledPolicy policy;
  fill_corpus_policy(policy);
  EventClock clock;
  size_t compared = 0;
  for (const FlowEvent& event : corpus()) {
    for (uint64_t count : {uint64_t{1}, uint64_t{1234567}}) {
      for (std::string_view event_id : {std::string_view(), std::string_view("3f1c9a52-7d0e-4b8a-9c51-0e6d2a1b7f44")}) {
        const RecordNames names = names_of(event, policy);
        const std::string expected =
            legacy_denial_record_json(event, names, "appliance \"a1\"", clock.format(event.tsc), count, event_id);
        EXPECT_EQ(denial_record_json(event, names, "appliance \"a1\"", clock, count, event_id), expected);
        // In place after other records, from views into the generation, as the sink writes it.
        std::string queue = "{\"earlier\":1}\n";
        append_denial_record_json(queue, event, name_views_of(event, policy), "appliance \"a1\"", clock, count,
                                  event_id);
        EXPECT_EQ(queue, "{\"earlier\":1}\n" + expected);
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 100u);
}

TEST(DenialRecordFormat, HostileNamesStayValidJsonAndComeBackByteForByte) {
  CompiledPolicy policy;
  fill_corpus_policy(policy);
  EventClock clock;
  for (const std::string& name : hostile_names()) {
    FlowEvent event = tls_denial();
    event.attachment_index = 1;
    event.rule_index = 0;
    set_name(event, name);
    const std::string kept(event.name, event.name_length);
    const std::string line = denial_record_json(event, names_of(event, policy), "a1", clock, 1, "id");
    EXPECT_EQ(line.find('\n'), std::string::npos);
    nlohmann::json record;
    ASSERT_NO_THROW(record = nlohmann::json::parse(line)) << line;
    EXPECT_EQ(record["destination"], as_code_points(kept));
    EXPECT_EQ(record["policy"], as_code_points(policy.policies[0].name));
    EXPECT_EQ(record["source_label"], "spark\nprod");
    EXPECT_EQ(record["rule"], "deny-paste\tsites");
    EXPECT_EQ(record["workspace_id"], as_code_points("ws \"prod\"\x1f\x80"));

    event.dns_query = true;
    const std::string dns_line = denial_record_json(event, names_of(event, policy), "a1", clock, 1, "id");
    ASSERT_NO_THROW(record = nlohmann::json::parse(dns_line)) << dns_line;
    EXPECT_EQ(record["dns_event"]["domain_name"], as_code_points(kept));
  }
}

TEST(DenialRecordFormat, EscapingAllocatesNothingForPlainNamesAndEscapesEveryOtherByte) {
  EXPECT_EQ(json_escape("pypi.org"), "pypi.org");
  EXPECT_EQ(json_escape(std::string("\0\x1f\x7f\x80\xff", 5)), "\\u0000\\u001f\\u007f\\u0080\\u00ff");
  EXPECT_EQ(json_escape("\"\\\n\r\t\b\f"), "\\\"\\\\\\n\\r\\t\\u0008\\u000c");
  for (int c = 0; c < 256; ++c) {
    const std::string byte(1, static_cast<char>(c));
    EXPECT_EQ(json_escape(byte), legacy_json_escape(byte)) << c;
  }
  std::string buffer;
  buffer.reserve(64);
  const char* storage = buffer.data();
  append_json_escaped(buffer, "plain.example.com");
  EXPECT_EQ(buffer.data(), storage);  // appended into the buffer it was given
  EXPECT_EQ(buffer, "plain.example.com");
}

// The time as the formatter before this change wrote it: calendar arithmetic for every record.
std::string legacy_event_time(int64_t unix_ns) {
  time_t seconds = static_cast<time_t>(unix_ns / 1000000000);
  int millis = static_cast<int>((unix_ns / 1000000) % 1000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
  return text;
}

TEST(DenialRecordFormat, EventTimeIsRightAcrossSecondsDaysAndYearsInAnyOrder) {
  // A TSC of 1 GHz read at 2026-12-31T23:59:58.999 UTC: the records cross a second, a day and a
  // year, and come in any order (aggregated records are written late), so the second's text
  // kept from the record before must never be reused for another second.
  const int64_t start_ns = 1798761598999000000;
  const EventClock clock(1000, 1e9, start_ns);
  const uint64_t offsets_ns[] = {0,          1000000,    999999,     1000001,   2000000000, 1,
                                 1001000000, 999000000,  3600000000000, 2000000000, 86400000000000, 0};
  for (uint64_t offset : offsets_ns) {
    char text[64];
    // The TSC converts through a double, as it always did.
    const std::string expected = legacy_event_time(start_ns + static_cast<int64_t>(double(offset) / 1e9 * 1e9));
    EXPECT_EQ(clock.format(1000 + offset), expected) << offset;
    EXPECT_EQ(clock.format_into(1000 + offset, text), expected) << offset;
  }
  EXPECT_EQ(clock.format(0), legacy_event_time(start_ns));  // before the reference: the reference
  EXPECT_EQ(clock.format(1000 + 1500000000), "2027-01-01T00:00:00.499Z");
}

TEST(DenialRecordFormat, NumbersPrintAsTheirDecimalDigits) {
  std::string out;
  JsonAppender json(out);
  json.number(uint64_t{0}).raw(",").number(uint64_t{18446744073709551615ull}).raw(",").number(int64_t{-1});
  json.raw(",").number(int64_t{-9223372036854775807ll - 1}).raw(",").boolean(true).raw(",").boolean(false);
  EXPECT_EQ(out, "0,18446744073709551615,-1,-9223372036854775808,true,false");
}

}  // namespace
}  // namespace sluice

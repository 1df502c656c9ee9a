// The clouds' published prefix files behind service tags: Azure's ServiceTags_Public_*.json and
// AWS's ip-ranges.json, each in the format its provider publishes (docs/POLICY.md, "Service
// tags"). Parsing is pure (no file access) so that it is unit-tested and fuzzed on plain text;
// a file is accepted whole or refused with the first problem, naming where in the file it is.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/policy/cidr.h"

namespace sluice {

enum class ServiceTagProvider : uint8_t { azure, aws };
const char* to_string(ServiceTagProvider provider);  // "azure", "aws"

struct ServiceTagFile {
  ServiceTagProvider provider = ServiceTagProvider::azure;
  // Azure: the file's changeNumber; AWS: its syncToken (the publication time, Unix seconds).
  std::string version;
  // Lower-cased tag name → its prefixes, in file order without repeats. Azure: every "name"
  // of "values"; AWS: "aws:SERVICE" and "aws:SERVICE:REGION" for every prefix's service and region.
  std::map<std::string, std::vector<Cidr>> tags;
  size_t prefix_count = 0;  // distinct prefixes over all tags
};

// Tells the provider from the content (Azure: "values"; AWS: "prefixes" and "syncToken") and
// parses it. On failure returns false with `error` ("values[3].properties.addressPrefixes[1]:
// \"10.0.0.1/33\": prefix length out of range"); the caller prefixes the file name.
bool parse_service_tag_file(std::string_view text, ServiceTagFile& out, std::string& error);

// One format only (what the fuzz targets and the dispatcher above call).
bool parse_azure_service_tags(std::string_view text, ServiceTagFile& out, std::string& error);
bool parse_aws_ip_ranges(std::string_view text, ServiceTagFile& out, std::string& error);

// The key a policy's tag is looked up under: lower case (Azure tags and AWS names are matched
// case-insensitively).
std::string service_tag_key(std::string_view tag);

}  // namespace sluice

#include "controlplane/policy/service_tag_file.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

namespace sluice {

namespace {

using nlohmann::json;

// Real files are a few MiB with a few thousand tags; these bounds only stop a hostile or broken
// file from making the compile (whose network table build is quadratic) take hours.
constexpr size_t kMaxEntries = 200000;
constexpr size_t kMaxNameBytes = 256;

struct ParseState {
  ServiceTagFile& out;
  std::string& error;
  std::set<std::pair<std::string, std::string>> seen;  // (tag, prefix) already added
  std::set<std::string> distinct;

  bool fail(const std::string& where, const std::string& problem) {
    error = where + ": " + problem;
    return false;
  }

  bool add(const std::string& tag, const std::string& where, const std::string& text) {
    Cidr cidr;
    if (CidrError problem = parse_cidr(text, cidr); problem != CidrError::none)
      return fail(where, json(text).dump() + ": " + describe(problem));
    // A bare address is no prefix in these files; "/32" is written out.
    if (text.find('/') == std::string::npos) return fail(where, json(text).dump() + ": not a CIDR prefix");
    const std::string key = format_cidr(cidr);
    if (seen.emplace(tag, key).second) out.tags[tag].push_back(cidr);
    distinct.insert(key);
    return true;
  }
};

bool is_tag_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_';
  });
}

// The member `name` of `object`, or null when it has none.
const json* member(const json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

bool parse_azure(const json& root, ParseState& state) {
  const json* change = member(root, "changeNumber");
  if (!change || !change->is_number_unsigned()) return state.fail("changeNumber", "missing or not a number");
  state.out.provider = ServiceTagProvider::azure;
  state.out.version = std::to_string(change->get<uint64_t>());
  const json* values_member = member(root, "values");
  if (!values_member || !values_member->is_array()) return state.fail("values", "missing or not an array");
  const json& values = *values_member;
  if (values.size() > kMaxEntries) return state.fail("values", "more than " + std::to_string(kMaxEntries) + " tags");
  size_t prefixes = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string where = "values[" + std::to_string(i) + "]";
    const json& value = values[i];
    if (!value.is_object()) return state.fail(where, "not an object");
    const json* name = member(value, "name");
    if (!name || !name->is_string()) return state.fail(where + ".name", "missing or not a string");
    const std::string tag = name->get<std::string>();
    if (!is_tag_name(tag))
      return state.fail(where + ".name", json(tag).dump() + ": a tag name is letters, digits, '.', '-' and '_'");
    const std::string key = service_tag_key(tag);
    if (state.out.tags.count(key)) return state.fail(where + ".name", json(tag).dump() + ": listed twice");
    const json* properties = member(value, "properties");
    if (!properties || !properties->is_object()) return state.fail(where + ".properties", "missing or not an object");
    const json* list = member(*properties, "addressPrefixes");
    if (!list || !list->is_array()) return state.fail(where + ".properties.addressPrefixes", "missing or not an array");
    state.out.tags[key];  // a tag may list no prefixes; it still exists
    for (size_t j = 0; j < list->size(); ++j) {
      const std::string prefix_where = where + ".properties.addressPrefixes[" + std::to_string(j) + "]";
      const json& prefix = (*list)[j];
      if (!prefix.is_string()) return state.fail(prefix_where, "not a string");
      if (++prefixes > kMaxEntries) return state.fail(prefix_where, "more than " + std::to_string(kMaxEntries) + " prefixes");
      if (!state.add(key, prefix_where, prefix.get<std::string>())) return false;
    }
  }
  return true;
}

bool parse_aws_list(const json& root, const char* list_name, const char* prefix_name, ParseState& state) {
  const json* list = member(root, list_name);
  if (!list) return true;  // a file of one family only is still a file
  if (!list->is_array()) return state.fail(list_name, "not an array");
  if (list->size() > kMaxEntries)
    return state.fail(list_name, "more than " + std::to_string(kMaxEntries) + " prefixes");
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string where = std::string(list_name) + "[" + std::to_string(i) + "]";
    const json& entry = (*list)[i];
    if (!entry.is_object()) return state.fail(where, "not an object");
    const json* prefix = member(entry, prefix_name);
    const json* service = member(entry, "service");
    const json* region = member(entry, "region");
    if (!prefix || !prefix->is_string()) return state.fail(where + "." + prefix_name, "missing or not a string");
    if (!service || !service->is_string() || !is_tag_name(service->get<std::string>()))
      return state.fail(where + ".service", "missing, or not a name of letters, digits, '.', '-' and '_'");
    if (!region || !region->is_string() || !is_tag_name(region->get<std::string>()))
      return state.fail(where + ".region", "missing, or not a name of letters, digits, '.', '-' and '_'");
    const std::string by_service = service_tag_key("AWS:" + service->get<std::string>());
    const std::string text = prefix->get<std::string>();
    if (!state.add(by_service, where + "." + prefix_name, text)) return false;
    if (!state.add(by_service + ":" + service_tag_key(region->get<std::string>()), where + "." + prefix_name, text))
      return false;
  }
  return true;
}

bool parse_aws(const json& root, ParseState& state) {
  const json* token = member(root, "syncToken");
  if (!token || !token->is_string() || token->get<std::string>().empty() ||
      token->get<std::string>().size() > 64)
    return state.fail("syncToken", "missing or not a string");
  state.out.provider = ServiceTagProvider::aws;
  state.out.version = token->get<std::string>();
  if (!std::all_of(state.out.version.begin(), state.out.version.end(), [](unsigned char c) { return std::isdigit(c); }))
    return state.fail("syncToken", json(state.out.version).dump() + ": not a publication time (digits)");
  return parse_aws_list(root, "prefixes", "ip_prefix", state) &&
         parse_aws_list(root, "ipv6_prefixes", "ipv6_prefix", state);
}

}  // namespace

const char* to_string(ServiceTagProvider provider) {
  return provider == ServiceTagProvider::aws ? "aws" : "azure";
}

std::string service_tag_key(std::string_view tag) {
  std::string key(tag);
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return key;
}

namespace {

enum class Format { detect, azure, aws };

bool parse_as(std::string_view text, Format format, ServiceTagFile& out, std::string& error) {
  out = ServiceTagFile();
  // nlohmann's parser keeps its nesting on the heap, not the stack, and allow_exceptions=false
  // turns every syntax error into a discarded value: no input can crash or throw here.
  json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    error = "not valid JSON";
    return false;
  }
  if (!root.is_object()) {
    error = "not a JSON object";
    return false;
  }
  if (format == Format::detect) {
    if (root.contains("values"))
      format = Format::azure;
    else if (root.contains("syncToken") || root.contains("prefixes"))
      format = Format::aws;
    else {
      error = "neither an Azure service tag file (\"values\") nor an AWS ip-ranges.json (\"syncToken\", \"prefixes\")";
      return false;
    }
  }
  ParseState state{out, error, {}, {}};
  if (!(format == Format::azure ? parse_azure(root, state) : parse_aws(root, state))) {
    out = ServiceTagFile();
    return false;
  }
  out.prefix_count = state.distinct.size();
  return true;
}

}  // namespace

bool parse_service_tag_file(std::string_view text, ServiceTagFile& out, std::string& error) {
  return parse_as(text, Format::detect, out, error);
}

bool parse_azure_service_tags(std::string_view text, ServiceTagFile& out, std::string& error) {
  return parse_as(text, Format::azure, out, error);
}

bool parse_aws_ip_ranges(std::string_view text, ServiceTagFile& out, std::string& error) {
  return parse_as(text, Format::aws, out, error);
}

}  // namespace sluice

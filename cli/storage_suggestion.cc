#include "cli/storage_suggestion.h"

#include <algorithm>
#include <vector>

#include "dataplane/policy/storage_host.h"

namespace sluice {

namespace {

constexpr std::string_view kAwsSuffix = ".amazonaws.com";
constexpr std::string_view kSecondary = "-secondary";
constexpr std::string_view kLegacyGlobalRegion = "us-east-1";
constexpr size_t kAccountIdDigits = 12;

std::vector<std::string_view> labels_of(std::string_view name) {
  std::vector<std::string_view> labels;
  while (true) {
    const size_t dot = name.find('.');
    labels.push_back(name.substr(0, dot));
    if (dot == std::string_view::npos) return labels;
    name.remove_prefix(dot + 1);
  }
}

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  return out;
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }  // names hold no quote or backslash

std::string list_text(const std::set<std::string>& items, bool quote) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + (quote ? quoted(item) : item);
  return "[" + out + "]";
}

// The S3 endpoint labels after the bucket (before ".amazonaws.com"): "s3.eu-west-1",
// "s3.dualstack.eu-west-1", "s3-fips.eu-west-1", "s3-eu-west-1", "s3", "s3-external-1",
// "s3-accesspoint.eu-west-1". Fills the region, or says the name is the legacy global one;
// false for a website endpoint.
bool read_s3_endpoint(std::string_view endpoint, StorageEntry& entry) {
  const std::vector<std::string_view> labels = labels_of(endpoint);
  if (labels.front().starts_with("s3-website")) return false;
  if (labels.size() > 1) {
    entry.regions.insert(std::string(labels.back()));
  } else if (labels.front() == "s3") {
    entry.legacy_global = true;
  } else if (labels.front() == "s3-external-1") {
    entry.regions.insert(std::string(kLegacyGlobalRegion));
  } else if (labels.front().starts_with("s3-")) {
    entry.regions.insert(std::string(labels.front().substr(3)));
  }
  return true;
}

}  // namespace

std::string StorageEntry::key() const {
  return std::to_string(int(kind)) + "/" + name + "/" + account_id;
}

void StorageEntry::merge(const StorageEntry& other) {
  services.insert(other.services.begin(), other.services.end());
  regions.insert(other.regions.begin(), other.regions.end());
  if (web_zone.empty()) web_zone = other.web_zone;
  secondary = secondary || other.secondary;
  legacy_global = legacy_global || other.legacy_global;
}

std::optional<StorageEntry> storage_entry_of(std::string_view host) {
  const StorageHost storage = classify_storage_host(host);
  if (storage.provider == StorageProvider::none || storage.owner.empty()) return std::nullopt;
  StorageEntry entry;
  entry.name = std::string(storage.owner);
  switch (storage.provider) {
    case StorageProvider::none: return std::nullopt;
    case StorageProvider::azure: {
      entry.kind = StorageEntry::Kind::azure_account;
      entry.services.insert(upper(storage.service));
      const std::vector<std::string_view> labels = labels_of(host);
      entry.secondary = labels.front().ends_with(kSecondary);
      if (storage.service == "web") entry.web_zone = std::string(labels[1]);
      return entry;
    }
    case StorageProvider::gcs: entry.kind = StorageEntry::Kind::gcs_bucket; return entry;
    case StorageProvider::s3: {
      entry.kind = storage.access_point ? StorageEntry::Kind::s3_access_point : StorageEntry::Kind::s3_bucket;
      if (storage.access_point) {  // "NAME-ACCOUNTID"
        entry.account_id = entry.name.substr(entry.name.size() - kAccountIdDigits);
        entry.name.resize(entry.name.size() - kAccountIdDigits - 1);
      }
      const std::string_view endpoint =
          host.substr(storage.owner.size() + 1, host.size() - storage.owner.size() - 1 - kAwsSuffix.size());
      if (!read_s3_endpoint(endpoint, entry)) return std::nullopt;
      return entry;
    }
  }
  return std::nullopt;
}

std::string storage_entry_text(const StorageEntry& entry) {
  std::string body;
  switch (entry.kind) {
    case StorageEntry::Kind::azure_account:
      body = "azure_account { name: " + quoted(entry.name) + " services: " + list_text(entry.services, false);
      if (entry.secondary) body += " secondary: true";
      if (!entry.web_zone.empty()) body += " web_zone: " + quoted(entry.web_zone);
      break;
    case StorageEntry::Kind::s3_bucket:
    case StorageEntry::Kind::s3_access_point: {
      std::set<std::string> regions = entry.regions;
      if (regions.empty()) regions.insert(std::string(kLegacyGlobalRegion));
      body = entry.kind == StorageEntry::Kind::s3_bucket ? "s3_bucket { name: " + quoted(entry.name)
                                                         : "s3_access_point { name: " + quoted(entry.name) +
                                                               " account_id: " + quoted(entry.account_id);
      body += " regions: " + list_text(regions, true);
      break;
    }
    case StorageEntry::Kind::gcs_bucket: body = "gcs_bucket { name: " + quoted(entry.name); break;
  }
  return "allowed_storage { " + body + " } }";
}

}  // namespace sluice

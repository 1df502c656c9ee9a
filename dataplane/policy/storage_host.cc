#include "dataplane/policy/storage_host.h"

#include <array>

namespace sluice {

namespace {

constexpr std::string_view kAzureSuffix = ".core.windows.net";
constexpr std::string_view kAwsSuffix = ".amazonaws.com";
constexpr std::string_view kGcsEndpoint = "storage.googleapis.com";
constexpr std::string_view kSecondary = "-secondary";
constexpr size_t kMaxLabels = 128;  // a 253-byte name has at most 127 labels

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 3-24 lower-case letters and digits: the only names Azure gives storage accounts.
bool is_azure_account(std::string_view name) {
  if (name.size() < 3 || name.size() > 24) return false;
  for (char c : name)
    if (!is_lower(c) && !is_digit(c)) return false;
  return true;
}

// "eu-west-1", "us-gov-west-1", "ap-southeast-4": two letters, words, a number.
bool is_aws_region(std::string_view text) {
  if (text.size() < 6 || !is_lower(text[0]) || !is_lower(text[1]) || text[2] != '-') return false;
  const size_t last_dash = text.rfind('-');
  if (last_dash == 2 || last_dash + 1 == text.size()) return false;
  for (size_t i = last_dash + 1; i < text.size(); ++i)
    if (!is_digit(text[i])) return false;
  for (size_t i = 3; i < last_dash; ++i)
    if (!is_lower(text[i]) && !(text[i] == '-' && text[i - 1] != '-')) return false;
  return text[last_dash - 1] != '-';
}

struct Labels {
  std::array<std::string_view, kMaxLabels> label;
  size_t count = 0;
};

bool split_labels(std::string_view name, Labels& out) {
  out.count = 0;
  while (true) {
    if (out.count == kMaxLabels) return false;
    const size_t dot = name.find('.');
    out.label[out.count++] = name.substr(0, dot);
    if (dot == std::string_view::npos) return true;
    name.remove_prefix(dot + 1);
  }
}

enum class S3Endpoint : uint8_t { none, shared, access_point, website };

// Whether labels[first..] (the name before ".amazonaws.com") are one of S3's endpoints.
S3Endpoint s3_endpoint(const Labels& labels, size_t first) {
  const size_t n = labels.count - first;
  const std::string_view* l = labels.label.data() + first;
  const bool dualstack_region = n == 3 && l[1] == "dualstack" && is_aws_region(l[2]);
  const bool region = n == 2 && is_aws_region(l[1]);
  if (l[0] == "s3" || l[0] == "s3-fips") {
    if ((n == 1 && l[0] == "s3") || region || dualstack_region) return S3Endpoint::shared;
    return S3Endpoint::none;
  }
  if (l[0] == "s3-accesspoint" || l[0] == "s3-accesspoint-fips")
    return region || dualstack_region ? S3Endpoint::access_point : S3Endpoint::none;
  if (l[0] == "s3-website") return region ? S3Endpoint::website : S3Endpoint::none;
  if (n == 1 && l[0] == "s3-external-1") return S3Endpoint::shared;
  if (n == 1 && l[0].starts_with("s3-website-") && is_aws_region(l[0].substr(11))) return S3Endpoint::website;
  // The legacy dash form of older regions: s3-eu-west-1.amazonaws.com.
  if (n == 1 && l[0].starts_with("s3-") && is_aws_region(l[0].substr(3))) return S3Endpoint::shared;
  return S3Endpoint::none;
}

// "NAME-ACCOUNTID": an access point's first label ends in its owner's 12-digit account.
bool is_access_point_label(std::string_view label) {
  if (label.size() < 14 || label[label.size() - 13] != '-') return false;
  for (size_t i = label.size() - 12; i < label.size(); ++i)
    if (!is_digit(label[i])) return false;
  return true;
}

StorageHost classify_azure(std::string_view host) {
  StorageHost result;
  Labels labels;
  if (!split_labels(host.substr(0, host.size() - kAzureSuffix.size()), labels)) return result;
  std::string_view account = labels.label[0];
  if (account.ends_with(kSecondary)) account.remove_suffix(kSecondary.size());
  if (!is_azure_account(account)) return result;
  if (labels.count == 2) {
    constexpr std::string_view kServices[] = {"blob", "dfs", "file", "queue", "table"};
    for (std::string_view service : kServices)
      if (labels.label[1] == service) result.service = service;
  } else if (labels.count == 3 && labels.label[2] == "web" && labels.label[1].size() >= 2 &&
             labels.label[1][0] == 'z') {
    // Static websites: ACCOUNT.z13.web.core.windows.net (the zone is a z and digits).
    bool zone = true;
    for (char c : labels.label[1].substr(1)) zone = zone && is_digit(c);
    if (zone) result.service = "web";
  }
  if (result.service.empty()) return result;
  result.provider = StorageProvider::azure;
  result.owner = account;
  return result;
}

StorageHost classify_s3(std::string_view host) {
  StorageHost result;
  Labels labels;
  if (!split_labels(host.substr(0, host.size() - kAwsSuffix.size()), labels)) return result;
  // The first position from which the rest is an endpoint; what comes before is the bucket
  // (which may hold dots and even an "s3" label of its own).
  for (size_t first = 0; first < labels.count; ++first) {
    const S3Endpoint endpoint = s3_endpoint(labels, first);
    if (endpoint == S3Endpoint::none) continue;
    if (first == 0) {
      if (endpoint != S3Endpoint::shared) return result;
      result.provider = StorageProvider::s3;
      result.path_style = true;
      return result;
    }
    const size_t owner_length = size_t(labels.label[first].data() - host.data()) - 1;
    if (endpoint == S3Endpoint::access_point && (first != 1 || !is_access_point_label(labels.label[0])))
      return result;
    result.provider = StorageProvider::s3;
    result.owner = host.substr(0, owner_length);
    result.access_point = endpoint == S3Endpoint::access_point;
    return result;
  }
  return result;
}

bool has_unsafe_byte(std::string_view path) {
  return path.find('%') != std::string_view::npos || path.find('\\') != std::string_view::npos;
}

bool has_dot_segment(std::string_view path) {
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view segment = path.substr(0, slash);
    if (segment == "." || segment == "..") return true;
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return false;
}

std::string_view first_segment(std::string_view path) { return path.substr(0, path.find('/')); }

}  // namespace

StorageHost classify_storage_host(std::string_view host) {
  if (host.size() > kAzureSuffix.size() && host.ends_with(kAzureSuffix)) return classify_azure(host);
  if (host.size() > kAwsSuffix.size() && host.ends_with(kAwsSuffix)) return classify_s3(host);
  StorageHost result;
  if (host == kGcsEndpoint) {
    result.provider = StorageProvider::gcs;
    result.path_style = true;
  } else if (host.size() > kGcsEndpoint.size() + 1 && host.ends_with(kGcsEndpoint) &&
             host[host.size() - kGcsEndpoint.size() - 1] == '.') {
    result.provider = StorageProvider::gcs;
    result.owner = host.substr(0, host.size() - kGcsEndpoint.size() - 1);
  }
  return result;
}

std::string_view storage_bucket_in_path(StorageProvider provider, std::string_view path) {
  if (path.size() < 2 || path[0] != '/' || has_unsafe_byte(path) || has_dot_segment(path.substr(1))) return {};
  path.remove_prefix(1);
  if (provider == StorageProvider::gcs) {
    // The JSON API names the bucket after "b/"; a batch request holds many requests in its body.
    constexpr std::string_view kJsonApi[] = {"storage/v1/b/", "upload/storage/v1/b/", "download/storage/v1/b/"};
    for (std::string_view prefix : kJsonApi)
      if (path.starts_with(prefix)) return first_segment(path.substr(prefix.size()));
    if (first_segment(path) == "batch" || path.starts_with("storage/v1/") ||
        path.starts_with("upload/storage/") || path.starts_with("download/storage/"))
      return {};
  }
  return first_segment(path);
}

const char* to_string(StorageProvider provider) {
  switch (provider) {
    case StorageProvider::none: return "";
    case StorageProvider::azure: return "AZURE";
    case StorageProvider::s3: return "S3";
    case StorageProvider::gcs: return "GCS";
  }
  return "";
}

}  // namespace sluice

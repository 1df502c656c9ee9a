#include "controlplane/records/storage_record.h"

#include <string_view>

#include "dataplane/policy/storage_host.h"

namespace sluice {

namespace {

bool judged_on_name(const FlowEvent& event) {
  return !event.dns_query && event.name_length > 0 &&
         (event.destination_type == DestinationType::sni || event.destination_type == DestinationType::http_host ||
          event.destination_type == DestinationType::quic_sni);
}

// The account's container (the path's first segment) in the URI form its clients write:
// abfss:// for Data Lake (dfs), wasbs:// for blob; the TLS-less forms over plain HTTP.
std::string azure_hostname(std::string_view host, std::string_view service, std::string_view container,
                           bool plain_http) {
  if (!container.empty() && service == "dfs")
    return std::string(plain_http ? "abfs://" : "abfss://") + std::string(container) + "@" + std::string(host);
  if (!container.empty() && service == "blob")
    return std::string(plain_http ? "wasb://" : "wasbs://") + std::string(container) + "@" + std::string(host);
  return std::string(plain_http ? "http://" : "https://") + std::string(host);
}

}  // namespace

std::optional<StorageRecord> storage_record_of(const FlowEvent& event) {
  if (!judged_on_name(event)) return std::nullopt;
  const std::string_view host(event.name, event.name_length);
  const StorageHost storage = classify_storage_host(host);
  if (storage.provider == StorageProvider::none) return std::nullopt;

  StorageRecord record;
  record.provider = to_string(storage.provider);
  record.path.assign(event.path, event.path_length);
  record.path_style = storage.path_style;
  if (event.verdict != FlowVerdict::allowed) record.rejection_reason = to_string(event.reason);
  const bool plain_http = event.destination_type == DestinationType::http_host;
  const std::string scheme = plain_http ? "http://" : "https://";
  const char* bucket_scheme = storage.provider == StorageProvider::gcs ? "gs://" : "s3://";
  if (storage.provider == StorageProvider::azure) {
    const std::string_view path = record.path;
    const std::string_view container =
        path.size() > 1 && path[0] == '/' ? path.substr(1, path.find('/', 1) - 1) : std::string_view();
    record.hostname = azure_hostname(host, storage.service, container, plain_http);
  } else if (storage.path_style) {
    const std::string_view bucket = storage_bucket_in_path(storage.provider, record.path);
    record.hostname = bucket.empty() ? scheme + std::string(host) : bucket_scheme + std::string(bucket);
  } else if (storage.access_point) {
    record.hostname = scheme + std::string(host);
  } else {
    record.hostname = bucket_scheme + std::string(storage.owner);
  }
  return record;
}

}  // namespace sluice

#include "controlplane/policy/storage_expansion.h"

namespace sluice {

namespace {

namespace pb = sluice::policy;

const char* azure_service_label(pb::AzureStorageService service) {
  switch (service) {
    case pb::BLOB: return "blob";
    case pb::DFS: return "dfs";
    case pb::FILE: return "file";
    case pb::QUEUE: return "queue";
    case pb::TABLE: return "table";
    default: return nullptr;  // WEB has a zone label; unknown values were refused by the validator
  }
}

void expand_azure(const pb::AzureStorageAccount& account, StorageExpansion& out) {
  out.provider = StorageProvider::azure;
  std::vector<std::string> accounts = {account.name()};
  // Read-access geo-redundant accounts answer reads at ACCOUNT-secondary.SERVICE...
  if (account.secondary()) accounts.push_back(account.name() + "-secondary");
  for (const std::string& name : accounts) {
    for (int service : account.services()) {
      const auto kind = static_cast<pb::AzureStorageService>(service);
      if (kind == pb::WEB) {
        out.hosts.push_back(name + "." + account.web_zone() + ".web.core.windows.net");
      } else if (const char* label = azure_service_label(kind)) {
        out.hosts.push_back(name + "." + label + ".core.windows.net");
      }
    }
  }
}

// Per region: the regional endpoint, dual-stack (IPv6), FIPS and FIPS dual-stack, and the dash
// form older regions still answer (s3-REGION). The shared endpoints are the same without the
// bucket; s3.amazonaws.com (the legacy global endpoint) routes to any bucket's region.
void expand_s3_bucket(const pb::S3Bucket& bucket, StorageExpansion& out) {
  out.provider = StorageProvider::s3;
  out.bucket = bucket.name();
  const std::string prefix = bucket.name() + ".";
  out.path_style_endpoints.push_back("s3.amazonaws.com");
  for (const std::string& region : bucket.regions()) {
    for (const std::string& endpoint : {"s3." + region, "s3.dualstack." + region, "s3-fips." + region,
                                        "s3-fips.dualstack." + region, "s3-" + region})
      out.path_style_endpoints.push_back(endpoint + ".amazonaws.com");
  }
  for (const std::string& endpoint : out.path_style_endpoints) out.hosts.push_back(prefix + endpoint);
}

void expand_s3_access_point(const pb::S3AccessPoint& point, StorageExpansion& out) {
  out.provider = StorageProvider::s3;
  const std::string label = point.name() + "-" + point.account_id();
  for (const std::string& region : point.regions()) {
    for (const std::string& endpoint : {"s3-accesspoint." + region, "s3-accesspoint.dualstack." + region,
                                        "s3-accesspoint-fips." + region, "s3-accesspoint-fips.dualstack." + region})
      out.hosts.push_back(label + "." + endpoint + ".amazonaws.com");
  }
}

void expand_gcs_bucket(const pb::GcsBucket& bucket, StorageExpansion& out) {
  out.provider = StorageProvider::gcs;
  out.bucket = bucket.name();
  out.hosts.push_back(bucket.name() + ".storage.googleapis.com");
  out.path_style_endpoints.push_back("storage.googleapis.com");
}

}  // namespace

StorageExpansion expand_storage_destination(const pb::StorageDestination& entry) {
  StorageExpansion out;
  switch (entry.destination_case()) {
    case pb::StorageDestination::kAzureAccount: expand_azure(entry.azure_account(), out); break;
    case pb::StorageDestination::kS3Bucket: expand_s3_bucket(entry.s3_bucket(), out); break;
    case pb::StorageDestination::kS3AccessPoint: expand_s3_access_point(entry.s3_access_point(), out); break;
    case pb::StorageDestination::kGcsBucket: expand_gcs_bucket(entry.gcs_bucket(), out); break;
    case pb::StorageDestination::DESTINATION_NOT_SET: break;
  }
  return out;
}

}  // namespace sluice

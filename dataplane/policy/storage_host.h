// Storage providers' host names (docs/POLICY.md, "Storage destinations"): which names are an
// Azure storage account's, an S3 bucket's or access point's, a GCS bucket's, or a provider's
// shared path-style endpoint, and which bucket a path-style request's path names. Pure and
// allocation-free: the packet path reads paths with it, the records classify names with it.
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice {

enum class StorageProvider : uint8_t { none = 0, azure, s3, gcs };

struct StorageHost {
  StorageProvider provider = StorageProvider::none;
  // The account (Azure), bucket (S3, GCS) or access point ("NAME-ACCOUNTID") the name is of;
  // empty for a shared path-style endpoint, whose bucket is in the request's path.
  std::string_view owner;
  std::string_view service;  // Azure: "blob", "dfs", "file", "queue", "table", "web"; else empty
  bool access_point = false;  // S3: NAME-ACCOUNTID.s3-accesspoint...
  bool path_style = false;    // s3.REGION.amazonaws.com, s3.amazonaws.com, storage.googleapis.com...
};

// `host` normalised (lower case, no trailing dot). provider none when it has no storage shape.
StorageHost classify_storage_host(std::string_view host);

// The bucket a path-style request names: the first segment of `path` ("/BUCKET/key"), or for
// GCS's JSON API the one after "b/" ("/storage/v1/b/BUCKET/o", "/upload/storage/v1/b/BUCKET/o",
// "/download/storage/v1/b/BUCKET/o"). Empty when none can be read safely: no bucket ("/",
// "/?list-type=2"), a dot segment, a percent-escape or a backslash anywhere in the path (what a
// server might decode or normalise into another bucket).
std::string_view storage_bucket_in_path(StorageProvider provider, std::string_view path);

const char* to_string(StorageProvider provider);  // "AZURE" | "S3" | "GCS" | ""

}  // namespace sluice

// What a policy's allowed_storage entry (policy.proto StorageDestination) expands into: the
// exact host names its clients use (no wildcard), and the shared path-style endpoints its
// provider also serves it from (docs/POLICY.md, "Storage destinations"). Control side only.
#pragma once

#include <string>
#include <vector>

#include "dataplane/policy/storage_host.h"
#include "policy.pb.h"

namespace sluice {

struct StorageExpansion {
  StorageProvider provider = StorageProvider::none;
  std::vector<std::string> hosts;  // the entry's own names, in a fixed order
  // s3.REGION.amazonaws.com, s3.amazonaws.com, storage.googleapis.com...: names shared by every
  // bucket of the provider, where a request names its bucket in the path. Empty for Azure and
  // access points.
  std::vector<std::string> path_style_endpoints;
  std::string bucket;  // the bucket a path-style request's path must name; empty without endpoints
};

// `entry` must have passed validation (names as the providers' rules allow).
StorageExpansion expand_storage_destination(const sluice::policy::StorageDestination& entry);

}  // namespace sluice

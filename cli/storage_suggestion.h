// What `sluicectl suggest` offers for a denied name of a storage account or bucket: the
// allowed_storage entry that lists that account or bucket (docs/POLICY.md, "Storage
// destinations"), not a domain pattern. The entry is what the data platforms' network policies
// name, its expansion allows every host name the clients use for it, and it never widens to
// other tenants' accounts the way "*.blob.core.windows.net" would.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace sluice {

// The account, bucket or access point a host name is of, with what the name says about the
// entry's other fields. One host name gives one service, region or zone; several names of the
// same owner are merged into one entry (StorageEntry::merge).
struct StorageEntry {
  enum class Kind { azure_account, s3_bucket, s3_access_point, gcs_bucket };
  Kind kind = Kind::gcs_bucket;
  std::string name;                 // account, bucket or access point name
  std::string account_id;           // s3_access_point: the owner's 12 digits
  std::set<std::string> services;   // azure_account: BLOB, DFS, FILE, QUEUE, TABLE, WEB
  std::string web_zone;             // azure_account with WEB: "z13"
  bool secondary = false;           // azure_account: a NAME-secondary host was denied
  std::set<std::string> regions;    // s3: "eu-west-1"
  bool legacy_global = false;       // s3: NAME.s3.amazonaws.com, which names no region

  // Entries of one owner: same kind, name and account (the key suggest groups by).
  std::string key() const;
  void merge(const StorageEntry& other);
};

// `host` normalised (lower case, no trailing dot). nullopt for a name allowed_storage cannot
// list: no storage shape, a shared path-style endpoint (it names no bucket), an S3 website
// endpoint (not expanded by s3_bucket).
std::optional<StorageEntry> storage_entry_of(std::string_view host);

// The entry as a policy line: `allowed_storage { s3_bucket { name: "b" regions: ["eu-west-1"] } }`.
// A bucket known only by its legacy global name gets region us-east-1 (where that name
// resolves): the operator names its own region.
std::string storage_entry_text(const StorageEntry& entry);

}  // namespace sluice

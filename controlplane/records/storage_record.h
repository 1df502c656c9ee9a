// The storage event of a record (proto/denial.proto StorageEvent): a flow whose name has a
// storage provider's shape, listed by the policy or not, is recorded as destination_type
// STORAGE with the account or bucket an operator queries for (docs/RECORDS.md).
#pragma once

#include <optional>
#include <string>

#include "dataplane/worker/flow_event.h"

namespace sluice {

struct StorageRecord {
  std::string hostname;  // "s3://bucket", "gs://bucket", "abfss://container@account.dfs...", "https://host"
  std::string path;      // plain HTTP only
  std::string rejection_reason;  // the reason of a denial; empty when allowed
  bool path_style = false;
  std::string provider;  // "AZURE" | "S3" | "GCS"
};

// Set for a flow judged on a name (SNI, Host, QUIC SNI) of a storage provider's shape.
std::optional<StorageRecord> storage_record_of(const FlowEvent& event);

}  // namespace sluice

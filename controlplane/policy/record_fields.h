// Tenant fields a policy set (and an attachment) names for its records, as the data platform's
// tables carry them ("account_id", "workspace_id"): checked so that they can never take the
// place of a field Sluice writes itself, nor break a record's JSON or a SQL column name.
#pragma once

#include <string>
#include <string_view>

#include "controlplane/policy/policy_error.h"
#include "controlplane/policy/policy_validator.h"
#include "policy.pb.h"

namespace sluice {

constexpr size_t kMaxRecordFields = 16;
constexpr size_t kMaxRecordFieldKeyBytes = 64;
constexpr size_t kMaxRecordFieldValueBytes = 256;

// A field name a record (denial record, flow-log line, SQL view) already has or reserves.
bool is_reserved_record_field(std::string_view key);

// Problems of the set's and its attachments' record_fields, at their lines.
PolicyErrors check_record_fields(const sluice::policy::PolicySet& set, const std::string& file,
                                 const FieldLocator& locator);

}  // namespace sluice

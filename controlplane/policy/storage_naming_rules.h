// The storage providers' naming rules for what a policy's allowed_storage entries name: Azure
// storage accounts, S3 buckets, access points, account IDs and regions, GCS buckets. Each check
// returns what is wrong with the name in words an operator can act on, or "" when it is valid.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

std::string azure_account_name_problem(std::string_view name);
std::string azure_web_zone_problem(std::string_view zone);
std::string s3_bucket_name_problem(std::string_view name);
std::string s3_access_point_name_problem(std::string_view name);
std::string aws_account_id_problem(std::string_view account_id);
std::string aws_region_problem(std::string_view region);
std::string gcs_bucket_name_problem(std::string_view name);

}  // namespace sluice

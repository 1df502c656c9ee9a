#include "controlplane/policy/storage_naming_rules.h"

#include <algorithm>

#include "controlplane/policy/cidr.h"

namespace sluice {

namespace {

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_or_digit(char c) { return is_lower(c) || is_digit(c); }

bool only(std::string_view text, std::string_view extra) {
  return std::all_of(text.begin(), text.end(),
                     [extra](char c) { return is_lower_or_digit(c) || extra.find(c) != std::string_view::npos; });
}

std::string length_problem(std::string_view name, size_t low, size_t high) {
  if (name.size() >= low && name.size() <= high) return "";
  return "is " + std::to_string(name.size()) + " characters long; it must be " + std::to_string(low) + "-" +
         std::to_string(high);
}

// Providers refuse bucket names that read as an IPv4 address ("192.168.5.4").
bool looks_like_ip_address(std::string_view name) {
  return std::count(name.begin(), name.end(), '.') == 3 && parse_ip(name).has_value();
}

}  // namespace

std::string azure_account_name_problem(std::string_view name) {
  if (name.empty()) return "missing name";
  if (std::string problem = length_problem(name, 3, 24); !problem.empty()) return problem;
  if (!only(name, "")) return "may contain only lower-case letters and digits (Azure storage account names)";
  return "";
}

std::string azure_web_zone_problem(std::string_view zone) {
  if (zone.size() < 2 || zone.size() > 4 || zone[0] != 'z' ||
      !std::all_of(zone.begin() + 1, zone.end(), is_digit))
    return "is not a zone such as \"z13\" (the label between the account and \"web\" in its static website endpoint)";
  return "";
}

std::string s3_bucket_name_problem(std::string_view name) {
  if (name.empty()) return "missing name";
  if (std::string problem = length_problem(name, 3, 63); !problem.empty()) return problem;
  if (!only(name, ".-")) return "may contain only lower-case letters, digits, dots and hyphens (S3 bucket names)";
  if (!is_lower_or_digit(name.front()) || !is_lower_or_digit(name.back()))
    return "must begin and end with a letter or digit";
  if (name.find("..") != std::string_view::npos) return "must not contain two adjacent dots";
  if (looks_like_ip_address(name)) return "must not be formatted as an IP address";
  for (std::string_view prefix : {"xn--", "sthree-", "amzn-s3-demo-"})
    if (name.starts_with(prefix)) return "must not start with \"" + std::string(prefix) + "\" (reserved by S3)";
  for (std::string_view suffix : {"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"})
    if (name.ends_with(suffix)) return "must not end with \"" + std::string(suffix) + "\" (reserved by S3)";
  return "";
}

std::string s3_access_point_name_problem(std::string_view name) {
  if (name.empty()) return "missing name";
  if (std::string problem = length_problem(name, 3, 50); !problem.empty()) return problem;
  if (!only(name, "-")) return "may contain only lower-case letters, digits and hyphens (S3 access point names)";
  if (name.front() == '-' || name.back() == '-') return "must not begin or end with a hyphen";
  if (name.ends_with("-s3alias")) return "must not end with \"-s3alias\" (reserved by S3)";
  return "";
}

std::string aws_account_id_problem(std::string_view account_id) {
  if (account_id.size() != 12 || !std::all_of(account_id.begin(), account_id.end(), is_digit))
    return "is not a 12-digit AWS account ID";
  return "";
}

std::string aws_region_problem(std::string_view region) {
  // "eu-west-1", "us-gov-west-1": lower-case words joined by hyphens, ending in a number.
  const size_t last_dash = region.rfind('-');
  const bool shaped = region.size() >= 6 && region.size() <= 32 && is_lower(region[0]) && is_lower(region[1]) &&
                      region[2] == '-' && last_dash > 2 && last_dash + 1 < region.size() &&
                      std::all_of(region.begin() + long(last_dash) + 1, region.end(), is_digit) &&
                      only(region, "-") && region.find("--") == std::string_view::npos;
  return shaped ? "" : "is not an AWS region such as \"eu-west-1\"";
}

std::string gcs_bucket_name_problem(std::string_view name) {
  if (name.empty()) return "missing name";
  const bool dotted = name.find('.') != std::string_view::npos;
  if (std::string problem = length_problem(name, 3, dotted ? 222 : 63); !problem.empty()) return problem;
  if (!only(name, "-_.")) return "may contain only lower-case letters, digits, hyphens, underscores and dots (Cloud Storage bucket names)";
  if (!is_lower_or_digit(name.front()) || !is_lower_or_digit(name.back()))
    return "must begin and end with a letter or digit";
  if (name.find("..") != std::string_view::npos) return "must not contain two adjacent dots";
  for (size_t start = 0; start <= name.size();) {
    const size_t dot = std::min(name.find('.', start), name.size());
    if (dot - start > 63) return "has a dot-separated part longer than 63 characters";
    start = dot + 1;
  }
  if (looks_like_ip_address(name)) return "must not be formatted as an IP address";
  if (name.starts_with("goog")) return "must not start with \"goog\" (reserved by Google)";
  if (name.find("google") != std::string_view::npos || name.find("g00gle") != std::string_view::npos)
    return "must not contain \"google\" or a close misspelling (reserved by Google)";
  return "";
}

}  // namespace sluice

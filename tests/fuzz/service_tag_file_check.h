// What every service tag file parser must hold on arbitrary text (fuzz_azure_service_tags,
// fuzz_aws_ip_ranges): a refused file says why and keeps nothing; an accepted one has a version,
// lower-case tag keys and only prefixes the policy compiler accepts as written back.
#pragma once

#include <string>
#include <string_view>

#include "controlplane/policy/service_tag_file.h"
#include "tests/fuzz/fuzz_check.h"

namespace sluice {

using ServiceTagParser = bool (*)(std::string_view, ServiceTagFile&, std::string&);

inline int check_service_tag_parser(ServiceTagParser parse, ServiceTagProvider provider, const uint8_t* data,
                                    size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ServiceTagFile file;
  std::string error;
  if (!parse(text, file, error)) {
    FUZZ_CHECK(!error.empty());
    FUZZ_CHECK(file.tags.empty() && file.prefix_count == 0);
    return 0;
  }
  FUZZ_CHECK(file.provider == provider);
  FUZZ_CHECK(!file.version.empty());
  size_t listed = 0;
  for (const auto& [tag, prefixes] : file.tags) {
    FUZZ_CHECK(!tag.empty() && tag == service_tag_key(tag));
    for (const Cidr& cidr : prefixes) {
      Cidr again;
      FUZZ_CHECK(parse_cidr(format_cidr(cidr), again) == CidrError::none);
      FUZZ_CHECK(again.prefix_length == cidr.prefix_length);
      ++listed;
    }
  }
  FUZZ_CHECK(file.prefix_count <= listed);
  return 0;
}

}  // namespace sluice

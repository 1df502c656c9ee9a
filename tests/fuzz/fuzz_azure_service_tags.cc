// libFuzzer target: parse_azure_service_tags over arbitrary text (the format of Azure's ServiceTags_Public_*.json).
#include <string>
#include <string_view>

#include "controlplane/policy/service_tag_file.h"
#include "tests/fuzz/fuzz_check.h"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ServiceTagFile file;
  std::string error;
  if (!parse_azure_service_tags(text, file, error)) {
    // Refused whole, and always with a reason.
    FUZZ_CHECK(!error.empty());
    FUZZ_CHECK(file.tags.empty() && file.prefix_count == 0);
    return 0;
  }
  FUZZ_CHECK(file.provider == ServiceTagProvider::azure);
  FUZZ_CHECK(!file.version.empty());
  size_t listed = 0;
  for (const auto& [tag, prefixes] : file.tags) {
    // Keys are the lower-case form policies are matched under.
    FUZZ_CHECK(!tag.empty() && tag == service_tag_key(tag));
    for (const Cidr& cidr : prefixes) {
      // Every prefix is one the policy compiler accepts as written back.
      Cidr again;
      FUZZ_CHECK(parse_cidr(format_cidr(cidr), again) == CidrError::none);
      FUZZ_CHECK(again.prefix_length == cidr.prefix_length);
      ++listed;
    }
  }
  FUZZ_CHECK(file.prefix_count <= listed);
  return 0;
}

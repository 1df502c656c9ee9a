// libFuzzer target: parse_azure_service_tags over arbitrary text (the format of Azure's
// ServiceTags_Public_*.json).
#include "tests/fuzz/service_tag_file_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::check_service_tag_parser(sluice::parse_azure_service_tags, sluice::ServiceTagProvider::azure, data,
                                          size);
}

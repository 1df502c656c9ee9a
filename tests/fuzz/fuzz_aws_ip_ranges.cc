// libFuzzer target: parse_aws_ip_ranges over arbitrary text (the format of AWS's ip-ranges.json).
#include "tests/fuzz/service_tag_file_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sluice::check_service_tag_parser(sluice::parse_aws_ip_ranges, sluice::ServiceTagProvider::aws, data, size);
}

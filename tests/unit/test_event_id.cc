// Record event ids: version 4 UUIDs from the kernel's random source, never repeated.
#include "controlplane/records/event_id.h"

#include <gtest/gtest.h>

#include <array>
#include <regex>
#include <set>

namespace sluice {
namespace {

const std::regex kUuidV4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

TEST(EventId, FormatSetsVersionAndVariantBits) {
  uint8_t ones[16];
  uint8_t zeros[16] = {};
  for (auto& byte : ones) byte = 0xff;
  EXPECT_EQ(format_uuid_v4(ones), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  EXPECT_EQ(format_uuid_v4(zeros), "00000000-0000-4000-8000-000000000000");
  const uint8_t counting[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  EXPECT_EQ(format_uuid_v4(counting), "00112233-4455-4677-8899-aabbccddeeff");
}

TEST(EventId, EveryIdIsAVersion4UuidAndNoneRepeatsAcrossRefillsAndSources) {
  std::set<std::string> seen;
  EventIdSource first, second;  // two sources: two appliances, or a restart
  for (int i = 0; i < 3000; ++i) {  // more than one 4 KiB pool (256 ids) per source
    for (EventIdSource* source : {&first, &second}) {
      std::string id = source->next();
      ASSERT_TRUE(std::regex_match(id, kUuidV4)) << id;
      ASSERT_TRUE(seen.insert(id).second) << "repeated " << id;
    }
  }
}

TEST(EventId, RandomBitsVary) {
  // Each of the 122 random bits takes both values over a few hundred ids (a stuck bit or a
  // constant pool would not).
  EventIdSource source;
  std::array<int, 36> ones{};
  std::array<int, 36> zeros{};
  for (int i = 0; i < 400; ++i) {
    std::string id = source.next();
    for (size_t c = 0; c < id.size(); ++c) {
      if (id[c] == '-') continue;
      int value = std::stoi(std::string(1, id[c]), nullptr, 16);
      ones[c] |= value;
      zeros[c] |= ~value & 0xf;
    }
  }
  for (size_t c = 0; c < 36; ++c) {
    if (c == 8 || c == 13 || c == 18 || c == 23) continue;
    if (c == 14) {  // the version nibble: always 4
      EXPECT_EQ(ones[c], 0x4);
      continue;
    }
    if (c == 19) {  // the variant nibble: 10xx
      EXPECT_EQ(ones[c], 0xb);
      EXPECT_EQ(zeros[c], 0x7);
      continue;
    }
    EXPECT_EQ(ones[c], 0xf) << c;
    EXPECT_EQ(zeros[c], 0xf) << c;
  }
}

}  // namespace
}  // namespace sluice

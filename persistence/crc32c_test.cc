#include "persistence/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace hotpath {
namespace {

TEST(Crc32c, MatchesKnownVectors) {
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);            // the standard check value
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8a9136aau);  // RFC 3720 B.4
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62a8ab43u);
}

TEST(Crc32c, ExtendEqualsTheWholeAtAnySplit) {
  const std::string data = "after-image records are checksummed, every one of them";
  for (size_t split = 0; split <= data.size(); ++split) {
    EXPECT_EQ(Crc32cExtend(Crc32c(data.substr(0, split)), data.substr(split)), Crc32c(data));
  }
}

TEST(Crc32c, MaskRoundTripsAndChangesTheValue) {
  const uint32_t crc = Crc32c("hotpath");
  EXPECT_NE(Crc32cMask(crc), crc);
  EXPECT_EQ(Crc32cUnmask(Crc32cMask(crc)), crc);
}

TEST(Crc32c, DetectsASingleFlippedBit) {
  std::string data(1000, 'x');
  const uint32_t clean = Crc32c(data);
  for (size_t i = 0; i < data.size(); i += 37) {
    data[i] ^= 0x10;
    EXPECT_NE(Crc32c(data), clean) << i;
    data[i] ^= 0x10;
  }
}

}  // namespace
}  // namespace hotpath

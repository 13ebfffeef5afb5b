#include "engine/slot.h"

#include <string>

#include "gtest/gtest.h"

namespace hotpath {
namespace {

TEST(Crc16, MatchesTheXmodemCheckValue) { EXPECT_EQ(Crc16("123456789"), 0x31C3); }

// The definition, one bit at a time: what the sliced tables must agree with at every length
// (below, at and past each 8-byte step, and with every byte value).
uint16_t BitwiseCrc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc = static_cast<uint16_t>(crc ^ (c << 8));
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

TEST(Crc16, MatchesTheBitwiseDefinitionAtEveryLength) {
  std::string data;
  uint32_t x = 2463534242u;
  for (size_t length = 0; length <= 70; ++length) {
    ASSERT_EQ(Crc16(data), BitwiseCrc16(data)) << "length " << length;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    data.push_back(static_cast<char>(x));
  }
  for (int byte = 0; byte < 256; ++byte) {
    const std::string run(17, static_cast<char>(byte));
    ASSERT_EQ(Crc16(run), BitwiseCrc16(run)) << "byte " << byte;
  }
}

TEST(KeySlot, MatchesRedisClusterForKnownKeys) {
  // Values documented in the Redis Cluster specification and CLUSTER KEYSLOT examples.
  EXPECT_EQ(KeySlot("foo"), 12182u);
  EXPECT_EQ(KeySlot("somekey"), 11058u);
  EXPECT_EQ(KeySlot("123456789"), 0x31C3u % kSlotCount);
}

TEST(HashTag, HashesOnlyTheFirstNonEmptyTag) {
  EXPECT_EQ(HashTag("{user1000}.following"), "user1000");
  EXPECT_EQ(HashTag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(HashTag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(HashTag("foo{}{bar}"), "foo{}{bar}");  // empty first tag: whole key
  EXPECT_EQ(HashTag("foo{bar"), "foo{bar");        // unclosed: whole key
  EXPECT_EQ(HashTag("plain"), "plain");
}

TEST(KeySlot, TaggedKeysShareASlot) {
  EXPECT_EQ(KeySlot("{user:42}:sessions"), KeySlot("{user:42}:s:abcdef"));
  EXPECT_EQ(KeySlot("{user:42}:sessions"), KeySlot("user:42"));
  EXPECT_NE(KeySlot("user:42:sessions"), KeySlot("user:42:s:abcdef"));
}

TEST(SlotTag, EverySlotHasAShortTagThatLandsInIt) {
  for (uint32_t slot = 0; slot < kSlotCount; ++slot) {
    const std::string_view tag = SlotTag(slot);
    ASSERT_FALSE(tag.empty()) << slot;
    ASSERT_LE(tag.size(), 4u) << slot;
    ASSERT_EQ(tag.find_first_of("{}"), std::string_view::npos) << tag;
    ASSERT_EQ(KeySlot("s:{" + std::string(tag) + "}whatever"), slot) << tag;
  }
}

}  // namespace
}  // namespace hotpath

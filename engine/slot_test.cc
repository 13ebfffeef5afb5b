#include "engine/slot.h"

#include <string>

#include "gtest/gtest.h"

namespace hotpath {
namespace {

TEST(Crc16, MatchesTheXmodemCheckValue) { EXPECT_EQ(Crc16("123456789"), 0x31C3); }

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

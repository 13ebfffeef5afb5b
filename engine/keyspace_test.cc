#include "engine/keyspace.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/testing/recording_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

using ::testing::HasSubstr;

class KeyspaceTest : public ::testing::Test {
 protected:
  KeyspaceTest() : keyspace_(Keyspace::Create({.shards = 4}, &clock_, &sink_).value()) {}

  FakeClock clock_;
  RecordingSink sink_;
  std::unique_ptr<Keyspace> keyspace_;
};

TEST(KeyspaceCreate, RejectsShardCountsThatAreNotPowersOfTwo) {
  FakeClock clock;
  for (uint32_t shards : {0u, 3u, 12u, 32768u}) {
    auto keyspace = Keyspace::Create({.shards = shards}, &clock);
    ASSERT_FALSE(keyspace.ok()) << shards;
    EXPECT_EQ(keyspace.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(keyspace.status().message(), HasSubstr("shards"));
  }
  EXPECT_TRUE(Keyspace::Create({.shards = 1}, &clock).ok());
  EXPECT_TRUE(Keyspace::Create({.shards = 16384}, &clock).ok());
}

TEST_F(KeyspaceTest, SetThenGetReturnsTheValue) {
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "v").value());
  EXPECT_EQ(keyspace_->Get({.key = "k"}).value(), "v");
  EXPECT_EQ(keyspace_->Type({.key = "k"}).value(), ValueType::kString);
  EXPECT_EQ(keyspace_->Get({.key = "missing"}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(KeyspaceTest, NamespacesAreSeparateKeys) {
  ASSERT_TRUE(keyspace_->Set({.ns = "tenant-a", .key = "k"}, "a").ok());
  ASSERT_TRUE(keyspace_->Set({.ns = "tenant-b", .key = "k"}, "b").ok());
  EXPECT_EQ(keyspace_->Get({.ns = "tenant-a", .key = "k"}).value(), "a");
  EXPECT_EQ(keyspace_->Get({.ns = "tenant-b", .key = "k"}).value(), "b");
  EXPECT_FALSE(keyspace_->Exists({.key = "k"}).value());  // the default namespace has none
  EXPECT_EQ(keyspace_->Stats().keys, 2u);
}

TEST_F(KeyspaceTest, BadKeysAreInvalidArgumentsNamingTheField) {
  auto empty_key = keyspace_->Set({.key = ""}, "v");
  EXPECT_EQ(empty_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty_key.status().message(), HasSubstr("key"));

  auto empty_ns = keyspace_->Get({.ns = "", .key = "k"});
  EXPECT_EQ(empty_ns.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty_ns.status().message(), HasSubstr("namespace"));

  const std::string long_ns(kMaxNamespaceBytes + 1, 'n');
  EXPECT_THAT(keyspace_->Get({.ns = long_ns, .key = "k"}).status().message(),
              HasSubstr("namespace is 256 bytes"));
  auto huge = keyspace_->Set({.key = "k"}, std::string(kMaxValueBytes + 1, 'v'));
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(huge.status().message(), HasSubstr("the limit is 16777216"));
  const std::string long_key(kMaxKeyBytes + 1, 'k');
  EXPECT_EQ(keyspace_->Delete({.key = long_key}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KeyspaceTest, SetConditionsChangeNothingWhenTheyFail) {
  EXPECT_FALSE(keyspace_->Set({.key = "k"}, "x", {.condition = SetCondition::kIfPresent}).value());
  EXPECT_FALSE(keyspace_->Exists({.key = "k"}).value());
  EXPECT_TRUE(keyspace_->Set({.key = "k"}, "1", {.condition = SetCondition::kIfAbsent}).value());
  EXPECT_FALSE(keyspace_->Set({.key = "k"}, "2", {.condition = SetCondition::kIfAbsent}).value());
  EXPECT_EQ(keyspace_->Get({.key = "k"}).value(), "1");
  EXPECT_TRUE(keyspace_->Set({.key = "k"}, "3", {.condition = SetCondition::kIfPresent}).value());
  EXPECT_EQ(keyspace_->Get({.key = "k"}).value(), "3");
}

TEST_F(KeyspaceTest, IncrementByCountsFromZeroAndConvertsIntegerStrings) {
  EXPECT_EQ(keyspace_->IncrementBy({.key = "n"}, 5).value(), 5);
  EXPECT_EQ(keyspace_->IncrementBy({.key = "n"}, -7).value(), -2);
  EXPECT_EQ(keyspace_->Type({.key = "n"}).value(), ValueType::kCounter);
  EXPECT_EQ(keyspace_->Get({.key = "n"}).value(), "-2");

  ASSERT_TRUE(keyspace_->Set({.key = "s"}, "41").ok());
  EXPECT_EQ(keyspace_->IncrementBy({.key = "s"}, 1).value(), 42);
}

TEST_F(KeyspaceTest, IncrementByRejectsNonIntegersAndOverflowWithoutChangingTheValue) {
  for (const char* text : {"abc", " 1", "01", "1.5", "+1", "99999999999999999999"}) {
    ASSERT_TRUE(keyspace_->Set({.key = "s"}, text).ok());
    auto result = keyspace_->IncrementBy({.key = "s"}, 1);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << text;
    EXPECT_EQ(keyspace_->Get({.key = "s"}).value(), text);
  }
  ASSERT_TRUE(keyspace_->Set({.key = "max"}, "9223372036854775807").ok());
  EXPECT_EQ(keyspace_->IncrementBy({.key = "max"}, 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(keyspace_->Get({.key = "max"}).value(), "9223372036854775807");
}

TEST_F(KeyspaceTest, DeleteRemovesOnlyLiveKeys) {
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "v").ok());
  EXPECT_TRUE(keyspace_->Delete({.key = "k"}).value());
  EXPECT_FALSE(keyspace_->Delete({.key = "k"}).value());
  EXPECT_FALSE(keyspace_->Exists({.key = "k"}).value());
}

TEST_F(KeyspaceTest, ConcurrentIncrementsAreNeverLost) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 20'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < kIncrements; ++i) {
        ASSERT_TRUE(keyspace_->IncrementBy({.key = "shared"}, 1).ok());
        ASSERT_TRUE(keyspace_->IncrementBy({.key = absl::StrCat("spread", i % 64)}, 1).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(keyspace_->Get({.key = "shared"}).value(), absl::StrCat(kThreads * kIncrements));
  int64_t spread = 0;
  for (int i = 0; i < 64; ++i) {
    int64_t value = 0;
    ASSERT_TRUE(
        absl::SimpleAtoi(keyspace_->Get({.key = absl::StrCat("spread", i)}).value(), &value));
    spread += value;
  }
  EXPECT_EQ(spread, kThreads * kIncrements);
  // Every increment was one mutation, numbered without gaps per shard.
  uint64_t sequences = 0;
  for (const ShardStats& shard : keyspace_->Stats().shards) sequences += shard.sequence;
  EXPECT_EQ(sequences, 2u * kThreads * kIncrements);
  EXPECT_EQ(sink_.records().size(), sequences);
}

TEST_F(KeyspaceTest, TaggedKeysLandOnTheSameShard) {
  EXPECT_EQ(keyspace_->ShardOf({.key = "{user:7}:sessions"}),
            keyspace_->ShardOf({.key = "{user:7}:s:xyz"}));
  // Shards own contiguous slot ranges: with 4 shards, slot 12182 ("foo") is in shard 2.
  EXPECT_EQ(keyspace_->ShardOf({.key = "foo"}), 12182u / 4096u);
}

TEST_F(KeyspaceTest, MemoryGrowsWithDataAndReturnsToZero) {
  EXPECT_EQ(keyspace_->Stats().memory_bytes, 0u);
  ASSERT_TRUE(keyspace_->Set({.key = "small"}, "v").ok());
  const uint64_t one_small = keyspace_->Stats().memory_bytes;
  EXPECT_GT(one_small, 0u);

  ASSERT_TRUE(keyspace_->Set({.key = "big"}, std::string(10'000, 'x')).ok());
  const uint64_t with_big = keyspace_->Stats().memory_bytes;
  EXPECT_GE(with_big - one_small, 10'000u);

  ASSERT_TRUE(keyspace_->SetDeadline({.key = "big"}, clock_.Now() + absl::Seconds(5)).ok());
  EXPECT_GT(keyspace_->Stats().memory_bytes, with_big);  // the expiry index costs memory

  ASSERT_TRUE(keyspace_->Set({.key = "big"}, "now small").ok());
  EXPECT_LT(keyspace_->Stats().memory_bytes, with_big);

  ASSERT_TRUE(keyspace_->Delete({.key = "big"}).ok());
  ASSERT_TRUE(keyspace_->Delete({.key = "small"}).ok());
  EXPECT_EQ(keyspace_->Stats().memory_bytes, 0u);
}

TEST_F(KeyspaceTest, EveryMutationReachesTheSinkAsAnAfterImageInShardOrder) {
  const KeyRef key{.ns = "t", .key = "k"};
  const absl::Time deadline = clock_.Now() + absl::Seconds(30);
  ASSERT_TRUE(keyspace_->Set(key, "10").ok());
  ASSERT_TRUE(keyspace_->IncrementBy(key, 5).ok());
  ASSERT_TRUE(keyspace_->SetDeadline(key, deadline).ok());
  ASSERT_TRUE(keyspace_->Delete(key).ok());
  // Reads and failed conditions are not mutations.
  ASSERT_TRUE(keyspace_->Get(key).status().code() == absl::StatusCode::kNotFound);
  ASSERT_FALSE(keyspace_->Set(key, "x", {.condition = SetCondition::kIfPresent}).value());

  const auto records = sink_.records();
  ASSERT_EQ(records.size(), 4u);
  const uint32_t shard = keyspace_->ShardOf(key);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].shard, shard);
    EXPECT_EQ(records[i].sequence, i + 1);
    EXPECT_EQ(records[i].ns, "t");
    EXPECT_EQ(records[i].key, "k");
  }
  EXPECT_EQ(records[0].kind, MutationKind::kUpsert);
  EXPECT_EQ(*records[0].value, Value::String("10"));
  EXPECT_EQ(records[1].kind, MutationKind::kUpsert);
  EXPECT_EQ(*records[1].value, Value::Counter(15));  // the result, not "increment by 5"
  EXPECT_EQ(records[2].kind, MutationKind::kSetDeadline);
  EXPECT_EQ(records[2].deadline_ms, absl::ToUnixMillis(deadline));
  EXPECT_EQ(records[2].value, nullptr);
  EXPECT_EQ(records[3].kind, MutationKind::kDelete);
  EXPECT_EQ(keyspace_->Stats().shards[shard].sequence, 4u);
}

}  // namespace
}  // namespace hotpath

// Expiry: lazy on access, active in bounded slices, and TTL overwrite rules.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/expiry_sweeper.h"
#include "engine/keyspace.h"
#include "engine/testing/recording_sink.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

class ExpiryTest : public ::testing::Test {
 protected:
  ExpiryTest() : keyspace_(Keyspace::Create({.shards = 4}, &clock_, &sink_).value()) {}

  absl::Time In(absl::Duration d) const { return clock_.Now() + d; }

  // Stores a limiter that expires 10 s from now, as a rate limit check does.
  bool TouchLimiter(const std::string& key, bool defer_record = false) {
    return keyspace_
        ->UpdateLimiter(
            {.key = key},
            [](const LimiterState*, int64_t now_ns, Keyspace::LimiterWrite* write) {
              *write = {.store = true,
                        .state = LimiterState{.algorithm = 1},
                        .deadline_ns = now_ns + 10'000'000'000};
              return true;
            },
            defer_record)
        .ok();
  }

  FakeClock clock_;
  RecordingSink sink_;
  std::unique_ptr<Keyspace> keyspace_;
};

TEST_F(ExpiryTest, ReadsStopSeeingAKeyAtItsDeadline) {
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "v", {.deadline = In(absl::Seconds(10))}).ok());
  clock_.Advance(absl::Milliseconds(9'999));
  EXPECT_EQ(keyspace_->Get({.key = "k"}).value(), "v");
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(keyspace_->Get({.key = "k"}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ExpiryTest, LazyExpiryRemovesTheKeyAndRecordsIt) {
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "v", {.deadline = In(absl::Seconds(1))}).ok());
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(keyspace_->Stats().keys, 1u);  // nothing has looked yet
  EXPECT_FALSE(keyspace_->Exists({.key = "k"}).value());

  const KeyspaceStats stats = keyspace_->Stats();
  EXPECT_EQ(stats.keys, 0u);
  EXPECT_EQ(stats.keys_with_deadline, 0u);
  EXPECT_EQ(stats.expired_total, 1u);
  EXPECT_EQ(stats.memory_bytes, 0u);
  ASSERT_EQ(sink_.records().size(), 2u);
  EXPECT_EQ(sink_.records()[1].kind, MutationKind::kExpire);
}

// Keeps what OnExpire is told (a copy: the value goes right after).
class ExpiryObserver : public KeyspaceObserver {
 public:
  void OnExpire(const KeyRef& key, const Value& value) override {
    expired.push_back(std::string(key.ns) + "/" + std::string(key.key) + "=" + value.string());
  }
  std::vector<std::string> expired;
};

TEST(ExpiryObserverTest, ToldOfEveryExpiryLazyOrSweptButNotOfDeletes) {
  FakeClock clock;
  ExpiryObserver observer;
  auto keyspace = Keyspace::Create({.shards = 4}, &clock, nullptr, &observer).value();
  const absl::Time soon = clock.Now() + absl::Seconds(1);
  ASSERT_TRUE(keyspace->Set({.ns = "a", .key = "read"}, "1", {.deadline = soon}).ok());
  ASSERT_TRUE(keyspace->Set({.ns = "a", .key = "swept"}, "2", {.deadline = soon}).ok());
  ASSERT_TRUE(keyspace->Set({.ns = "a", .key = "deleted"}, "3", {.deadline = soon}).ok());
  ASSERT_TRUE(keyspace->Delete({.ns = "a", .key = "deleted"}).value());
  clock.Advance(absl::Seconds(1));
  EXPECT_FALSE(keyspace->Exists({.ns = "a", .key = "read"}).value());
  EXPECT_EQ(observer.expired, std::vector<std::string>{"a/read=1"});
  EXPECT_EQ(keyspace->SweepExpired(64).removed, 1u);
  EXPECT_EQ(observer.expired, (std::vector<std::string>{"a/read=1", "a/swept=2"}));
}

TEST_F(ExpiryTest, AnExpiredKeyIsAbsentForEveryOperation) {
  ASSERT_TRUE(keyspace_->Set({.key = "n"}, "100", {.deadline = In(absl::Seconds(1))}).ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(keyspace_->IncrementBy({.key = "n"}, 1).value(), 1);  // counts from zero again
  EXPECT_FALSE(keyspace_->GetDeadline({.key = "n"}).value().has_value());
}

TEST_F(ExpiryTest, PlainSetClearsTheDeadlineUnlessAskedToKeepIt) {
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "a", {.deadline = In(absl::Seconds(10))}).ok());
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "b", {.keep_deadline = true}).ok());
  EXPECT_EQ(keyspace_->GetDeadline({.key = "k"}).value(), In(absl::Seconds(10)));

  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "c").ok());
  EXPECT_FALSE(keyspace_->GetDeadline({.key = "k"}).value().has_value());
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(keyspace_->Get({.key = "k"}).value(), "c");
}

TEST_F(ExpiryTest, IncrementKeepsTheDeadline) {
  ASSERT_TRUE(keyspace_->IncrementBy({.key = "n"}, 1).ok());
  ASSERT_TRUE(keyspace_->SetDeadline({.key = "n"}, In(absl::Seconds(5))).value());
  ASSERT_TRUE(keyspace_->IncrementBy({.key = "n"}, 1).ok());
  EXPECT_EQ(keyspace_->GetDeadline({.key = "n"}).value(), In(absl::Seconds(5)));
}

TEST_F(ExpiryTest, OverwritingADeadlineMovesIt) {
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "v", {.deadline = In(absl::Seconds(5))}).ok());
  ASSERT_TRUE(keyspace_->SetDeadline({.key = "k"}, In(absl::Seconds(60))).value());
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(keyspace_->SweepExpired(100).removed, 0u);  // the old deadline is gone from the index
  EXPECT_TRUE(keyspace_->Exists({.key = "k"}).value());

  clock_.Advance(absl::Seconds(31));  // past the new deadline, filed again at the last sweep
  EXPECT_EQ(keyspace_->SweepExpired(100).removed, 1u);
  EXPECT_EQ(keyspace_->Stats().keys_with_deadline, 0u);

  // Earlier again: the key goes at the earlier deadline.
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "v", {.deadline = In(absl::Seconds(60))}).ok());
  ASSERT_TRUE(keyspace_->SetDeadline({.key = "k"}, In(absl::Seconds(5))).value());
  clock_.Advance(absl::Seconds(6));
  EXPECT_EQ(keyspace_->SweepExpired(100).removed, 1u);

  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "v", {.deadline = In(absl::Seconds(5))}).ok());
  ASSERT_TRUE(keyspace_->SetDeadline({.key = "k"}, In(absl::Seconds(60))).value());
  ASSERT_TRUE(keyspace_->SetDeadline({.key = "k"}, std::nullopt).value());  // persist
  clock_.Advance(absl::Hours(24));
  EXPECT_EQ(keyspace_->SweepExpired(100).removed, 0u);
  EXPECT_EQ(keyspace_->Stats().keys_with_deadline, 0u);
  EXPECT_TRUE(keyspace_->Exists({.key = "k"}).value());
}

TEST_F(ExpiryTest, DeadlinesInThePastRemoveTheKey) {
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "v").ok());
  ASSERT_TRUE(keyspace_->SetDeadline({.key = "k"}, In(-absl::Seconds(1))).value());
  EXPECT_FALSE(keyspace_->Exists({.key = "k"}).value());

  ASSERT_TRUE(keyspace_->Set({.key = "j"}, "old").ok());
  ASSERT_TRUE(keyspace_->Set({.key = "j"}, "new", {.deadline = clock_.Now()}).value());
  EXPECT_FALSE(keyspace_->Exists({.key = "j"}).value());
  EXPECT_EQ(keyspace_->Stats().expired_total, 2u);
  EXPECT_FALSE(keyspace_->SetDeadline({.key = "absent"}, In(absl::Seconds(1))).value());
}

TEST_F(ExpiryTest, ActiveSweepRemovesExpiredKeysInBoundedSlices) {
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration ttl = absl::Seconds(i < 600 ? 1 : 100);
    ASSERT_TRUE(keyspace_->Set({.key = absl::StrCat("k", i)}, "v", {.deadline = In(ttl)}).ok());
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(keyspace_->Set({.key = absl::StrCat("forever", i)}, "v").ok());
  }
  clock_.Advance(absl::Seconds(2));

  // Each slice removes at most 10 keys per shard.
  Keyspace::SweepResult first = keyspace_->SweepExpired(10);
  EXPECT_EQ(first.removed, 40u);
  EXPECT_TRUE(first.more);
  size_t removed = first.removed;
  for (int slices = 0; slices < 100; ++slices) {
    const Keyspace::SweepResult slice = keyspace_->SweepExpired(10);
    EXPECT_LE(slice.removed, 40u);
    removed += slice.removed;
    if (!slice.more) break;
  }
  EXPECT_EQ(removed, 600u);
  const KeyspaceStats stats = keyspace_->Stats();
  EXPECT_EQ(stats.keys, 450u);
  EXPECT_EQ(stats.keys_with_deadline, 400u);
  EXPECT_EQ(stats.expired_total, 600u);
}

TEST_F(ExpiryTest, SweepRemovesEarliestDeadlinesFirst) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        keyspace_
            ->Set({.key = absl::StrCat("{same}", i)}, "v", {.deadline = In(absl::Seconds(5 - i))})
            .ok());
  }
  clock_.Advance(absl::Seconds(10));
  ASSERT_EQ(keyspace_->SweepExpired(2).removed, 2u);
  EXPECT_EQ(keyspace_->Stats().keys, 3u);  // the other three wait for the next slice
  std::vector<std::string> removed;
  for (const auto& r : sink_.records()) {
    if (r.kind == MutationKind::kExpire) removed.push_back(r.key);
  }
  EXPECT_EQ(removed, (std::vector<std::string>{"{same}4", "{same}3"}));
}

TEST_F(ExpiryTest, SweeperRoundDrainsABacklogAcrossSlices) {
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(
        keyspace_->Set({.key = absl::StrCat("k", i)}, "v", {.deadline = In(absl::Seconds(1))})
            .ok());
  }
  clock_.Advance(absl::Seconds(1));
  ExpirySweeper sweeper(keyspace_.get(),
                        {.slice_keys = 8, .round_budget = absl::InfiniteDuration()});
  EXPECT_EQ(sweeper.RunRound(), 500u);
  EXPECT_EQ(keyspace_->Stats().keys, 0u);
}

TEST_F(ExpiryTest, SweeperRoundDrainsABacklogHeldByOneShard) {
  // One hash tag puts every key in the same shard; the other shards have nothing to expire.
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(
        keyspace_->Set({.key = absl::StrCat("{one}", i)}, "v", {.deadline = In(absl::Seconds(1))})
            .ok());
  }
  clock_.Advance(absl::Seconds(1));
  ExpirySweeper sweeper(keyspace_.get(),
                        {.slice_keys = 8, .round_budget = absl::InfiniteDuration()});
  EXPECT_EQ(sweeper.RunRound(), 500u);
  EXPECT_EQ(keyspace_->Stats().keys, 0u);
}

TEST_F(ExpiryTest, SweeperThreadRunsRoundsAndStops) {
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "v", {.deadline = In(absl::Seconds(1))}).ok());
  clock_.Advance(absl::Seconds(1));
  ExpirySweeper sweeper(keyspace_.get(), {.interval = absl::Milliseconds(1)});
  sweeper.Start();
  ASSERT_TRUE(sweeper.AwaitRounds(2, absl::Seconds(30)));
  sweeper.Stop();
  EXPECT_EQ(keyspace_->Stats().keys, 0u);
  EXPECT_EQ(keyspace_->Stats().expired_total, 1u);
}

// Over the memory cap, rounds drop just enough rate-limiter keys, least recently changed first,
// and never another kind of key (sessions, boards and streams are refused new data instead).
// Deferred limiter records go out one shard per turn, spread over the flush interval: a round
// records the shards whose turn has come, never every shard at once unless all are due.
TEST_F(ExpiryTest, RoundsRecordDeferredStateOneShardPerTurn) {
  std::vector<std::string> keys;  // one key in each of the 4 shards
  for (int i = 0; keys.size() < 4; ++i) {
    const std::string key = absl::StrCat("limit", i);
    if (keyspace_->ShardOf({.key = key}) == keys.size()) keys.push_back(key);
  }
  const auto defer_all = [&] {
    for (const std::string& key : keys) ASSERT_TRUE(TouchLimiter(key, /*defer_record=*/true));
  };
  const auto recorded = [&] {
    std::vector<std::string> upserts;
    for (const auto& r : sink_.records()) {
      if (r.kind == MutationKind::kUpsert) upserts.push_back(r.key);
    }
    return upserts;
  };
  defer_all();
  // An hour between a shard's turns: the first round records shard 0 only, the next nothing.
  ExpirySweeper slow(keyspace_.get(), {.deferred_flush_interval = absl::Hours(1)});
  slow.RunRound();
  EXPECT_EQ(recorded(), (std::vector<std::string>{keys[0]}));
  slow.RunRound();
  EXPECT_EQ(recorded().size(), 1u);
  // Turns a nanosecond apart: a sweeper's first round takes shard 0's, and by its second
  // round every shard's turn has passed, so it records each of them once.
  ExpirySweeper fast(keyspace_.get(), {.deferred_flush_interval = absl::Nanoseconds(4)});
  fast.RunRound();
  fast.RunRound();
  EXPECT_EQ(recorded(), (std::vector<std::string>{keys[0], keys[1], keys[2], keys[3]}));
  EXPECT_EQ(keyspace_->FlushDeferred(), 0u);
}

TEST_F(ExpiryTest, OverTheMemoryCapRoundsEvictLimitersOldestFirstAndNothingElse) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(TouchLimiter(absl::StrCat("{one}limit", i)));
    clock_.Advance(absl::Milliseconds(1));
  }
  ASSERT_TRUE(
      keyspace_->Set({.key = "{one}session"}, "s", {.deadline = In(absl::Seconds(1))}).ok());
  ASSERT_TRUE(keyspace_->Set({.key = "{one}board"}, "b", {}).ok());
  const uint64_t full = keyspace_->MemoryBytes();
  ASSERT_GT(full, 0u);

  // A cap a little under what is held: a few of the oldest limiters go, the newest stay.
  ExpirySweeper sweeper(
      keyspace_.get(),
      {.slice_keys = 4, .round_budget = absl::InfiniteDuration(), .memory_limit = full - 1});
  sweeper.RunRound();
  EXPECT_LT(keyspace_->MemoryBytes(), full);
  EXPECT_FALSE(keyspace_->Exists({.key = "{one}limit0"}).value());
  EXPECT_TRUE(keyspace_->Exists({.key = "{one}limit99"}).value());
  // Just enough to get under the cap: the coldest one or two, not the rest.
  EXPECT_GT(keyspace_->Stats().evicted_total, 0u);
  EXPECT_LE(keyspace_->Stats().evicted_total, 2u);

  bool deleted = false;
  for (const auto& r : sink_.records()) deleted = deleted || r.kind == MutationKind::kDelete;
  EXPECT_TRUE(deleted);  // evictions reach the log as deletions

  // A cap the session and the board exceed by themselves: evicting limiters would not help,
  // so rate limiting keeps its state.
  const uint64_t limiters =
      keyspace_->Stats().keys_by_type[static_cast<size_t>(ValueType::kLimiter)];
  ExpirySweeper harsh(
      keyspace_.get(),
      {.slice_keys = 4, .round_budget = absl::InfiniteDuration(), .memory_limit = 1});
  harsh.RunRound();
  EXPECT_EQ(keyspace_->Stats().keys_by_type[static_cast<size_t>(ValueType::kLimiter)], limiters);
  EXPECT_TRUE(keyspace_->Exists({.key = "{one}session"}).value());
}

// A limiter changed after it was filed in the expiry index is not taken for an old one.
TEST_F(ExpiryTest, EvictionPassesOverALimiterChangedSinceItWasFiled) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(TouchLimiter(absl::StrCat("{one}limit", i)));
    clock_.Advance(absl::Seconds(1));
  }
  ASSERT_TRUE(TouchLimiter("{one}limit0"));  // now the most recently changed
  const uint64_t full = keyspace_->MemoryBytes();
  ExpirySweeper sweeper(
      keyspace_.get(),
      {.slice_keys = 1, .round_budget = absl::InfiniteDuration(), .memory_limit = full - 1});
  sweeper.RunRound();
  EXPECT_EQ(keyspace_->Stats().evicted_total, 1u);
  EXPECT_TRUE(keyspace_->Exists({.key = "{one}limit0"}).value());
  EXPECT_FALSE(keyspace_->Exists({.key = "{one}limit1"}).value());
  EXPECT_TRUE(keyspace_->Exists({.key = "{one}limit2"}).value());
}

// Eviction order is global: the least recently changed limiters go first whichever shard
// holds them, not shard 0's before shard 1's.
TEST_F(ExpiryTest, EvictionTakesTheOldestLimitersAcrossShards) {
  const uint64_t empty = keyspace_->MemoryBytes();
  constexpr int kLimiters = 40;
  for (int i = 0; i < kLimiters; ++i) {
    ASSERT_TRUE(TouchLimiter(absl::StrCat("limit", i)));
    clock_.Advance(absl::Milliseconds(1));
  }
  const uint64_t full = keyspace_->MemoryBytes();
  const uint64_t per_key = (full - empty) / kLimiters;
  // Room for about 30 of the 40.
  ExpirySweeper sweeper(keyspace_.get(), {.slice_keys = 4,
                                          .round_budget = absl::InfiniteDuration(),
                                          .memory_limit = full - 10 * per_key});
  sweeper.RunRound();

  int kept_from = 0;  // the first key still held; every later one must be held too
  while (kept_from < kLimiters &&
         !keyspace_->Exists({.key = absl::StrCat("limit", kept_from)}).value()) {
    ++kept_from;
  }
  EXPECT_GE(kept_from, 9);
  EXPECT_LE(kept_from, 12);
  for (int i = kept_from; i < kLimiters; ++i) {
    EXPECT_TRUE(keyspace_->Exists({.key = absl::StrCat("limit", i)}).value()) << i;
  }
  EXPECT_EQ(keyspace_->Stats().evicted_total, static_cast<uint64_t>(kept_from));
}

}  // namespace
}  // namespace hotpath

// Hashes, sorted sets and limiter state through the Keyspace: typing, lifecycle, after-images
// and memory accounting.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/keyspace.h"
#include "engine/testing/recording_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class KeyspaceTypesTest : public ::testing::Test {
 protected:
  KeyspaceTypesTest() : keyspace_(Keyspace::Create({.shards = 4}, &clock_, &sink_).value()) {}

  FakeClock clock_;
  RecordingSink sink_;
  std::unique_ptr<Keyspace> keyspace_;
};

TEST_F(KeyspaceTypesTest, HashLivesFromItsFirstFieldToItsLast) {
  const KeyRef key{.key = "session:1"};
  EXPECT_TRUE(keyspace_->HashSet(key, "user", "42").value());
  EXPECT_FALSE(keyspace_->HashSet(key, "user", "43").value());
  EXPECT_TRUE(keyspace_->HashSet(key, "ip", "10.1.1.1").value());
  EXPECT_EQ(keyspace_->Type(key).value(), ValueType::kHash);
  EXPECT_EQ(keyspace_->HashGet(key, "user").value(), "43");
  EXPECT_FALSE(keyspace_->HashGet(key, "nope").value().has_value());
  EXPECT_THAT(keyspace_->HashGetAll(key).value(),
              UnorderedElementsAre(Pair("user", "43"), Pair("ip", "10.1.1.1")));
  EXPECT_EQ(keyspace_->HashIncrementBy(key, "hits", 3).value(), 3);

  EXPECT_TRUE(keyspace_->HashDelete(key, "user").value());
  EXPECT_TRUE(keyspace_->HashDelete(key, "ip").value());
  EXPECT_TRUE(keyspace_->Exists(key).value());
  EXPECT_TRUE(keyspace_->HashDelete(key, "hits").value());
  EXPECT_FALSE(keyspace_->Exists(key).value());  // gone with its last field
  EXPECT_TRUE(keyspace_->HashGetAll(key).value().empty());
  EXPECT_EQ(keyspace_->Stats().memory_bytes, 0u);
}

TEST_F(KeyspaceTypesTest, HashRecordsAfterImagesOfFields) {
  const KeyRef key{.ns = "t", .key = "h"};
  ASSERT_TRUE(keyspace_->HashSet(key, "a", "1").ok());
  ASSERT_TRUE(keyspace_->HashIncrementBy(key, "a", 41).ok());
  ASSERT_TRUE(keyspace_->HashDelete(key, "a").ok());
  const auto records = sink_.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].kind, MutationKind::kHashSet);
  EXPECT_EQ(records[1].kind, MutationKind::kHashSet);
  EXPECT_EQ(records[1].field, "a");
  EXPECT_EQ(records[1].field_value, "42");  // the result, not "+41"
  EXPECT_EQ(records[2].kind, MutationKind::kHashDelete);
  EXPECT_EQ(records[2].sequence, 3u);
  EXPECT_EQ(records[2].ns, "t");
}

TEST_F(KeyspaceTypesTest, AFailedHashIncrementLeavesNothingBehind) {
  const KeyRef key{.key = "h"};
  ASSERT_TRUE(keyspace_->HashSet(key, "s", "text").ok());
  EXPECT_EQ(keyspace_->HashIncrementBy(key, "s", 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sink_.records().size(), 1u);
  EXPECT_EQ(keyspace_->HashIncrementBy({.key = "new"}, "", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(keyspace_->Exists({.key = "new"}).value());
}

TEST_F(KeyspaceTypesTest, OperationsOnTheWrongTypeNameBothTypes) {
  ASSERT_TRUE(keyspace_->Set({.key = "s"}, "text").ok());
  ASSERT_TRUE(keyspace_->HashSet({.key = "h"}, "f", "v").ok());
  auto as_hash = keyspace_->HashSet({.key = "s"}, "f", "v");
  EXPECT_EQ(as_hash.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(as_hash.status().message(), HasSubstr("key holds a string, not a hash"));
  EXPECT_THAT(keyspace_->ZsetUpsert({.key = "h"}, {}, "m", 1, 0).status().message(),
              HasSubstr("key holds a hash, not a sorted set"));
  EXPECT_THAT(keyspace_->Get({.key = "h"}).status().message(),
              HasSubstr("key holds a hash, not a string"));
  EXPECT_THAT(keyspace_->IncrementBy({.key = "h"}, 1).status().message(),
              HasSubstr("not a counter"));
  // Plain Set replaces any type, as in Redis.
  ASSERT_TRUE(keyspace_->Set({.key = "h"}, "now a string").ok());
  EXPECT_EQ(keyspace_->Type({.key = "h"}).value(), ValueType::kString);
}

TEST_F(KeyspaceTypesTest, SortedSetThroughTheKeyspace) {
  const KeyRef key{.key = "board"};
  const SortedSetOptions desc{.score_order = ScoreOrder::kDescending};
  EXPECT_FALSE(keyspace_->ZsetUpsert(key, desc, "ann", 10, 1).value().has_value());
  EXPECT_FALSE(keyspace_->ZsetUpsert(key, desc, "bob", 30, 2).value().has_value());
  EXPECT_EQ(keyspace_->ZsetUpsert(key, desc, "ann", 50, 3).value(), 10);
  auto top = keyspace_->ZsetRead(key, [](const SortedSet& set) {
    std::vector<std::string> names;
    for (const ScoredMember& m : set.RangeByRank(0, 10)) names.emplace_back(m.member);
    return names;
  });
  EXPECT_THAT(top.value(), ElementsAre("ann", "bob"));
  EXPECT_EQ(keyspace_->ZsetRead(key, [](const SortedSet& s) { return s.Rank("bob"); }).value(), 1u);
  EXPECT_EQ(keyspace_->ZsetRead({.key = "none"}, [](const SortedSet& s) { return s.size(); })
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(keyspace_->ZsetUpsert(key, {}, "cat", 1, 4).status().code(),
            absl::StatusCode::kFailedPrecondition);  // created descending

  const auto records = sink_.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].kind, MutationKind::kZsetUpsert);
  EXPECT_EQ(records[2].field, "ann");
  EXPECT_EQ(records[2].score, 50);
  EXPECT_EQ(records[2].tiebreak, 3u);

  EXPECT_TRUE(keyspace_->ZsetRemove(key, "ann").value());
  EXPECT_FALSE(keyspace_->ZsetRemove(key, "ann").value());
  EXPECT_TRUE(keyspace_->ZsetRemove(key, "bob").value());
  EXPECT_FALSE(keyspace_->Exists(key).value());
  EXPECT_EQ(sink_.records().back().kind, MutationKind::kZsetRemove);
  EXPECT_EQ(keyspace_->Stats().memory_bytes, 0u);
}

TEST_F(KeyspaceTypesTest, SortedSetMemoryIsCounted) {
  const KeyRef key{.key = "big"};
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(keyspace_->ZsetUpsert(key, {}, absl::StrCat("player:", i), i, i).ok());
  }
  const uint64_t bytes = keyspace_->Stats().memory_bytes;
  EXPECT_GT(bytes, 10'000u * 30);
  EXPECT_LT(bytes, 10'000u * 100);
  ASSERT_TRUE(keyspace_->Delete(key).value());
  EXPECT_EQ(keyspace_->Stats().memory_bytes, 0u);
}

TEST_F(KeyspaceTypesTest, LimiterStateIsOneAtomicReadModifyWrite) {
  const KeyRef key{.key = "limit:api:user7"};
  // A toy fixed window of 2 per 10 s: allowed while the count is below 2.
  auto check = [&] {
    return keyspace_->UpdateLimiter(
        key, [](const LimiterState* current, int64_t now_ns, Keyspace::LimiterWrite* write) {
          constexpr int64_t kWindow = 10'000'000'000;
          LimiterState state = current != nullptr ? *current : LimiterState{.algorithm = 1};
          if (state.slots[0] + kWindow <= now_ns) state.slots = {now_ns, 0, 0};
          if (state.slots[1] >= 2) return false;
          ++state.slots[1];
          *write = {.store = true, .state = state, .deadline_ns = state.slots[0] + kWindow};
          return true;
        });
  };
  EXPECT_TRUE(check().value());
  EXPECT_TRUE(check().value());
  EXPECT_FALSE(check().value());
  EXPECT_EQ(keyspace_->Type(key).value(), ValueType::kLimiter);
  EXPECT_EQ(keyspace_->GetDeadline(key).value(), clock_.Now() + absl::Seconds(10));
  EXPECT_EQ(sink_.records().size(), 2u);  // a denied check writes nothing
  EXPECT_EQ(sink_.records()[1].value->limiter().slots[1], 2);
  clock_.Advance(absl::Seconds(10));
  EXPECT_TRUE(check().value());  // the key expired: a fresh window

  ASSERT_TRUE(keyspace_->Set({.key = "text"}, "x").ok());
  EXPECT_EQ(keyspace_
                ->UpdateLimiter({.key = "text"}, [](const LimiterState*, int64_t,
                                                    Keyspace::LimiterWrite*) { return 0; })
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(KeyspaceTypesTest, ALimiterStateAlreadyExpiredIsStoredAsNothing) {
  const KeyRef key{.key = "limit"};
  auto write = [&](int64_t deadline_offset_ms) {
    return keyspace_->UpdateLimiter(
        key, [&](const LimiterState*, int64_t now_ns, Keyspace::LimiterWrite* w) {
          *w = {.store = true, .deadline_ns = now_ns + deadline_offset_ms * 1'000'000};
          return 0;
        });
  };
  ASSERT_TRUE(write(1'000).ok());
  EXPECT_TRUE(keyspace_->Exists(key).value());
  ASSERT_TRUE(write(0).ok());  // expires now: the key goes
  EXPECT_FALSE(keyspace_->Exists(key).value());
  EXPECT_EQ(sink_.records().back().kind, MutationKind::kDelete);
  EXPECT_EQ(keyspace_->Stats().memory_bytes, 0u);
}

TEST_F(KeyspaceTypesTest, ALimiterKeyCostsAFewDozenBytesBeyondAStringKey) {
  ASSERT_TRUE(keyspace_->Set({.key = "a"}, "1").ok());
  const uint64_t string_key = keyspace_->Stats().memory_bytes;
  ASSERT_TRUE(keyspace_
                  ->UpdateLimiter({.key = "b"},
                                  [](const LimiterState*, int64_t, Keyspace::LimiterWrite* w) {
                                    w->store = true;
                                    return 0;
                                  })
                  .ok());
  EXPECT_EQ(keyspace_->Stats().memory_bytes, 2 * string_key);  // inline: no heap at all
}

// A limiter update that counts, storing with a one-minute deadline.
auto Count(bool defer, Keyspace& keyspace, const KeyRef& key) {
  return keyspace.UpdateLimiter(
      key,
      [](const LimiterState* current, int64_t now_ns, Keyspace::LimiterWrite* write) {
        LimiterState state = current != nullptr ? *current : LimiterState{.algorithm = 1};
        ++state.slots[0];
        *write = {.store = true, .state = state, .deadline_ns = now_ns + 60'000'000'000};
        return state.slots[0];
      },
      defer);
}

TEST_F(KeyspaceTypesTest, DeferredLimiterStateIsRecordedOncePerFlush) {
  const KeyRef key{.key = "limit"};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Count(/*defer=*/true, *keyspace_, key).ok());
  EXPECT_TRUE(sink_.records().empty());
  EXPECT_EQ(keyspace_->FlushDeferred(), 1u);
  ASSERT_EQ(sink_.records().size(), 1u);
  EXPECT_EQ(sink_.records()[0].kind, MutationKind::kUpsert);
  EXPECT_EQ(sink_.records()[0].value->limiter().slots[0], 5);
  EXPECT_EQ(keyspace_->FlushDeferred(), 0u);  // nothing changed since
  EXPECT_EQ(sink_.records().size(), 1u);
}

TEST_F(KeyspaceTypesTest, ADeferredUpdateOfAPresentStateMovesItsDeadlineAndKeepsTheCounts) {
  // The second Count finds a limiter state and overwrites it in place.
  const KeyRef key{.key = "limit"};
  ASSERT_TRUE(Count(/*defer=*/true, *keyspace_, key).ok());
  const uint64_t bytes = keyspace_->Stats().memory_bytes;
  clock_.Advance(absl::Seconds(30));
  ASSERT_EQ(Count(/*defer=*/true, *keyspace_, key).value(), 2);
  EXPECT_EQ(keyspace_->GetDeadline(key).value(), clock_.Now() + absl::Minutes(1));
  EXPECT_EQ(keyspace_->Stats().memory_bytes, bytes);
  clock_.Advance(absl::Seconds(45));  // past the first deadline, before the second
  EXPECT_TRUE(keyspace_->Exists(key).value());

  // Without a deadline it leaves the expiry index, and its bytes with it: as a key stored
  // without one from the start.
  auto no_deadline = [](const LimiterState* current, int64_t, Keyspace::LimiterWrite* write) {
    LimiterState state = current != nullptr ? *current : LimiterState{.algorithm = 1};
    ++state.slots[0];
    *write = {.store = true, .state = state};
    return state.slots[0];
  };
  ASSERT_EQ(keyspace_->UpdateLimiter(key, no_deadline, /*defer_record=*/true).value(), 3);
  auto fresh = Keyspace::Create({.shards = 4}, &clock_).value();
  ASSERT_TRUE(fresh->UpdateLimiter(key, no_deadline, /*defer_record=*/true).ok());
  EXPECT_EQ(keyspace_->Stats().memory_bytes, fresh->Stats().memory_bytes);
  EXPECT_EQ(keyspace_->Stats().keys_with_deadline, 0u);
  EXPECT_EQ(keyspace_->FlushDeferred(), 1u);
  ASSERT_EQ(sink_.records().size(), 1u);
  EXPECT_EQ(sink_.records()[0].value->limiter().slots[0], 3);
}

TEST_F(KeyspaceTypesTest, ARecordAboutADeferredKeyIsPrecededByItsState) {
  const KeyRef key{.key = "limit"};
  ASSERT_TRUE(Count(/*defer=*/true, *keyspace_, key).ok());
  ASSERT_TRUE(keyspace_->SetDeadline(key, clock_.Now() + absl::Hours(1)).value());
  const auto records = sink_.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].kind, MutationKind::kUpsert);  // the log knows the key first
  EXPECT_EQ(records[1].kind, MutationKind::kSetDeadline);
  EXPECT_EQ(keyspace_->FlushDeferred(), 0u);
  auto replica = Keyspace::Create({.shards = 4}, &clock_).value();
  for (const Record& record : records) ASSERT_TRUE(replica->Replay(record).ok());
  EXPECT_EQ(replica->GetDeadline(key).value(), clock_.Now() + absl::Hours(1));

  // A deleted (or expired) deferred key needs only its delete record.
  ASSERT_TRUE(Count(/*defer=*/true, *keyspace_, key).ok());
  size_t before = sink_.records().size();
  ASSERT_TRUE(keyspace_->Delete(key).value());
  EXPECT_EQ(sink_.records().size(), before + 1);
  EXPECT_EQ(sink_.records().back().kind, MutationKind::kDelete);
  EXPECT_EQ(keyspace_->FlushDeferred(), 0u);
  ASSERT_TRUE(Count(/*defer=*/true, *keyspace_, key).ok());
  clock_.Advance(absl::Minutes(2));
  before = sink_.records().size();
  EXPECT_FALSE(keyspace_->Exists(key).value());
  EXPECT_EQ(sink_.records().size(), before + 1);
  EXPECT_EQ(sink_.records().back().kind, MutationKind::kExpire);
  EXPECT_EQ(keyspace_->FlushDeferred(), 0u);
}

TEST_F(KeyspaceTypesTest, LimiterStepsRunInOrderEachAtomicAndSeeEarlierSteps) {
  // Three steps on one hash tag: {a}, {a, b}, {a}. Each counts its keys up by one unless one of
  // them is at 2 already, in which case it takes nothing.
  const std::vector<KeyRef> keys = {
      {.key = "{u}:a"}, {.key = "{u}:a"}, {.key = "{u}:b"}, {.key = "{u}:a"}};
  const std::vector<size_t> ends = {1, 3, 4};
  const uint32_t shard = keyspace_->ShardOf(keys[0]);
  std::vector<std::vector<int64_t>> seen;
  auto run = [&] {
    return keyspace_->UpdateLimiterSteps(
        shard, keys, ends,
        [&](size_t step, absl::Span<const Value* const> current, int64_t,
            absl::Span<Keyspace::LimiterWrite> writes) {
          EXPECT_EQ(current.size(), ends[step] - (step == 0 ? 0 : ends[step - 1]));
          std::vector<int64_t> counts;
          for (const Value* value : current) {
            counts.push_back(value != nullptr ? value->limiter().slots[0] : 0);
          }
          seen.push_back(counts);
          if (std::find(counts.begin(), counts.end(), 2) != counts.end()) return;
          for (size_t i = 0; i < current.size(); ++i) {
            writes[i] = {.store = true, .state = {.algorithm = 1, .slots = {counts[i] + 1}}};
          }
        });
  };
  ASSERT_TRUE(run().ok());
  EXPECT_EQ(seen, (std::vector<std::vector<int64_t>>{{0}, {1, 0}, {2}}));
  EXPECT_EQ(sink_.records().size(), 3u);  // recorded at once without defer_record
  // The second step now sees a at 2 and takes from neither a nor b.
  seen.clear();
  ASSERT_TRUE(run().ok());
  EXPECT_EQ(seen, (std::vector<std::vector<int64_t>>{{2}, {2, 1}, {2}}));
  EXPECT_EQ(sink_.records().size(), 3u);

  // A key of another type (a string is an exact sliding log, so a hash) stops the run there;
  // the steps before it stay applied.
  ASSERT_TRUE(keyspace_->HashSet({.key = "{u}:hash"}, "f", "x").ok());
  const std::vector<KeyRef> mixed = {{.key = "{u}:c"}, {.key = "{u}:hash"}};
  const std::vector<size_t> one_each = {1, 2};
  auto store_all = [](size_t, absl::Span<const Value* const>, int64_t,
                      absl::Span<Keyspace::LimiterWrite> writes) {
    for (auto& write : writes) write.store = true;
  };
  EXPECT_EQ(keyspace_->UpdateLimiterSteps(shard, mixed, one_each, store_all).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(keyspace_->Exists({.key = "{u}:c"}).value());
  // A bad key fails the whole run before any step.
  const std::vector<KeyRef> bad = {{.key = "{u}:d"}, {.ns = "", .key = "{u}:e"}};
  EXPECT_EQ(keyspace_->UpdateLimiterSteps(shard, bad, one_each, store_all).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(keyspace_->Exists({.key = "{u}:d"}).value());
}

TEST_F(KeyspaceTypesTest, LimiterStepsSeeAKeyThatAnEarlierStepRemovedOrAdded) {
  // The run looks its keys up once, before the first step (Shard::Locked::Warm); a step that
  // removes or adds a key must not leave a later step of the run on that first look.
  const KeyRef x{.key = "{u}:x"};
  const KeyRef y{.key = "{u}:y"};
  const uint32_t shard = keyspace_->ShardOf(x);
  const int64_t now_ns = absl::ToUnixNanos(clock_.Now());
  const std::vector<size_t> first_only = {1};
  ASSERT_TRUE(keyspace_
                  ->UpdateLimiterSteps(shard, std::vector<KeyRef>{x}, first_only,
                                       [&](size_t, absl::Span<const Value* const>, int64_t,
                                           absl::Span<Keyspace::LimiterWrite> writes) {
                                         writes[0] = {.store = true,
                                                      .state = {.algorithm = 1, .slots = {7}},
                                                      .deadline_ns = now_ns + 1'000'000'000};
                                       })
                  .ok());
  clock_.Advance(absl::Seconds(2));  // x has expired; its entry is still in the table

  // Steps {x}, {x, y}, {y}, storing only y in the second: the first step removes the expired
  // x as it reads it, so the second sees x absent (not the freed entry), and the third sees
  // the y the second added.
  const std::vector<KeyRef> keys = {x, x, y, y};
  const std::vector<size_t> ends = {1, 3, 4};
  std::vector<std::vector<int64_t>> seen;  // -1: absent
  ASSERT_TRUE(keyspace_
                  ->UpdateLimiterSteps(
                      shard, keys, ends,
                      [&](size_t step, absl::Span<const Value* const> current, int64_t,
                          absl::Span<Keyspace::LimiterWrite> writes) {
                        std::vector<int64_t> values;
                        for (const Value* value : current) {
                          values.push_back(value != nullptr ? value->limiter().slots[0] : -1);
                        }
                        seen.push_back(values);
                        if (step == 1) {
                          writes[1] = {.store = true, .state = {.algorithm = 1, .slots = {5}}};
                        }
                      })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::vector<int64_t>>{{-1}, {-1, -1}, {5}}));
  EXPECT_FALSE(keyspace_->Exists(x).value());
}

TEST_F(KeyspaceTypesTest, SeveralLimitersOfOneHashTagUpdateAsOne) {
  const std::vector<KeyRef> keys = {{.key = "{user7}:per-second"}, {.key = "{user7}:per-hour"}};
  // Both limits admit only while both have room: 2 per second, 3 per hour.
  auto check = [&] {
    return keyspace_->UpdateLimiters(keys, [](const std::vector<const Value*>& current, int64_t,
                                              std::vector<Keyspace::LimiterWrite>* writes) {
      const int64_t caps[] = {2, 3};
      for (size_t i = 0; i < current.size(); ++i) {
        if (current[i] != nullptr && current[i]->limiter().slots[0] >= caps[i]) return false;
      }
      for (size_t i = 0; i < current.size(); ++i) {
        LimiterState next = current[i] != nullptr ? current[i]->limiter() : LimiterState{};
        ++next.slots[0];
        (*writes)[i] = {.store = true, .state = next};
      }
      return true;
    });
  };
  EXPECT_TRUE(check().value());
  EXPECT_TRUE(check().value());
  EXPECT_FALSE(check().value());  // the per-second limit is full: neither is consumed
  EXPECT_EQ(sink_.records().size(), 4u);

  // Keys in different shards are one step too: all of their locks are held together.
  const std::vector<KeyRef> spread = {{.key = "a"}, {.key = "b"}, {.key = "c"}, {.key = "d"}};
  std::set<uint32_t> shards;
  for (const KeyRef& key : spread) shards.insert(keyspace_->ShardOf(key));
  ASSERT_GT(shards.size(), 1u);
  auto take_all = [&] {
    return keyspace_
        ->UpdateLimiters(spread,
                         [](const std::vector<const Value*>& current, int64_t,
                            std::vector<Keyspace::LimiterWrite>* writes) {
                           // "d" admits one; the others many: the second call takes nothing.
                           if (current[3] != nullptr) return false;
                           for (auto& write : *writes) write.store = true;
                           return true;
                         })
        .value();
  };
  EXPECT_TRUE(take_all());
  EXPECT_FALSE(take_all());
  for (const KeyRef& key : spread) EXPECT_TRUE(keyspace_->Exists(key).value());
}

TEST_F(KeyspaceTypesTest, KeysAreCountedByTheTypeTheyHold) {
  auto count = [&](ValueType type) {
    return keyspace_->Stats().keys_by_type[static_cast<size_t>(type)];
  };
  ASSERT_TRUE(keyspace_->Set({.key = "s"}, "x").ok());
  ASSERT_TRUE(keyspace_->IncrementBy({.key = "n"}, 1).ok());
  ASSERT_TRUE(keyspace_->HashSet({.key = "h"}, "f", "v").ok());
  ASSERT_TRUE(Count(false, *keyspace_, {.key = "l"}).ok());
  EXPECT_EQ(count(ValueType::kString), 1u);
  EXPECT_EQ(count(ValueType::kCounter), 1u);
  EXPECT_EQ(count(ValueType::kHash), 1u);
  EXPECT_EQ(count(ValueType::kLimiter), 1u);
  ASSERT_TRUE(keyspace_->Set({.key = "n"}, "now a string").ok());  // a counter replaced
  EXPECT_EQ(count(ValueType::kCounter), 0u);
  EXPECT_EQ(count(ValueType::kString), 2u);
  ASSERT_TRUE(keyspace_->HashDelete({.key = "h"}, "f").ok());  // the hash goes with its field
  EXPECT_EQ(count(ValueType::kHash), 0u);
  clock_.Advance(absl::Minutes(2));  // the limiter state expires
  EXPECT_EQ(keyspace_->SweepExpired(100).removed, 1u);
  EXPECT_EQ(count(ValueType::kLimiter), 0u);
  ASSERT_TRUE(keyspace_->Delete({.key = "s"}).value());
  EXPECT_EQ(count(ValueType::kString), 1u);
}

TEST_F(KeyspaceTypesTest, InShardChangesKeysOfOneTagAsOneStepInOrder) {
  const KeyRef session{.key = "s:{u7}abc"};
  const KeyRef index{.key = "u:{u7}alice"};
  const int64_t deadline = clock_.NowMillis() + 5000;
  absl::Status step = keyspace_->InShard({index, session}, [&](Shard::Locked& locked) {
    locked.Apply(index, [&](Shard::Access& access) {
      access.Create(Value::NewHash()).hash().Set("abc", "1");
      access.Emit({.kind = MutationKind::kHashSet, .field = "abc", .field_value = "1"});
    });
    locked.Apply(session, [&](Shard::Access& access) {
      access.Upsert(Value::String("blob"), 0);
      access.SetDeadline(deadline);
      access.SetDeadline(deadline);  // unchanged: no second record
    });
    return absl::OkStatus();
  });
  ASSERT_TRUE(step.ok()) << step;
  const std::vector<Record> records = sink_.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].kind, MutationKind::kHashSet);
  EXPECT_EQ(records[1].kind, MutationKind::kUpsert);
  EXPECT_EQ(records[2].kind, MutationKind::kSetDeadline);
  EXPECT_EQ(records[2].deadline_ms, deadline);
  EXPECT_EQ(keyspace_->GetDeadline(session).value(), absl::FromUnixMillis(deadline));
  clock_.Advance(absl::Seconds(5));
  EXPECT_FALSE(keyspace_->Exists(session).value());
  EXPECT_TRUE(keyspace_->Exists(index).value());
}

TEST_F(KeyspaceTypesTest, InShardSetDeadlineAtOrBeforeNowRemovesTheKey) {
  const KeyRef key{.key = "k"};
  ASSERT_TRUE(keyspace_->Set(key, "v").ok());
  const size_t before = sink_.records().size();
  ASSERT_TRUE(keyspace_
                  ->InShard({key},
                            [&](Shard::Locked& locked) {
                              locked.Apply(key, [&](Shard::Access& access) {
                                access.SetDeadline(access.now_ms());
                              });
                              return absl::OkStatus();
                            })
                  .ok());
  EXPECT_FALSE(keyspace_->Exists(key).value());
  ASSERT_EQ(sink_.records().size(), before + 1);
  EXPECT_EQ(sink_.records().back().kind, MutationKind::kExpire);
  EXPECT_EQ(keyspace_->Stats().memory_bytes, 0u);
}

TEST_F(KeyspaceTypesTest, InShardRefusesKeysOfSeveralShards) {
  // Without a shared tag these two land in different shards of the four.
  std::vector<KeyRef> keys;
  std::vector<std::string> names;
  for (int i = 0; names.size() < 2; ++i) {
    std::string name = absl::StrCat("k", i);
    if (names.empty() || keyspace_->ShardOf({.key = name}) != keyspace_->ShardOf({.key = names[0]}))
      names.push_back(name);
  }
  for (const std::string& name : names) keys.push_back({.key = name});
  bool ran = false;
  absl::Status step = keyspace_->InShard(keys, [&](Shard::Locked&) {
    ran = true;
    return absl::OkStatus();
  });
  EXPECT_EQ(step.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(step.message(), HasSubstr("share a shard"));
  EXPECT_FALSE(ran);
  EXPECT_EQ(keyspace_->InShard({}, [](Shard::Locked&) { return absl::OkStatus(); }).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hotpath

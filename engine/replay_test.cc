// After-images are complete: replaying every record of a random workload into an empty
// keyspace rebuilds the same state, and replaying them twice changes nothing.
#include <map>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/keyspace.h"
#include "engine/testing/recording_sink.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

std::string Describe(const Value& value) {
  switch (value.type()) {
    case ValueType::kString:
      return "string " + value.string();
    case ValueType::kCounter:
      return absl::StrCat("counter ", value.counter());
    case ValueType::kLimiter:
      return absl::StrCat("limiter ", value.limiter().algorithm, " ",
                          absl::StrJoin(value.limiter().slots, ","));
    case ValueType::kHash: {
      std::map<std::string, std::string> fields;
      value.hash().ForEach([&](std::string_view f, std::string_view v) { fields.emplace(f, v); });
      return "hash " + absl::StrJoin(fields, ",", absl::PairFormatter("="));
    }
    case ValueType::kSortedSet: {
      std::string out =
          absl::StrCat("zset ", static_cast<int>(value.sorted_set().options().score_order),
                       static_cast<int>(value.sorted_set().options().ties));
      value.sorted_set().ForEach([&](const ScoredMember& m) {
        absl::StrAppend(&out, " ", std::string(m.member), ":", m.score, ":", m.tiebreak);
      });
      return out;
    }
    case ValueType::kStream: {
      const Stream& stream = value.stream();
      std::string out = "stream last " + stream.last_id().ToString();
      for (const StreamEntry& e : stream.Range(kMinStreamId, kMaxStreamId, UINT64_MAX)) {
        absl::StrAppend(&out, " ", e.id.ToString(), "{",
                        absl::StrJoin(e.fields, ",", absl::PairFormatter("=")), "}");
      }
      for (const std::string& group : stream.GroupNames()) {
        absl::StrAppend(&out, " group ", group, " at ", stream.LastDelivered(group)->ToString());
        const std::vector<PendingEntry> pending =
            stream.PendingDetail(group, kMinStreamId, kMaxStreamId, UINT64_MAX, "", INT64_MIN, 0)
                .value();
        for (const PendingEntry& p : pending) {
          absl::StrAppend(&out, " ", p.id.ToString(), "@", p.consumer, "x", p.delivery_count, "t",
                          p.last_delivery_ms);
        }
      }
      return out;
    }
  }
  return "?";
}

std::map<std::string, std::string> Dump(const Keyspace& keyspace) {
  std::map<std::string, std::string> out;
  keyspace.ForEachKey([&](const KeyRef& key, const Value& value, int64_t deadline_ms) {
    out[absl::StrCat(std::string(key.ns), "/", std::string(key.key))] =
        absl::StrCat(Describe(value), " deadline ", deadline_ms);
  });
  return out;
}

TEST(Replay, RecordsRebuildTheSameStateAndReplayingTwiceChangesNothing) {
  FakeClock clock;
  RecordingSink sink;
  auto primary = Keyspace::Create({.shards = 4}, &clock, &sink).value();
  std::mt19937_64 rng(17);
  auto key = [&](const char* kind) { return absl::StrCat(kind, rng() % 12); };
  const SortedSetOptions board{.score_order = ScoreOrder::kDescending};
  uint64_t sequence = 0;
  for (int i = 0; i < 20'000; ++i) {
    const KeyRef k{.ns = i % 3 == 0 ? "a" : "b", .key = ""};
    std::string name;
    switch (rng() % 16) {
      case 0:
        name = key("s");
        (void)primary->Set(
            {k.ns, name}, absl::StrCat("v", i),
            {.deadline = rng() % 2 ? std::optional(clock.Now() + absl::Seconds(1 + rng() % 30))
                                   : std::nullopt});
        break;
      case 1:
        name = key("n");
        (void)primary->IncrementBy({k.ns, name}, static_cast<int64_t>(rng() % 10) - 3);
        break;
      case 2:
        name = key(rng() % 2 ? "s" : "h");
        (void)primary->Delete({k.ns, name});
        break;
      case 3:
        name = key("s");
        (void)primary->SetDeadline({k.ns, name}, clock.Now() + absl::Seconds(rng() % 20));
        break;
      case 4:
      case 5:
        name = key("h");
        (void)primary->HashSet({k.ns, name}, absl::StrCat("f", rng() % 6), absl::StrCat(i));
        break;
      case 6:
        name = key("h");
        (void)primary->HashDelete({k.ns, name}, absl::StrCat("f", rng() % 6));
        break;
      case 7:
      case 8:
        name = key("z");
        (void)primary->ZsetUpsert({k.ns, name}, board, absl::StrCat("m", rng() % 40),
                                  static_cast<int64_t>(rng() % 100), ++sequence);
        break;
      case 9:
        name = key("z");
        (void)primary->ZsetRemove({k.ns, name}, absl::StrCat("m", rng() % 40));
        break;
      case 10:
        name = key("l");
        (void)primary->UpdateLimiter(
            {k.ns, name}, [&](const LimiterState* state, int64_t now, Keyspace::LimiterWrite* w) {
              LimiterState next = state ? *state : LimiterState{.algorithm = 2};
              ++next.slots[1];
              *w = {.store = true, .state = next, .deadline_ms = now + 5'000};
              return 0;
            });
        break;
      case 11:
      case 12:
        name = key("x");
        (void)primary->StreamAppend(
            {k.ns, name}, std::nullopt, {{"i", absl::StrCat(i)}},
            rng() % 4 == 0
                ? StreamTrimPolicy{.kind = StreamTrimPolicy::Kind::kMaxLength, .max_length = 20}
                : StreamTrimPolicy{});
        break;
      case 13:
        name = key("x");
        (void)primary->StreamCreateGroup({k.ns, name}, absl::StrCat("g", rng() % 2), kMinStreamId,
                                         true);
        (void)primary->StreamReadGroup({k.ns, name}, absl::StrCat("g", rng() % 2),
                                       absl::StrCat("c", rng() % 3), 1 + rng() % 5);
        break;
      case 14: {
        name = key("x");
        const std::string group = absl::StrCat("g", rng() % 2);
        auto pending = primary->StreamRead({k.ns, name}, [&](const Stream& s) {
          return s.PendingDetail(group, kMinStreamId, kMaxStreamId, 3, "", 0, 0);
        });
        if (pending.ok() && pending->ok() && !(*pending)->empty()) {
          (void)primary->StreamAck({k.ns, name}, group, {(*pending)->front().id});
        }
        (void)primary->StreamAutoClaim({k.ns, name}, group, absl::StrCat("c", rng() % 3), 1'000,
                                       kMinStreamId, 2);
        if (rng() % 8 == 0) (void)primary->StreamDeleteConsumer({k.ns, name}, group, "c0");
        break;
      }
      default:
        clock.Advance(absl::Milliseconds(rng() % 3'000));
        (void)primary->SweepExpired(4);
        (void)primary->Get({k.ns, key("s")});  // lazy expiry
        break;
    }
  }
  const auto records = sink.records();
  ASSERT_GT(records.size(), 10'000u);

  FakeClock replica_clock(absl::FromUnixSeconds(1));  // replay never reads the clock
  auto replica = Keyspace::Create({.shards = 4}, &replica_clock).value();
  for (const Record& record : records) ASSERT_TRUE(replica->Replay(record).ok()) << record.sequence;
  EXPECT_EQ(Dump(*replica), Dump(*primary));
  for (uint32_t s = 0; s < 4; ++s) {
    EXPECT_EQ(replica->Stats().shards[s].sequence, primary->Stats().shards[s].sequence);
  }

  for (const Record& record : records) ASSERT_TRUE(replica->Replay(record).ok()) << record.sequence;
  EXPECT_EQ(Dump(*replica), Dump(*primary));
  EXPECT_EQ(replica->Stats().keys, primary->Stats().keys);
}

TEST(Replay, ARecordThatContradictsTheStateFailsClosed) {
  FakeClock clock;
  auto keyspace = Keyspace::Create({.shards = 1}, &clock).value();
  ASSERT_TRUE(keyspace->Set({.key = "k"}, "a string").ok());
  Record hash_set;
  hash_set.kind = MutationKind::kHashSet;
  hash_set.ns = "default";
  hash_set.key = "k";
  hash_set.field = "f";
  hash_set.sequence = 9;
  const absl::Status status = keyspace->Replay(hash_set);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("replaying record 9 of shard 0"), std::string::npos)
      << status.message();
  EXPECT_EQ(keyspace->Get({.key = "k"}).value(), "a string");
}

}  // namespace
}  // namespace hotpath

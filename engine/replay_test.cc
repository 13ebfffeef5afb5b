// After-images are complete: replaying every record of a random workload into an empty
// keyspace rebuilds the same state, and replaying them twice changes nothing.
#include <map>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/keyspace.h"
#include "engine/testing/keyspace_digest.h"
#include "engine/testing/random_workload.h"
#include "engine/testing/recording_sink.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

TEST(Replay, RecordsRebuildTheSameStateAndReplayingTwiceChangesNothing) {
  FakeClock clock;
  RecordingSink sink;
  auto primary = Keyspace::Create({.shards = 4}, &clock, &sink).value();
  std::mt19937_64 rng(17);
  RunRandomWorkload(primary.get(), clock, rng, 20'000);
  const auto records = sink.records();
  ASSERT_GT(records.size(), 10'000u);

  FakeClock replica_clock(absl::FromUnixSeconds(1));  // replay never reads the clock
  auto replica = Keyspace::Create({.shards = 4}, &replica_clock).value();
  for (const Record& record : records) ASSERT_TRUE(replica->Replay(record).ok()) << record.sequence;
  EXPECT_EQ(Dump(*replica), Dump(*primary));
  EXPECT_EQ(replica->Stats().keys_by_type, primary->Stats().keys_by_type);
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

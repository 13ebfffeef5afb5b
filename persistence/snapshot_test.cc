// Snapshots keep every detail of every value type, load into any shard count, and refuse any
// damaged file with its name and offset.
#include "persistence/snapshot.h"

#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/testing/keyspace_digest.h"
#include "engine/testing/random_workload.h"
#include "gtest/gtest.h"
#include "persistence/testing/fake_file_system.h"

namespace hotpath {
namespace {

constexpr char kPath[] = "/data/base.1.rdb";

// A keyspace holding every kind of value, with the corner cases a snapshot must keep.
std::unique_ptr<Keyspace> Populated(FakeClock& clock) {
  auto keyspace = Keyspace::Create({.shards = 4}, &clock).value();
  std::mt19937_64 rng(5);
  RunRandomWorkload(keyspace.get(), clock, rng, 5'000);
  // A sorted set too big for one tree leaf, ordered by member name on ties.
  const SortedSetOptions by_name{.ties = TieOrder::kMemberName};
  for (int i = 0; i < 5'000; ++i) {
    EXPECT_TRUE(
        keyspace->ZsetUpsert({.key = "big-zset"}, by_name, absl::StrCat("m", i), i % 7, 0).ok());
  }
  // Both are large enough to be encoded from an image, outside the shard's lock; this one
  // descends, with ties to the earlier submission.
  const SortedSetOptions board{.score_order = ScoreOrder::kDescending};
  for (int i = 0; i < 3'000; ++i) {
    EXPECT_TRUE(keyspace
                    ->ZsetUpsert({.ns = "lb", .key = "board"}, board, absl::StrCat("p", i), i % 11,
                                 static_cast<uint64_t>(i))
                    .ok());
  }
  EXPECT_TRUE(
      keyspace->SetDeadline({.ns = "lb", .key = "board"}, clock.Now() + absl::Hours(2)).ok());
  // A hash past the compact encoding.
  for (int i = 0; i < 300; ++i) {
    EXPECT_TRUE(keyspace->HashSet({.key = "big-hash"}, absl::StrCat("f", i), "v").ok());
  }
  // A stream trimmed empty keeps its last ID; a deleted consumer's pending entries stay its own.
  const KeyRef emptied{.key = "emptied"};
  EXPECT_TRUE(keyspace->StreamAppend(emptied, StreamId{5, 1}, {{"a", "b"}}).ok());
  EXPECT_TRUE(keyspace->StreamTrim(emptied, {.kind = StreamTrimPolicy::Kind::kMaxLength}).ok());
  const KeyRef queue{.key = "queue"};
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(keyspace->StreamAppend(queue, std::nullopt, {{"n", "1"}}).ok());
  EXPECT_TRUE(keyspace->StreamCreateGroup(queue, "g", kMinStreamId, false).ok());
  EXPECT_TRUE(keyspace->StreamReadGroup(queue, "g", "gone", 2).ok());
  EXPECT_TRUE(keyspace->StreamReadGroup(queue, "g", "idle", 1).ok());
  EXPECT_TRUE(keyspace->StreamDeleteConsumer(queue, "g", "gone").ok());
  EXPECT_TRUE(
      keyspace->Set({.ns = "t", .key = "ttl"}, "x", {.deadline = clock.Now() + absl::Hours(1)})
          .ok());
  return keyspace;
}

TEST(Snapshot, LoadsBackEveryValueAndEachShardsSequence) {
  FakeClock clock;
  FakeFileSystem fs;
  auto primary = Populated(clock);
  const SnapshotInfo written = WriteSnapshot(fs, *primary, kPath, 1234).value();
  EXPECT_EQ(written.shards, 4u);
  EXPECT_EQ(written.keys, primary->Stats().keys);
  EXPECT_EQ(written.bytes, fs.Contents(kPath).size());
  EXPECT_EQ(fs.Contents(std::string(kPath) + ".tmp"), "");

  for (uint32_t shards : {4u, 1u, 16u}) {
    auto loaded = Keyspace::Create({.shards = shards}, &clock).value();
    const SnapshotInfo info = LoadSnapshot(fs, kPath, *loaded, 2).value();
    EXPECT_EQ(Dump(*loaded), Dump(*primary)) << shards << " shards";
    EXPECT_EQ(loaded->Stats().keys_by_type, primary->Stats().keys_by_type);
    EXPECT_EQ(info.keys, written.keys);
    EXPECT_EQ(info.created_unix_ms, 1234);
    ASSERT_EQ(info.sequences.size(), 4u);
    for (uint32_t s = 0; s < 4; ++s) {
      EXPECT_EQ(info.sequences[s], primary->Stats().shards[s].sequence);
    }
  }
}

TEST(Snapshot, AnEmptyKeyspaceMakesAValidSnapshot) {
  FakeClock clock;
  FakeFileSystem fs;
  auto empty = Keyspace::Create({.shards = 2}, &clock).value();
  ASSERT_TRUE(WriteSnapshot(fs, *empty, kPath, 0).ok());
  auto loaded = Keyspace::Create({.shards = 2}, &clock).value();
  EXPECT_EQ(LoadSnapshot(fs, kPath, *loaded, 1).value().keys, 0u);
}

TEST(Snapshot, AnyDamageFailsClosedNamingTheFileAndOffset) {
  FakeClock clock;
  FakeFileSystem fs;
  auto primary = Keyspace::Create({.shards = 2}, &clock).value();
  ASSERT_TRUE(primary->Set({.key = "a"}, "value").ok());
  ASSERT_TRUE(primary->ZsetUpsert({.key = "z"}, {}, "m", 1, 0).ok());
  ASSERT_TRUE(WriteSnapshot(fs, *primary, kPath, 0).ok());
  const std::string good = fs.Contents(kPath);

  // Every flipped byte and every truncation is refused, never loaded or crashed on.
  for (size_t at = 0; at < good.size(); ++at) {
    std::string bad = good;
    bad[at] ^= 0x20;
    fs.Overwrite(kPath, bad);
    auto keyspace = Keyspace::Create({.shards = 2}, &clock).value();
    const absl::Status status = LoadSnapshot(fs, kPath, *keyspace, 1).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << "byte " << at;
    EXPECT_NE(status.message().find(absl::StrCat(kPath, " offset ")), std::string::npos)
        << status.message();
  }
  for (size_t size = 0; size < good.size(); ++size) {
    fs.Overwrite(kPath, good.substr(0, size));
    auto keyspace = Keyspace::Create({.shards = 2}, &clock).value();
    EXPECT_EQ(LoadSnapshot(fs, kPath, *keyspace, 1).status().code(), absl::StatusCode::kDataLoss)
        << "cut to " << size;
  }
  std::string flipped = good;
  flipped[good.size() / 2] ^= 1;
  fs.Overwrite(kPath, flipped);
  auto keyspace = Keyspace::Create({.shards = 2}, &clock).value();
  EXPECT_NE(LoadSnapshot(fs, kPath, *keyspace, 1).status().message().find("checksum"),
            std::string::npos);
}

TEST(Snapshot, AFailedWriteLeavesNoFileBehind) {
  FakeClock clock;
  FakeFileSystem fs;
  auto primary = Keyspace::Create({.shards = 2}, &clock).value();
  ASSERT_TRUE(primary->Set({.key = "a"}, "value").ok());
  fs.set_fail_syncs(true);
  EXPECT_FALSE(WriteSnapshot(fs, *primary, kPath, 0).ok());
  EXPECT_FALSE(fs.ReadFile(kPath).ok());
  EXPECT_FALSE(fs.ReadFile(std::string(kPath) + ".tmp").ok());
}

}  // namespace
}  // namespace hotpath

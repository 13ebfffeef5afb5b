// The data directory as a whole: fresh layout, restart, rewrite under concurrent writes,
// a rewrite interrupted at its riskiest step, shard count changes, disk faults, and the
// failure checklist (damaged earlier segment, bad base, foreign directory).
#include "persistence/store.h"

#include <atomic>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "engine/testing/keyspace_digest.h"
#include "engine/testing/random_workload.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persistence/testing/fake_file_system.h"

namespace hotpath {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kDir[] = "/data";

class StoreTest : public ::testing::Test {
 protected:
  // Opens the directory and recovers it into a fresh keyspace of `shards` shards.
  absl::StatusOr<DirectoryRecoveryStats> Start(uint32_t shards = 4, StoreOptions options = {}) {
    keyspace_.reset();
    store_.reset();
    options.dir = kDir;
    options.shards = shards;
    options.writer.fsync = FsyncPolicy::kAlways;
    options.writer.retry_interval = absl::Milliseconds(1);
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(&fs_, options);
    if (!store.ok()) return store.status();
    store_ = *std::move(store);
    keyspace_ = Keyspace::Create({.shards = shards}, &clock_, store_.get()).value();
    return store_->Recover(keyspace_.get());
  }

  absl::Status RewriteNow() {
    absl::Notification done;
    absl::Status result;
    store_->RequestRewrite([&](absl::Status status) {
      result = status;
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
    return result;
  }

  std::vector<std::string> Files() { return fs_.List(kDir).value(); }

  // Sets a key and waits until its record is in the segment.
  void SetDurably(const std::string& key, const std::string& value) {
    ASSERT_TRUE(keyspace_->Set({.key = key}, value).ok());
    absl::Notification done;
    store_->WhenDurable([&](absl::Status status) {
      EXPECT_TRUE(status.ok()) << status;
      done.Notify();
    });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  }

  FakeClock clock_;
  FakeFileSystem fs_;
  std::unique_ptr<Store> store_;  // before the keyspace, which reports to it
  std::unique_ptr<Keyspace> keyspace_;
};

TEST_F(StoreTest, AFreshDirectoryGetsAManifestAndOneSegmentAndRestartsWhole) {
  ASSERT_TRUE(Start().ok());
  EXPECT_THAT(Files(), ElementsAre("MANIFEST", "incr.1.aof"));
  std::mt19937_64 rng(1);
  RunRandomWorkload(keyspace_.get(), clock_, rng, 3'000);
  const auto before = Dump(*keyspace_);
  ASSERT_TRUE(store_->Close().ok());

  const auto stats = Start();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_FALSE(stats->base_loaded);
  EXPECT_GT(stats->records, 1'000u);
  EXPECT_EQ(Dump(*keyspace_), before);
}

TEST_F(StoreTest, RewriteUnderConcurrentWritesKeepsExactlyTheSameState) {
  ASSERT_TRUE(Start().ok());
  absl::BlockingCounter finished(8);
  std::mt19937_64 rng(2);
  std::thread writer([&] {
    for (int round = 0; round < 8; ++round) {
      RunRandomWorkload(keyspace_.get(), clock_, rng, 4'000);
      store_->RequestRewrite([&](absl::Status status) {
        EXPECT_TRUE(status.ok()) << status;
        finished.DecrementCount();
      });
    }
  });
  writer.join();
  finished.Wait();
  // The last base was written while the workload ran (or after its last write): the restart
  // below depends on the segment's records the base does not hold, and on skipping the rest.
  const auto before = Dump(*keyspace_);
  EXPECT_GE(store_->stats().rewrite.completed, 1u);
  ASSERT_TRUE(store_->Close().ok());
  // Only the newest base and segment are left.
  const std::vector<std::string> files = Files();
  ASSERT_EQ(files.size(), 3u) << testing::PrintToString(files);
  EXPECT_THAT(files[0], HasSubstr("MANIFEST"));

  const auto stats = Start();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(stats->base_loaded);
  EXPECT_EQ(Dump(*keyspace_), before);
}

TEST_F(StoreTest, WritesDuringTheSnapshotAreInTheBaseOrReplayedNeverTwice) {
  ASSERT_TRUE(Start(1).ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(keyspace_->IncrementBy({.key = "n"}, 1).ok());
  // A rewrite whose base is written while increments continue: every increment is counted
  // exactly once after a restart, whichever side of the shard image it fell on.
  std::thread writer([&] {
    for (int i = 0; i < 2'000; ++i) EXPECT_TRUE(keyspace_->IncrementBy({.key = "n"}, 1).ok());
  });
  const absl::Status rewrite = RewriteNow();  // joined before any assertion can return
  writer.join();
  ASSERT_TRUE(rewrite.ok()) << rewrite;
  ASSERT_TRUE(store_->Close().ok());
  const auto stats = Start(1);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(keyspace_->Get({.key = "n"}).value(), "2100");
  EXPECT_EQ(stats->records + stats->base.sequences[0], 2'100u);
}

TEST_F(StoreTest, ABoardChangingWhileItsImageIsEncodedRestartsExactly) {
  ASSERT_TRUE(Start(1).ok());
  // Large enough to be encoded from an image, outside the shard's lock (snapshot.cc).
  const SortedSetOptions board{.score_order = ScoreOrder::kDescending};
  for (int i = 0; i < 5'000; ++i) {
    ASSERT_TRUE(keyspace_->ZsetUpsert({.key = "board"}, board, absl::StrCat("p", i), i, 0).ok());
  }
  // New scores, new members and removals until the rewrite is done, racing the image's
  // encoding. Replaying them gives the same state whatever the image held, so this checks the
  // rewrite's integration; under ThreadSanitizer (make test-tsan) a write to a record the image
  // reads is reported, and SortedSetImage's tests check the image itself.
  absl::Notification rewritten;
  absl::Status rewrite;
  store_->RequestRewrite([&](absl::Status status) {
    rewrite = status;
    rewritten.Notify();
  });
  std::thread writer([&] {
    for (int i = 0; !rewritten.HasBeenNotified(); i = (i + 1) % 5'000) {
      EXPECT_TRUE(keyspace_->ZsetUpsert({.key = "board"}, board, absl::StrCat("p", i), -i, 0).ok());
      EXPECT_TRUE(keyspace_->ZsetUpsert({.key = "board"}, board, absl::StrCat("q", i), i, 0).ok());
      if (i % 10 == 0) {
        EXPECT_TRUE(keyspace_->ZsetRemove({.key = "board"}, absl::StrCat("p", i)).ok());
      }
    }
  });
  writer.join();
  ASSERT_TRUE(rewrite.ok()) << rewrite;
  const auto before = Dump(*keyspace_);
  ASSERT_TRUE(store_->Close().ok());
  const auto stats = Start(1);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(stats->base_loaded);
  EXPECT_EQ(Dump(*keyspace_), before);
}

TEST_F(StoreTest, ARewriteInterruptedBeforeItsBaseIsNamedLosesNothing) {
  ASSERT_TRUE(Start().ok());
  SetDurably("before", "1");
  fs_.FailRenamesTo(".rdb");  // the base is written but never gets its name
  const absl::Status failed = RewriteNow();
  EXPECT_THAT(failed.message(), HasSubstr("injected"));
  EXPECT_EQ(store_->stats().rewrite.failed, 1u);
  ASSERT_TRUE(keyspace_->Set({.key = "after"}, "2").ok());  // into the new segment
  ASSERT_TRUE(store_->Close().ok());
  fs_.Crash();
  EXPECT_THAT(Files(), ElementsAre("MANIFEST", "incr.1.aof", "incr.2.aof"));

  fs_.FailRenamesTo("");
  ASSERT_TRUE(Start().ok());
  EXPECT_EQ(keyspace_->Get({.key = "before"}).value(), "1");
  EXPECT_EQ(keyspace_->Get({.key = "after"}).value(), "2");
  ASSERT_TRUE(RewriteNow().ok());
  EXPECT_THAT(Files(), ElementsAre("MANIFEST", "base.3.rdb", "incr.3.aof"));
}

TEST_F(StoreTest, LeftoversOfAnInterruptedRewriteAreRemovedAtOpen) {
  ASSERT_TRUE(Start().ok());
  ASSERT_TRUE(store_->Close().ok());
  fs_.Overwrite("/data/base.7.rdb.tmp", "partial");
  fs_.Overwrite("/data/incr.9.aof", "never listed");
  ASSERT_TRUE(Start().ok());
  EXPECT_THAT(Files(), ElementsAre("MANIFEST", "incr.1.aof"));
}

TEST_F(StoreTest, AChangedShardCountIsRecoveredAndRewrittenBeforeLogging) {
  ASSERT_TRUE(Start(4).ok());
  std::mt19937_64 rng(3);
  RunRandomWorkload(keyspace_.get(), clock_, rng, 3'000);
  ASSERT_TRUE(RewriteNow().ok());
  RunRandomWorkload(keyspace_.get(), clock_, rng, 1'000);
  const auto before = Dump(*keyspace_);
  ASSERT_TRUE(store_->Close().ok());

  const auto changed = Start(16);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(changed->shard_count_changed);
  EXPECT_EQ(Dump(*keyspace_), before);
  EXPECT_THAT(fs_.Contents("/data/MANIFEST"), HasSubstr("shards 16\n"));
  RunRandomWorkload(keyspace_.get(), clock_, rng, 1'000);
  const auto after = Dump(*keyspace_);
  ASSERT_TRUE(store_->Close().ok());

  const auto again = Start(16);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->shard_count_changed);
  EXPECT_EQ(Dump(*keyspace_), after);
}

TEST_F(StoreTest, TheLogRewritesItselfPastItsGrowthThreshold) {
  ASSERT_TRUE(Start(4, {.rewrite_min_bytes = 4'096,
                        .rewrite_growth_percent = 100,
                        .rewrite_check_interval = absl::Milliseconds(1)})
                  .ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(keyspace_->Set({.key = absl::StrCat("k", i % 10)}, std::string(50, 'x')).ok());
  }
  ASSERT_TRUE(store_->AwaitRewrites(1, absl::Seconds(60)));
  const StoreStats stats = store_->stats();
  EXPECT_GE(stats.rewrite.completed, 1u);
  EXPECT_GT(stats.base_bytes, 0u);
}

TEST_F(StoreTest, FailingRewritesReuseTheirEmptySegmentInsteadOfPilingUpFiles) {
  ASSERT_TRUE(Start().ok());
  SetDurably("a", "1");
  fs_.FailRenamesTo(".rdb");
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(RewriteNow().ok());
  EXPECT_THAT(Files(), ElementsAre("MANIFEST", "incr.1.aof", "incr.2.aof"));
  fs_.FailRenamesTo("");
  ASSERT_TRUE(RewriteNow().ok());  // the empty last segment stays the one written
  EXPECT_THAT(Files(), ElementsAre("MANIFEST", "base.2.rdb", "incr.2.aof"));
  ASSERT_TRUE(store_->Close().ok());
  ASSERT_TRUE(Start().ok());
  EXPECT_EQ(keyspace_->Get({.key = "a"}).value(), "1");
}

TEST_F(StoreTest, AFirstStartCutShortBeforeItsManifestStartsAgain) {
  fs_.Overwrite("/data/incr.1.aof", "");  // created, then the process died
  ASSERT_TRUE(Start().ok());
  EXPECT_THAT(Files(), ElementsAre("MANIFEST", "incr.1.aof"));
}

TEST_F(StoreTest, ADiskFaultMakesTheStoreUnwritableUntilItHeals) {
  ASSERT_TRUE(Start().ok());
  EXPECT_TRUE(store_->CheckWritable().ok());
  fs_.set_fail_writes(true);
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "v").ok());
  absl::Notification failed;
  store_->WhenDurable([&](absl::Status status) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
    failed.Notify();
  });
  ASSERT_TRUE(failed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(store_->CheckWritable().code(), absl::StatusCode::kUnavailable);
  fs_.set_fail_writes(false);
  absl::Notification healed;
  store_->WhenDurable([&](absl::Status status) {
    EXPECT_TRUE(status.ok());
    healed.Notify();
  });
  ASSERT_TRUE(healed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(store_->CheckWritable().ok());
  ASSERT_TRUE(store_->Close().ok());
  ASSERT_TRUE(Start().ok());
  EXPECT_EQ(keyspace_->Get({.key = "k"}).value(), "v");
}

// A machine crash left a hole in the last segment's unsynced tail, with the rest of the
// write after it: the start cuts it like a torn tail (log_recovery.h) and reports it.
TEST_F(StoreTest, AHoleInTheLastSegmentsUnsyncedTailIsCutAndReported) {
  ASSERT_TRUE(Start().ok());
  SetDurably("a", "1");
  SetDurably("b", "2");
  fs_.HoldSyncs(true);
  ASSERT_TRUE(keyspace_->Set({.key = "c"}, "3").ok());
  absl::Notification acked;
  store_->WhenDurable([&](absl::Status) { acked.Notify(); });
  ASSERT_TRUE(fs_.AwaitHeldSync(absl::Seconds(30)));
  const std::string crashed = fs_.CrashedWithHole("/data/incr.1.aof", 4);
  ASSERT_FALSE(acked.HasBeenNotified());
  fs_.HoldSyncs(false);
  ASSERT_TRUE(acked.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(store_->Close().ok());
  fs_.Overwrite("/data/incr.1.aof", crashed);

  const auto stats = Start();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->torn_file, "/data/incr.1.aof");
  EXPECT_GT(stats->torn_bytes, 0u);
  EXPECT_THAT(stats->torn_problem, HasSubstr("past the last sync"));
  EXPECT_EQ(keyspace_->Get({.key = "b"}).value(), "2");
  EXPECT_EQ(keyspace_->Get({.key = "c"}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, DamageOutsideTheLastSegmentsTailRefusesToStart) {
  ASSERT_TRUE(Start().ok());
  SetDurably("a", "1");
  fs_.FailRenamesTo(".rdb");
  (void)RewriteNow();  // leaves segments 1 and 2 listed
  fs_.FailRenamesTo("");
  ASSERT_TRUE(keyspace_->Set({.key = "b"}, "2").ok());
  ASSERT_TRUE(store_->Close().ok());
  // A torn tail in the first segment cannot come from a crash: it is damage.
  fs_.Overwrite("/data/incr.1.aof", fs_.Contents("/data/incr.1.aof") + "torn");
  const auto stats = Start();
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stats.status().message(), HasSubstr("/data/incr.1.aof offset "));
}

TEST_F(StoreTest, ABaseWithABadChecksumRefusesToStart) {
  ASSERT_TRUE(Start().ok());
  SetDurably("a", "1");  // in the file, so the rewrite starts segment 2 and names its base 2
  ASSERT_TRUE(RewriteNow().ok());
  ASSERT_TRUE(store_->Close().ok());
  std::string base = fs_.Contents("/data/base.2.rdb");
  base[base.size() / 2] ^= 1;
  fs_.Overwrite("/data/base.2.rdb", base);
  const auto stats = Start();
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stats.status().message(), HasSubstr("/data/base.2.rdb offset"));
}

TEST_F(StoreTest, ADirectoryWithFilesButNoManifestIsNotTouched) {
  fs_.Overwrite("/data/appendonly.aof", "someone's data");
  const auto stats = Start();
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(stats.status().message(), HasSubstr("appendonly.aof but no MANIFEST"));
  EXPECT_THAT(Files(), ElementsAre("appendonly.aof"));
}

TEST_F(StoreTest, AMissingSegmentRefusesToStart) {
  ASSERT_TRUE(Start().ok());
  ASSERT_TRUE(store_->Close().ok());
  ASSERT_TRUE(fs_.Remove("/data/incr.1.aof").ok());
  EXPECT_THAT(Start().status().message(), HasSubstr("incr.1.aof, which is missing"));
}

}  // namespace
}  // namespace hotpath

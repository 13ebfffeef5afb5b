#include "persistence/aof_writer.h"

#include <pthread.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "engine/keyspace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persistence/record_format.h"
#include "persistence/testing/fake_file_system.h"

namespace hotpath {
namespace {

using ::testing::ElementsAre;

constexpr char kLog[] = "/data/appendonly.aof";
constexpr char kNextLog[] = "/data/next.aof";

// The records a log's bytes hold (not its sync marks), stopping at the first bad frame.
std::vector<Record> Records(const std::string& log) {
  std::vector<Record> records;
  FrameReader reader(log);
  for (auto frame = reader.Next(); frame.state == FrameReader::State::kRecord;
       frame = reader.Next()) {
    if (!IsSyncMark(frame.payload)) records.push_back(DecodeRecord(frame.payload).value());
  }
  return records;
}

// What a log holds, frame by frame: "r" for a record, the claim for a sync mark.
std::vector<std::string> Frames(const std::string& log) {
  std::vector<std::string> frames;
  FrameReader reader(log);
  for (auto frame = reader.Next(); frame.state == FrameReader::State::kRecord;
       frame = reader.Next()) {
    frames.push_back(IsSyncMark(frame.payload) ? absl::StrCat(DecodeSyncMark(frame.payload).value())
                                               : std::string("r"));
  }
  return frames;
}

class AofWriterTest : public ::testing::Test {
 protected:
  void Start(FsyncPolicy policy, absl::Duration interval = absl::Seconds(1),
             absl::Duration write_delay = absl::Milliseconds(2),
             size_t inline_ack_limit = AofWriterOptions().inline_ack_limit) {
    StartWith({.fsync = policy,
               .sync_interval = interval,
               .retry_interval = absl::Milliseconds(1),
               .write_delay = write_delay,
               .inline_ack_limit = inline_ack_limit});
  }
  void StartWith(const AofWriterOptions& options) {
    writer_ = std::make_unique<AofWriter>(fs_.OpenForAppend(kLog).value(), options);
    keyspace_ = Keyspace::Create({.shards = 4}, &clock_, writer_.get()).value();
  }

  // Sets a key and registers a waiter that notifies `acked`.
  void SetAndNotify(const std::string& key, absl::Notification* acked) {
    ASSERT_TRUE(keyspace_->Set({.key = key}, "v").ok());
    writer_->WhenDurable([acked](absl::Status status) {
      EXPECT_TRUE(status.ok());
      acked->Notify();
    });
  }

  // Under always with a group minimum of 2: a sync of one write, then one of two, so that the
  // writer's last group is two.
  void SyncGroupsOfOneThenTwo() {
    fs_.HoldSyncs(true);
    absl::Notification acked[3];
    SetAndNotify("g0", &acked[0]);
    ASSERT_TRUE(fs_.AwaitHeldSync(absl::Seconds(10)));  // a group of one is syncing
    SetAndNotify("g1", &acked[1]);
    SetAndNotify("g2", &acked[2]);
    fs_.HoldSyncs(false);
    for (auto& one : acked) ASSERT_TRUE(one.WaitForNotificationWithTimeout(absl::Seconds(30)));
  }

  // Sets a key and waits for its acknowledgement; returns the status it was acknowledged with.
  absl::Status SetAndWait(const std::string& key) {
    EXPECT_TRUE(keyspace_->Set({.key = key}, "v").ok());
    absl::Notification acked;
    absl::Status result;
    writer_->WhenDurable([&](absl::Status status) {
      result = status;
      acked.Notify();
    });
    EXPECT_TRUE(acked.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return result;
  }

  FakeClock clock_;
  FakeFileSystem fs_;
  std::unique_ptr<AofWriter> writer_;
  std::unique_ptr<Keyspace> keyspace_;
};

TEST(ParseFsyncPolicy, KnowsTheThreePolicies) {
  EXPECT_EQ(ParseFsyncPolicy("always").value(), FsyncPolicy::kAlways);
  EXPECT_EQ(ParseFsyncPolicy("everysec").value(), FsyncPolicy::kEverySecond);
  EXPECT_EQ(ParseFsyncPolicy("no").value(), FsyncPolicy::kNo);
  EXPECT_EQ(ParseFsyncPolicy("sometimes").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AofWriterTest, AWaiterEndsTheLingerOfUnwaitedRecords) {
  // Records would linger forever, and no periodic sync comes: only the waiter gets them out.
  Start(FsyncPolicy::kNo, absl::InfiniteDuration(), absl::InfiniteDuration());
  ASSERT_TRUE(keyspace_->Set({.key = "early"}, "v").ok());
  ASSERT_TRUE(SetAndWait("late").ok());
  const std::vector<Record> records = Records(fs_.Contents(kLog));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].key, "early");
  EXPECT_EQ(records[1].key, "late");
}

TEST_F(AofWriterTest, AlwaysNeverAcknowledgesBeforeTheSync) {
  Start(FsyncPolicy::kAlways);
  fs_.HoldSyncs(true);
  ASSERT_TRUE(keyspace_->Set({.key = "k"}, "v").ok());
  absl::Notification acked;
  writer_->WhenDurable([&](absl::Status status) {
    EXPECT_TRUE(status.ok());
    acked.Notify();
  });
  ASSERT_TRUE(fs_.AwaitHeldSync(absl::Seconds(30)));  // the record is written, its sync pending
  EXPECT_FALSE(acked.HasBeenNotified());  // so a crash now may lose it: it is not acknowledged
  fs_.HoldSyncs(false);
  ASSERT_TRUE(acked.WaitForNotificationWithTimeout(absl::Seconds(30)));
  fs_.Crash();  // once acknowledged, it survives
  EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 1u);
}

TEST_F(AofWriterTest, AlwaysKeepsEveryAcknowledgedWriteThroughACrash) {
  Start(FsyncPolicy::kAlways);
  std::atomic<int> acked{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (SetAndWait(absl::StrCat("t", t, "-", i)).ok()) ++acked;
      }
    });
  }
  for (auto& thread : writers) thread.join();
  ASSERT_EQ(acked.load(), 800);
  // Group commit: one fdatasync covers the records queued while the previous one ran.
  EXPECT_LE(fs_.syncs(), 800);
  fs_.Crash(/*keep_unsynced=*/0);
  EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 800u);
}

// The name of the thread the caller runs on.
std::string ThreadName() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

TEST_F(AofWriterTest, AlwaysAcknowledgesASmallBatchOnTheWriterAndALargerOneOnTheAckThread) {
  Start(FsyncPolicy::kAlways, absl::Seconds(1), absl::Milliseconds(2), /*inline_ack_limit=*/1);
  fs_.HoldSyncs(true);
  std::vector<std::string> threads(3);
  std::vector<absl::Notification> acked(3);
  auto set_and_wait = [&](int i) {
    ASSERT_TRUE(keyspace_->Set({.key = absl::StrCat("k", i)}, "v").ok());
    writer_->WhenDurable([&, i](absl::Status status) {
      EXPECT_TRUE(status.ok());
      threads[i] = ThreadName();
      acked[i].Notify();
    });
  };
  set_and_wait(0);
  // The first record's sync is under way; the next two wait for the one after it.
  ASSERT_TRUE(fs_.AwaitHeldSync(absl::Seconds(10)));
  set_and_wait(1);
  set_and_wait(2);
  fs_.HoldSyncs(false);
  for (auto& notification : acked) {
    ASSERT_TRUE(notification.WaitForNotificationWithTimeout(absl::Seconds(30)));
  }
  // A batch of one is within the limit; a batch of two is not.
  EXPECT_THAT(threads, ElementsAre("hp-aof-writer", "hp-aof-acks", "hp-aof-acks"));
}

TEST_F(AofWriterTest, AlwaysSyncsTheNextBatchWhileTheLastOneIsStillBeingAcknowledged) {
  // Every batch goes to the acknowledgement thread, as a batch over the limit does.
  Start(FsyncPolicy::kAlways, absl::Seconds(1), absl::Milliseconds(2), /*inline_ack_limit=*/0);
  ASSERT_TRUE(keyspace_->Set({.key = "first"}, "v").ok());
  absl::Notification acknowledging;
  absl::Notification release;
  writer_->WhenDurable([&](absl::Status status) {
    EXPECT_TRUE(status.ok());
    acknowledging.Notify();
    // Bounded so that a writer that waits for this callback fails the test instead of hanging.
    release.WaitForNotificationWithTimeout(absl::Seconds(30));
  });
  ASSERT_TRUE(acknowledging.WaitForNotificationWithTimeout(absl::Seconds(30)));
  fs_.HoldSyncs(true);
  ASSERT_TRUE(keyspace_->Set({.key = "second"}, "v").ok());
  absl::Notification second_acked;
  writer_->WhenDurable([&](absl::Status status) {
    EXPECT_TRUE(status.ok());
    second_acked.Notify();
  });
  // The first acknowledgement is still running, yet the second record's sync is under way.
  EXPECT_TRUE(fs_.AwaitHeldSync(absl::Seconds(10)));
  fs_.HoldSyncs(false);
  EXPECT_FALSE(second_acked.HasBeenNotified());  // callbacks run in order, one at a time
  release.Notify();
  ASSERT_TRUE(second_acked.WaitForNotificationWithTimeout(absl::Seconds(30)));
  fs_.Crash();
  EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 2u);
}

// Bounded: true once the writer has held `holds` syncs for a whole group.
bool AwaitGroupHolds(const AofWriter& writer, uint64_t holds) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (writer.stats().group_holds < holds) {
    if (absl::Now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

class AofWriterGroupTest : public AofWriterTest {
 protected:
  // A hold ends only by a whole group, Close or a rotation: the limit is far off.
  void StartHolding(size_t group_min_calls) {
    StartWith({.fsync = FsyncPolicy::kAlways,
               .group_min_calls = group_min_calls,
               .group_max_wait = absl::Hours(1)});
    SyncGroupsOfOneThenTwo();
  }

  // Holds a write (a group of two is due), then ends the hold with `end`: the write is
  // acknowledged, and in the first file (before a rotation point).
  void ExpectEndsAHold(const std::function<absl::Status()>& end) {
    StartHolding(2);
    absl::Notification acked;
    SetAndNotify("k3", &acked);
    ASSERT_TRUE(AwaitGroupHolds(*writer_, 1));
    ASSERT_TRUE(end().ok());
    ASSERT_TRUE(acked.WaitForNotificationWithTimeout(absl::Seconds(30)));
    fs_.Crash();
    EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 4u);
  }
};

TEST_F(AofWriterGroupTest, AlwaysHoldsTheNextSyncUntilAsManyWaitAsTheLastOneAnswered) {
  StartHolding(2);
  // The group of one was below the minimum, so nothing was held before.
  EXPECT_EQ(writer_->stats().group_holds, 0u);
  const int syncs = fs_.syncs();
  absl::Notification acked[2];
  SetAndNotify("k3", &acked[0]);
  ASSERT_TRUE(AwaitGroupHolds(*writer_, 1));  // one waiter of two: the sync waits
  EXPECT_FALSE(acked[0].HasBeenNotified());
  SetAndNotify("k4", &acked[1]);
  for (auto& one : acked) ASSERT_TRUE(one.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(fs_.syncs(), syncs + 1);  // one sync for both
  fs_.Crash();
  EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 5u);
}

TEST_F(AofWriterGroupTest, CloseEndsAHoldAndSyncsTheWaitingWrite) {
  ExpectEndsAHold([this] { return writer_->Close(); });
}

TEST_F(AofWriterGroupTest, ARotationEndsAHold) {
  ExpectEndsAHold([this] {
    return writer_->Rotate(fs_.OpenForAppend(kNextLog).value(), [] { return absl::OkStatus(); });
  });
}

TEST_F(AofWriterGroupTest, AMinimumOfZeroHoldsNothing) {
  StartHolding(0);
  absl::Notification acked;
  SetAndNotify("k3", &acked);  // a hold would last the hour
  ASSERT_TRUE(acked.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(writer_->stats().group_holds, 0u);
}

TEST_F(AofWriterTest, AHeldSyncGoesAheadWithoutAWholeGroup) {
  StartWith({.fsync = FsyncPolicy::kAlways,
             .group_min_calls = 2,
             .group_max_wait = absl::Milliseconds(1)});
  SyncGroupsOfOneThenTwo();
  // The group of two does not come again: the lone write is synced once the hold runs out.
  absl::Notification acked;
  SetAndNotify("k3", &acked);
  ASSERT_TRUE(acked.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(writer_->stats().group_holds, 1u);
}

TEST_F(AofWriterTest, EverySecAcknowledgesWhenWrittenAndSyncsOnItsInterval) {
  Start(FsyncPolicy::kEverySecond, absl::Milliseconds(20));
  fs_.HoldSyncs(true);  // syncs cannot finish, yet writes are acknowledged
  EXPECT_TRUE(SetAndWait("a").ok());
  EXPECT_EQ(fs_.syncs(), 0);
  EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 1u);  // written, not yet durable
  ASSERT_TRUE(fs_.AwaitHeldSync(absl::Seconds(30)));  // the interval's sync is under way
  fs_.HoldSyncs(false);
}

TEST_F(AofWriterTest, ADiskFaultFailsWaitersKeepsTheRecordsAndHeals) {
  Start(FsyncPolicy::kAlways);
  ASSERT_TRUE(SetAndWait("before").ok());
  fs_.set_fail_writes(true);
  const absl::Status failed = SetAndWait("during");
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(writer_->stats().healthy);
  EXPECT_NE(writer_->stats().last_error.find("injected write failure"), std::string::npos);

  fs_.set_fail_writes(false);
  EXPECT_TRUE(SetAndWait("after").ok());
  EXPECT_TRUE(writer_->stats().healthy);
  // Nothing was dropped or reordered: the log matches memory.
  const std::vector<Record> records = Records(fs_.Contents(kLog));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].key, "before");
  EXPECT_EQ(records[1].key, "during");
  EXPECT_EQ(records[2].key, "after");
}

TEST_F(AofWriterTest, AShortWriteIsCutAndWrittenAgainWhole) {
  Start(FsyncPolicy::kAlways);
  ASSERT_TRUE(SetAndWait("before").ok());
  fs_.FailNextAppendAfter(5);  // half a frame header reaches the file, then the disk fails
  // Acknowledged or failed depends on whether the retry beat the acknowledgement request.
  (void)SetAndWait("during");
  EXPECT_TRUE(SetAndWait("after").ok());
  EXPECT_EQ(writer_->stats().faults, 1u);
  fs_.Crash();
  // No fragment, no duplicate: the log reads cleanly to the end.
  const std::string log = fs_.Contents(kLog);
  FrameReader reader(log);
  std::vector<std::string> keys;
  for (auto frame = reader.Next(); frame.state == FrameReader::State::kRecord;
       frame = reader.Next()) {
    if (!IsSyncMark(frame.payload)) keys.push_back(DecodeRecord(frame.payload)->key);
  }
  EXPECT_EQ(reader.valid_bytes(), log.size());
  EXPECT_EQ(keys, (std::vector<std::string>{"before", "during", "after"}));
}

TEST_F(AofWriterTest, AfterAFailedSyncTheUnsyncedBytesAreWrittenAgain) {
  Start(FsyncPolicy::kEverySecond, absl::Milliseconds(1));
  ASSERT_TRUE(SetAndWait("a").ok());  // written; its sync comes on the interval
  fs_.set_fail_syncs(true);
  ASSERT_TRUE(keyspace_->Set({.key = "b"}, "v").ok());
  // Wait for the writer to notice the failed sync.
  absl::Notification unhealthy;
  std::thread watcher([&] {
    while (writer_->stats().healthy) {
      absl::Notification().WaitForNotificationWithTimeout(absl::Milliseconds(1));
    }
    unhealthy.Notify();
  });
  ASSERT_TRUE(unhealthy.WaitForNotificationWithTimeout(absl::Seconds(30)));
  watcher.join();
  fs_.set_fail_syncs(false);
  EXPECT_TRUE(SetAndWait("c").ok());
  ASSERT_TRUE(writer_->Close().ok());
  fs_.Crash();
  const std::vector<Record> records = Records(fs_.Contents(kLog));
  ASSERT_EQ(records.size(), 3u);  // each once, in order, after cut-and-rewrite
  EXPECT_EQ(records[0].key, "a");
  EXPECT_EQ(records[1].key, "b");
  EXPECT_EQ(records[2].key, "c");
}

TEST_F(AofWriterTest, AFailingDiskIsRetriedOnTheRetryIntervalNotInATightLoop) {
  writer_ = std::make_unique<AofWriter>(
      fs_.OpenForAppend(kLog).value(),
      AofWriterOptions{.fsync = FsyncPolicy::kAlways, .retry_interval = absl::Milliseconds(50)});
  keyspace_ = Keyspace::Create({.shards = 4}, &clock_, writer_.get()).value();
  fs_.set_fail_writes(true);
  EXPECT_EQ(SetAndWait("k").code(), absl::StatusCode::kUnavailable);
  // Over the next ~200 ms a tight loop would fail thousands of times; the interval allows ~5.
  absl::Notification().WaitForNotificationWithTimeout(absl::Milliseconds(200));
  EXPECT_LT(writer_->stats().faults, 20u);
  fs_.set_fail_writes(false);
  EXPECT_TRUE(SetAndWait("j").ok());
}

TEST_F(AofWriterTest, AFailedSyncUnderAlwaysIsNotAcknowledged) {
  Start(FsyncPolicy::kAlways);
  fs_.set_fail_syncs(true);
  EXPECT_EQ(SetAndWait("k").code(), absl::StatusCode::kUnavailable);
  fs_.set_fail_syncs(false);
  EXPECT_TRUE(SetAndWait("j").ok());
  fs_.Crash();
  EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 2u);
}

TEST_F(AofWriterTest, CloseWritesAndSyncsEverythingUnderAnyPolicy) {
  Start(FsyncPolicy::kNo);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(keyspace_->Set({.key = absl::StrCat(i)}, "v").ok());
  ASSERT_TRUE(writer_->Close().ok());
  fs_.Crash();
  EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 10u);
  absl::Notification late;
  writer_->WhenDurable([&](absl::Status status) {
    EXPECT_TRUE(status.ok());
    late.Notify();
  });
  EXPECT_TRUE(late.HasBeenNotified());  // after Close, at once
}

// The marks recovery tells a hole in the unsynced tail from damage to synced bytes by
// (log_recovery.h): the first write after each sync carries one, a write alone never does but
// at Close, and a reopened file's marks count the bytes it already held.
TEST_F(AofWriterTest, TheWriteAfterEachSyncMarksTheSyncedBytesAndCloseMarksTheLast) {
  Start(FsyncPolicy::kAlways);
  ASSERT_TRUE(SetAndWait("a").ok());
  const size_t after_a = fs_.Contents(kLog).size();
  ASSERT_TRUE(SetAndWait("b").ok());
  const size_t after_b = fs_.Contents(kLog).size();
  ASSERT_TRUE(writer_->Close().ok());
  EXPECT_THAT(Frames(fs_.Contents(kLog)),
              ElementsAre("r", "r", absl::StrCat(after_a), absl::StrCat(after_b)));
  EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 2u);

  // Reopened, the file is synced first, so the first write already covers what it held.
  const size_t closed = fs_.Contents(kLog).size();
  Start(FsyncPolicy::kAlways);  // the same file, as after a restart
  ASSERT_TRUE(SetAndWait("c").ok());
  const size_t after_c = fs_.Contents(kLog).size();
  ASSERT_TRUE(writer_->Close().ok());
  EXPECT_THAT(Frames(fs_.Contents(kLog).substr(closed)),
              ElementsAre("r", absl::StrCat(closed), absl::StrCat(after_c)));
}

// Under everysec the last records may be written before Close but not yet synced: Close syncs
// them, then marks them.
TEST_F(AofWriterTest, CloseMarksRecordsItsOwnSyncCoveredUnderEverySec) {
  Start(FsyncPolicy::kEverySecond, /*interval=*/absl::Hours(1));
  ASSERT_TRUE(SetAndWait("a").ok());  // written, not synced
  const size_t after_a = fs_.Contents(kLog).size();
  ASSERT_TRUE(writer_->Close().ok());
  EXPECT_THAT(Frames(fs_.Contents(kLog)), ElementsAre("r", absl::StrCat(after_a)));
}

// A new file's marks count its own bytes: the old file's claims end with it.
TEST_F(AofWriterTest, MarksStartAgainInTheFileARotationMovesTo) {
  constexpr char kNext[] = "/data/next.aof";
  Start(FsyncPolicy::kAlways);
  ASSERT_TRUE(SetAndWait("old").ok());
  ASSERT_TRUE(
      writer_->Rotate(fs_.OpenForAppend(kNext).value(), [] { return absl::OkStatus(); }).ok());
  ASSERT_TRUE(SetAndWait("b").ok());
  const size_t after_b = fs_.Contents(kNext).size();
  ASSERT_TRUE(SetAndWait("c").ok());
  const size_t after_c = fs_.Contents(kNext).size();
  ASSERT_TRUE(writer_->Close().ok());
  EXPECT_THAT(Frames(fs_.Contents(kNext)),
              ElementsAre("r", "r", absl::StrCat(after_b), absl::StrCat(after_c)));
}

TEST_F(AofWriterTest, ATornTailAfterACrashLeavesTheWholeRecordsReadable) {
  Start(FsyncPolicy::kNo);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(SetAndWait(absl::StrCat("k", i)).ok());
  fs_.Crash(/*keep_unsynced=*/13);  // nothing was synced: 13 bytes of the first record remain
  const std::string left = fs_.Contents(kLog);
  ASSERT_EQ(left.size(), 13u);
  FrameReader reader(left);
  EXPECT_EQ(reader.Next().state, FrameReader::State::kTornTail);
  EXPECT_EQ(reader.valid_bytes(), 0u);
}

TEST_F(AofWriterTest, AFaultInAReopenedLogCutsOnlyWhatThisWriterWrote) {
  Start(FsyncPolicy::kAlways);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(SetAndWait(absl::StrCat("before", i)).ok());
  ASSERT_TRUE(writer_->Close().ok());
  Start(FsyncPolicy::kAlways);  // the same file, as after a restart
  fs_.FailNextAppendAfter(5);
  EXPECT_EQ(SetAndWait("after").code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(SetAndWait("again").ok());  // the short write was cut and written again
  const std::vector<Record> records = Records(fs_.Contents(kLog));
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].key, "before0");
  EXPECT_EQ(records[3].key, "after");
}

TEST_F(AofWriterTest, RotateEndsTheFileSyncedAndCommitsBeforeTheNextFileGetsARecord) {
  constexpr char kNext[] = "/data/next.aof";
  Start(FsyncPolicy::kNo);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(keyspace_->Set({.key = absl::StrCat("old", i)}, "v").ok());
  bool committed = false;
  const absl::Status rotated =
      writer_->Rotate(fs_.OpenForAppend(kNext).value(), [&]() -> absl::Status {
        fs_.Crash();  // whatever the policy, the old file's records are synced by now
        EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 3u);
        // A record applied while the switch is committed waits, and goes to the new file.
        EXPECT_TRUE(keyspace_->Set({.key = "during"}, "v").ok());
        committed = true;
        return absl::OkStatus();
      });
  ASSERT_TRUE(rotated.ok()) << rotated;
  EXPECT_TRUE(committed);
  ASSERT_TRUE(keyspace_->Set({.key = "new"}, "v").ok());
  ASSERT_TRUE(writer_->Close().ok());
  EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 3u);
  const std::vector<Record> next = Records(fs_.Contents(kNext));
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].key, "during");
  EXPECT_EQ(next[1].key, "new");
}

TEST_F(AofWriterTest, AFailedCommitKeepsTheOldFile) {
  constexpr char kNext[] = "/data/next.aof";
  Start(FsyncPolicy::kEverySecond);
  ASSERT_TRUE(keyspace_->Set({.key = "a"}, "v").ok());
  const absl::Status rotated = writer_->Rotate(fs_.OpenForAppend(kNext).value(), [] {
    return absl::UnavailableError("manifest not written");
  });
  EXPECT_EQ(rotated.code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(SetAndWait("b").ok());
  ASSERT_TRUE(writer_->Close().ok());
  EXPECT_EQ(Records(fs_.Contents(kLog)).size(), 2u);
  EXPECT_EQ(fs_.Contents(kNext), "");
}

}  // namespace
}  // namespace hotpath

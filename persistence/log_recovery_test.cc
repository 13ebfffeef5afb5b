// The crash checklist for one log: torn tails (then append, crash and recover again), garbage
// in the middle, records that contradict the state.
#include "persistence/log_recovery.h"

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persistence/aof_writer.h"
#include "persistence/record_format.h"
#include "persistence/testing/fake_file_system.h"

namespace hotpath {
namespace {

using ::testing::HasSubstr;

constexpr char kLog[] = "/data/appendonly.aof";

// Where a log's whole records (not its sync marks) start and end.
struct Span {
  size_t begin = 0;
  size_t end = 0;
};
std::vector<Span> RecordSpans(const std::string& log) {
  std::vector<Span> spans;
  FrameReader reader(log);
  for (auto frame = reader.Next(); frame.state == FrameReader::State::kRecord;
       frame = reader.Next()) {
    if (!IsSyncMark(frame.payload)) spans.push_back({frame.offset, reader.valid_bytes()});
  }
  return spans;
}

class LogRecoveryTest : public ::testing::Test {
 protected:
  // A server start: recover the log, cutting what has to go, then open it for appends with
  // the recovered state in keyspace_.
  absl::StatusOr<LogRecoveryStats> Open() {
    const bool existed = fs_.ReadFile(kLog).ok();
    LogRecoveryStats stats;
    if (existed) {
      // As a start does, the cut comes before the writer opens the file.
      auto scratch = Keyspace::Create({.shards = 4}, &clock_).value();
      std::vector<uint64_t> applied(4, 0);
      absl::StatusOr<LogRecoveryStats> recovered =
          RecoverLog(fs_, kLog, *scratch, applied, TornTail::kCut);
      if (!recovered.ok()) return recovered.status();
      stats = *recovered;
    }
    writer_ = std::make_unique<AofWriter>(fs_.OpenForAppend(kLog).value(),
                                          AofWriterOptions{.fsync = FsyncPolicy::kAlways});
    keyspace_ = Keyspace::Create({.shards = 4}, &clock_, writer_.get()).value();
    if (existed) {
      // Replay records nothing of its own, so the writer only sees the new writes.
      std::vector<uint64_t> applied(4, 0);
      if (absl::Status replayed =
              RecoverLog(fs_, kLog, *keyspace_, applied, TornTail::kRefuse).status();
          !replayed.ok()) {
        return replayed;
      }
    }
    return stats;
  }

  // Writes `keys`, waiting for each one's acknowledgement under `always`.
  void Write(const std::vector<std::string>& keys) {
    for (const std::string& key : keys) {
      EXPECT_TRUE(keyspace_->IncrementBy({.key = key}, 1).ok());
      absl::Notification acked;
      writer_->WhenDurable([&](absl::Status s) {
        EXPECT_TRUE(s.ok());
        acked.Notify();
      });
      acked.WaitForNotification();
    }
  }

  // A server life: start, write `keys`, stop.
  absl::StatusOr<LogRecoveryStats> Life(const std::vector<std::string>& keys) {
    absl::StatusOr<LogRecoveryStats> stats = Open();
    if (!stats.ok()) return stats;
    Write(keys);
    EXPECT_TRUE(writer_->Close().ok());
    return stats;
  }

  // Recovers `path` into a fresh keyspace, as from an empty directory (no base).
  absl::StatusOr<LogRecoveryStats> RecoverFresh(const std::string& path, TornTail torn_tail) {
    auto keyspace = Keyspace::Create({.shards = 4}, &clock_).value();
    std::vector<uint64_t> applied(4, 0);
    return RecoverLog(fs_, path, *keyspace, applied, torn_tail);
  }

  FakeClock clock_;
  FakeFileSystem fs_;
  std::unique_ptr<AofWriter> writer_;  // declared first: the keyspace reports to it
  std::unique_ptr<Keyspace> keyspace_;
};

TEST_F(LogRecoveryTest, ACleanLogReplaysEveryRecord) {
  ASSERT_TRUE(Life({"a", "b", "c", "b"}).ok());
  auto stats = Life({});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 4u);
  EXPECT_EQ(stats->torn_bytes, 0u);
  EXPECT_EQ(keyspace_->Get({.key = "b"}).value(), "2");
}

TEST_F(LogRecoveryTest, ATornTailIsCutThenAppendCrashAndRecoverAgain) {
  ASSERT_TRUE(Life({"a", "b"}).ok());
  const std::string whole = fs_.Contents(kLog);
  fs_.Overwrite(kLog, whole + whole.substr(0, 11));  // a crash mid-append left 11 bytes
  auto first = Life({"c"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->records, 2u);
  EXPECT_EQ(first->torn_bytes, 11u);
  EXPECT_EQ(fs_.Contents(kLog).substr(0, whole.size()), whole);  // cut, then "c" appended

  // Crash again mid-append, recover again.
  fs_.Overwrite(kLog, fs_.Contents(kLog) + std::string("\x09\x00\x00", 3));
  auto second = Life({});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->records, 3u);
  EXPECT_EQ(second->torn_bytes, 3u);
  EXPECT_EQ(keyspace_->Get({.key = "c"}).value(), "1");
}

TEST_F(LogRecoveryTest, GarbageInTheMiddleRefusesToStartNamingTheOffset) {
  ASSERT_TRUE(Life({"a", "b", "c"}).ok());
  std::string log = fs_.Contents(kLog);
  const size_t second_record = RecordSpans(log)[1].begin;
  log[second_record + 10] ^= 0x5a;
  fs_.Overwrite(kLog, log);
  auto stats = Life({});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stats.status().message(),
              HasSubstr(absl::StrCat(kLog, " offset ", second_record, ": ")));
  EXPECT_EQ(fs_.Contents(kLog), log);  // nothing was cut or changed
}

TEST_F(LogRecoveryTest, WithoutTruncationATornTailIsOnlyReported) {
  ASSERT_TRUE(Life({"a"}).ok());
  const std::string torn = fs_.Contents(kLog) + "xyz";
  fs_.Overwrite(kLog, torn);
  auto stats = RecoverFresh(kLog, TornTail::kReport);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->torn_bytes, 3u);
  EXPECT_THAT(stats->torn_problem, HasSubstr("header"));
  EXPECT_EQ(fs_.Contents(kLog), torn);
}

TEST_F(LogRecoveryTest, AMissingLogIsNotFound) {
  EXPECT_EQ(RecoverFresh("/data/none.aof", TornTail::kCut).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(LogRecoveryTest, OutsideTheLastSegmentATornTailIsRefused) {
  ASSERT_TRUE(Life({"a"}).ok());
  fs_.Overwrite(kLog, fs_.Contents(kLog) + "xyz");
  const absl::Status status = RecoverFresh(kLog, TornTail::kRefuse).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("not the last"));
}

// Zeros a writer kept ahead of its appends (WritableFile::ZeroAhead), left by a crash: no
// record is in them, not even part of one, so they are cut without a torn-tail report.
TEST_F(LogRecoveryTest, AZeroTailIsCutQuietlyAndAppendsContinueAfterTheLastRecord) {
  ASSERT_TRUE(Life({"a", "b"}).ok());
  const std::string whole = fs_.Contents(kLog);
  fs_.Overwrite(kLog, whole + std::string(4096, '\0'));
  auto first = Life({"c"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->records, 2u);
  EXPECT_EQ(first->torn_bytes, 0u);
  EXPECT_EQ(first->torn_problem, "");
  EXPECT_EQ(first->zero_bytes, 4096u);
  // Cut, then "c" appended right after the last record.
  EXPECT_EQ(fs_.Contents(kLog).substr(0, whole.size()), whole);
  EXPECT_EQ(RecordSpans(fs_.Contents(kLog)).at(2).begin, whole.size());

  auto second = Life({});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->records, 3u);
  EXPECT_EQ(second->zero_bytes, 0u);
  EXPECT_EQ(keyspace_->Get({.key = "c"}).value(), "1");
}

TEST_F(LogRecoveryTest, APartRecordBeforeTheZerosIsATornTail) {
  ASSERT_TRUE(Life({"a"}).ok());
  const std::string whole = fs_.Contents(kLog);
  fs_.Overwrite(kLog, whole + whole.substr(0, 11) + std::string(4096, '\0'));
  auto stats = Life({});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->torn_bytes, 11u + 4096u);
  EXPECT_EQ(stats->zero_bytes, 0u);
  EXPECT_EQ(fs_.Contents(kLog), whole);
}

// A crash between a rotation's commit and the old file's close leaves its zeros in a segment
// that is no longer the last one.
TEST_F(LogRecoveryTest, OutsideTheLastSegmentAZeroTailIsAccepted) {
  ASSERT_TRUE(Life({"a"}).ok());
  const std::string zero_tailed = fs_.Contents(kLog) + std::string(4096, '\0');
  fs_.Overwrite(kLog, zero_tailed);
  auto stats = RecoverFresh(kLog, TornTail::kRefuse);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 1u);
  EXPECT_EQ(stats->zero_bytes, 4096u);
  EXPECT_EQ(fs_.Contents(kLog), zero_tailed);
}

// A machine crash can leave a hole in the unsynced tail: a later page of it reached the disk,
// an earlier one did not. The sync marks show the hole lies past every synced byte, so it goes
// like a torn tail, and nothing acknowledged under `always` goes with it.
TEST_F(LogRecoveryTest, AHoleInTheUnsyncedTailIsCutAndAppendsContinueAfterIt) {
  ASSERT_TRUE(Life({"a", "b"}).ok());
  ASSERT_TRUE(Open().ok());
  Write({"c", "d"});
  const size_t synced = fs_.Contents(kLog).size();
  fs_.HoldSyncs(true);
  ASSERT_TRUE(keyspace_->IncrementBy({.key = "e"}, 1).ok());
  std::atomic<bool> acked{false};
  writer_->WhenDurable([&](absl::Status) { acked = true; });
  ASSERT_TRUE(fs_.AwaitHeldSync(absl::Seconds(30)));  // "e" and a mark are written, not synced
  // The crash: the first bytes of "e" never reached the disk, the rest of the write did.
  const std::string crashed = fs_.CrashedWithHole(kLog, 5);
  EXPECT_FALSE(acked);
  fs_.HoldSyncs(false);
  ASSERT_TRUE(writer_->Close().ok());
  keyspace_.reset();
  fs_.Overwrite(kLog, crashed);

  auto first = Life({"f"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->records, 4u);
  EXPECT_EQ(first->torn_bytes, crashed.size() - synced);
  EXPECT_THAT(first->torn_problem, HasSubstr("past the last sync"));
  EXPECT_EQ(fs_.Contents(kLog).substr(0, synced), crashed.substr(0, synced));
  EXPECT_FALSE(keyspace_->Get({.key = "e"}).ok());

  auto second = Life({});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->records, 5u);
  EXPECT_EQ(second->torn_bytes, 0u);
  EXPECT_EQ(keyspace_->Get({.key = "f"}).value(), "1");
}

// Damage to bytes a mark says were synced is no crash's doing, whatever follows it.
TEST_F(LogRecoveryTest, DamageToSyncedBytesRefusesToStartEvenWhereAHoleWouldBeCut) {
  ASSERT_TRUE(Life({"a", "b", "c"}).ok());
  std::string log = fs_.Contents(kLog);
  const Span last = RecordSpans(log).back();
  // Even the last record is behind a mark: Close marks the bytes of its last sync.
  std::fill(log.begin() + last.begin, log.begin() + last.end, '\0');
  fs_.Overwrite(kLog, log);
  auto stats = Life({});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stats.status().message(),
              HasSubstr(absl::StrCat(kLog, " offset ", last.begin, ": ")));
  EXPECT_THAT(stats.status().message(), HasSubstr("bytes were synced"));
  EXPECT_EQ(fs_.Contents(kLog), log);
}

// Without a mark nothing says where the synced bytes end: a hole with records after it is
// refused, as it is outside the last segment.
TEST_F(LogRecoveryTest, AHoleIsRefusedWithoutAMarkOrOutsideTheLastSegment) {
  ASSERT_TRUE(Life({"a"}).ok());
  const std::string log = fs_.Contents(kLog);
  const Span record = RecordSpans(log).front();
  const std::string unmarked = std::string(record.end - record.begin, '\0') +
                               log.substr(record.begin, record.end - record.begin);
  fs_.Overwrite(kLog, unmarked);
  EXPECT_EQ(RecoverFresh(kLog, TornTail::kCut).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(fs_.Contents(kLog), unmarked);

  // A mark claiming nothing past the hole, then the hole and a record: cut in the last segment,
  // refused in any other.
  std::string marked;
  AppendFrame(EncodeSyncMark(0), &marked);
  marked += unmarked;
  fs_.Overwrite(kLog, marked);
  const absl::Status refused = RecoverFresh(kLog, TornTail::kRefuse).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(fs_.Contents(kLog), marked);
  auto cut = RecoverFresh(kLog, TornTail::kCut);
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_EQ(cut->records, 0u);
  EXPECT_EQ(fs_.Contents(kLog).size(), marked.size() - unmarked.size());
}

TEST_F(LogRecoveryTest, RecordsInTheBaseAreSkippedAndAGapIsRefused) {
  ASSERT_TRUE(Life({"a", "a", "a"}).ok());  // three records of one shard: 1, 2, 3
  const uint32_t shard = keyspace_->ShardOf({.key = "a"});
  {
    auto keyspace = Keyspace::Create({.shards = 4}, &clock_).value();
    std::vector<uint64_t> applied(4, 0);
    applied[shard] = 2;  // a base that holds records 1 and 2
    auto stats = RecoverLog(fs_, kLog, *keyspace, applied, TornTail::kCut);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->skipped, 2u);
    EXPECT_EQ(stats->records, 1u);
    EXPECT_EQ(applied[shard], 3u);
  }
  // Drop the second record: the third no longer follows on.
  std::string log = fs_.Contents(kLog);
  const std::vector<Span> spans = RecordSpans(log);
  const Span second = spans[1];
  fs_.Overwrite(kLog, log.substr(0, second.begin) + log.substr(second.end));
  const absl::Status status = RecoverFresh(kLog, TornTail::kCut).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  const size_t third = spans[2].begin - (second.end - second.begin);
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat(kLog, " offset ", third, ": sequence gap: record 3")));
}

}  // namespace
}  // namespace hotpath

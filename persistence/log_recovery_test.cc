// The crash checklist for one log: torn tails (then append, crash and recover again), garbage
// in the middle, records that contradict the state.
#include "persistence/log_recovery.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persistence/aof_writer.h"
#include "persistence/testing/fake_file_system.h"

namespace hotpath {
namespace {

using ::testing::HasSubstr;

constexpr char kLog[] = "/data/appendonly.aof";

class LogRecoveryTest : public ::testing::Test {
 protected:
  // A server life: open the log, recover it into the keyspace, write `keys` with
  // acknowledgements under `always`, stop.
  absl::StatusOr<LogRecoveryStats> Life(const std::vector<std::string>& keys) {
    const bool existed = fs_.ReadFile(kLog).ok();
    writer_ = std::make_unique<AofWriter>(fs_.OpenForAppend(kLog).value(),
                                          AofWriterOptions{.fsync = FsyncPolicy::kAlways});
    keyspace_ = Keyspace::Create({.shards = 4}, &clock_, writer_.get()).value();
    LogRecoveryStats stats;
    if (existed) {
      // Replay records nothing of its own, so the writer only sees the new writes.
      std::vector<uint64_t> applied(4, 0);
      absl::StatusOr<LogRecoveryStats> recovered =
          RecoverLog(fs_, kLog, *keyspace_, applied, TornTail::kCut);
      if (!recovered.ok()) return recovered.status();
      stats = *recovered;
    }
    for (const std::string& key : keys) {
      EXPECT_TRUE(keyspace_->IncrementBy({.key = key}, 1).ok());
      absl::Notification acked;
      writer_->WhenDurable([&](absl::Status s) {
        EXPECT_TRUE(s.ok());
        acked.Notify();
      });
      acked.WaitForNotification();
    }
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
  const size_t second_record = log.size() / 3;  // the records are the same size
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
  EXPECT_EQ(fs_.Contents(kLog).size(), whole.size() + whole.size() / 2);  // cut, "c" appended

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
  const size_t record = log.size() / 3;
  fs_.Overwrite(kLog, log.substr(0, record) + log.substr(2 * record));
  const absl::Status status = RecoverFresh(kLog, TornTail::kCut).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat(kLog, " offset ", record, ": sequence gap: record 3")));
}

}  // namespace
}  // namespace hotpath

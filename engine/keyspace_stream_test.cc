// Streams through the Keyspace: after-images, the append observer, memory accounting.
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

// Reads the stream back from inside the callback: this deadlocks (and the test times out)
// unless the observer runs outside the shard lock.
class ReadingObserver : public KeyspaceObserver {
 public:
  void OnStreamAppend(const KeyRef& key, StreamId id) override {
    seen.push_back(id.ToString());
    lengths.push_back(keyspace->StreamRead(key, [](const Stream& s) { return s.size(); }).value());
  }
  Keyspace* keyspace = nullptr;
  std::vector<std::string> seen;
  std::vector<uint64_t> lengths;
};

class KeyspaceStreamTest : public ::testing::Test {
 protected:
  KeyspaceStreamTest()
      : clock_(absl::FromUnixMillis(5'000)),
        keyspace_(Keyspace::Create({.shards = 4}, &clock_, &sink_, &observer_).value()) {
    observer_.keyspace = keyspace_.get();
  }

  std::vector<MutationKind> Kinds() const {
    std::vector<MutationKind> kinds;
    for (const auto& r : sink_.records()) kinds.push_back(r.kind);
    return kinds;
  }

  FakeClock clock_;
  RecordingSink sink_;
  ReadingObserver observer_;
  std::unique_ptr<Keyspace> keyspace_;
  const KeyRef key_{.ns = "app", .key = "orders"};
};

TEST_F(KeyspaceStreamTest, AppendsAreRecordedAndObservedOutsideTheLock) {
  EXPECT_EQ(keyspace_->StreamAppend(key_, std::nullopt, {{"sku", "A1"}}).value(),
            (StreamId{5'000, 0}));
  EXPECT_EQ(keyspace_->StreamAppend(key_, std::nullopt, {{"sku", "B2"}}).value(),
            (StreamId{5'000, 1}));
  EXPECT_THAT(observer_.seen, ElementsAre("5000-0", "5000-1"));
  EXPECT_THAT(observer_.lengths, ElementsAre(1u, 2u));  // the entry is visible when told
  const auto records = sink_.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].kind, MutationKind::kStreamAppend);
  EXPECT_EQ(records[1].stream_id, (StreamId{5'000, 1}));
  EXPECT_EQ(records[1].stream_fields, (StreamFields{{"sku", "B2"}}));
  EXPECT_EQ(keyspace_->Type(key_).value(), ValueType::kStream);
}

TEST_F(KeyspaceStreamTest, RejectedAppendsChangeNothing) {
  EXPECT_EQ(keyspace_->StreamAppend(key_, StreamId{0, 0}, {{"f", "v"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(keyspace_->Exists(key_).value());
  EXPECT_EQ(keyspace_->StreamAppend(key_, std::nullopt, {{"", "v"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(keyspace_->Set({.key = "s"}, "text").ok());
  EXPECT_EQ(keyspace_->StreamAppend({.key = "s"}, std::nullopt, {{"f", "v"}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(sink_.records().size() == 1u);  // only the Set
  EXPECT_TRUE(observer_.seen.empty());
}

TEST_F(KeyspaceStreamTest, TrimOnAppendRecordsTheNewFirstId) {
  const StreamTrimPolicy keep_two{.kind = StreamTrimPolicy::Kind::kMaxLength, .max_length = 2};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(
        keyspace_->StreamAppend(key_, std::nullopt, {{"i", std::to_string(i)}}, keep_two).ok());
  }
  EXPECT_EQ(keyspace_->StreamRead(key_, [](const Stream& s) { return s.size(); }).value(), 2u);
  const auto records = sink_.records();
  EXPECT_EQ(records.back().kind, MutationKind::kStreamTrim);
  EXPECT_EQ(records.back().stream_id, (StreamId{5'000, 2}));
}

TEST_F(KeyspaceStreamTest, ConsumerGroupChangesAreAfterImages) {
  ASSERT_TRUE(keyspace_->StreamCreateGroup(key_, "billing", kMinStreamId, true).ok());
  ASSERT_TRUE(keyspace_->StreamAppend(key_, std::nullopt, {{"n", "1"}}).ok());
  ASSERT_TRUE(keyspace_->StreamAppend(key_, std::nullopt, {{"n", "2"}}).ok());
  auto delivered = keyspace_->StreamReadGroup(key_, "billing", "w1", 10).value();
  ASSERT_EQ(delivered.size(), 2u);
  clock_.Advance(absl::Seconds(60));
  auto claimed =
      keyspace_->StreamAutoClaim(key_, "billing", "w2", /*min_idle_ms=*/30'000, kMinStreamId, 1)
          .value();
  ASSERT_EQ(claimed.claimed.size(), 1u);
  EXPECT_EQ(keyspace_->StreamAck(key_, "billing", {delivered[0].id, delivered[1].id}).value(), 2u);
  EXPECT_EQ(keyspace_->StreamDeleteConsumer(key_, "billing", "w1").value(), 0u);
  ASSERT_TRUE(keyspace_->StreamDestroyGroup(key_, "billing").ok());

  // A consumer's first read or claim records that it exists, even if nothing is delivered.
  EXPECT_THAT(Kinds(), ElementsAre(MutationKind::kGroupCreate, MutationKind::kStreamAppend,
                                   MutationKind::kStreamAppend, MutationKind::kConsumerCreate,
                                   MutationKind::kGroupDeliver, MutationKind::kGroupDeliver,
                                   MutationKind::kConsumerCreate, MutationKind::kGroupDeliver,
                                   MutationKind::kGroupAck, MutationKind::kGroupAck,
                                   MutationKind::kConsumerDelete, MutationKind::kGroupDestroy));
  const auto records = sink_.records();
  EXPECT_EQ(records[3].consumer, "w1");
  const RecordedMutation& claim = records[7];
  EXPECT_EQ(claim.consumer, "w2");
  EXPECT_EQ(claim.delivery_count, 2u);  // the after-image: second delivery
  EXPECT_EQ(claim.delivery_ms, 65'000);
  EXPECT_EQ(claim.group, "billing");
}

TEST_F(KeyspaceStreamTest, AnEntryLargerThanTheLimitIsRejected) {
  StreamFields fields;
  for (int i = 0; i < 5; ++i)
    fields.push_back({absl::StrCat("f", i), std::string(kMaxValueBytes, 'x')});
  EXPECT_EQ(keyspace_->StreamAppend(key_, std::nullopt, fields).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(keyspace_->Exists(key_).value());
}

TEST_F(KeyspaceStreamTest, NegativeMaxAgeIsRejected) {
  ASSERT_TRUE(keyspace_->StreamAppend(key_, std::nullopt, {{"f", "v"}}).ok());
  const StreamTrimPolicy bad{.kind = StreamTrimPolicy::Kind::kMaxAge, .max_age_ms = -1};
  EXPECT_EQ(keyspace_->StreamTrim(key_, bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(keyspace_->StreamAppend(key_, std::nullopt, {{"f", "v"}}, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(keyspace_->StreamRead(key_, [](const Stream& s) { return s.size(); }).value(), 1u);
}

TEST_F(KeyspaceStreamTest, GroupsNeedAStreamUnlessAskedToMakeOne) {
  EXPECT_EQ(keyspace_->StreamCreateGroup(key_, "g", std::nullopt, false).code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(keyspace_->Exists(key_).value());
  ASSERT_TRUE(keyspace_->StreamCreateGroup(key_, "g", std::nullopt, true).ok());
  EXPECT_EQ(keyspace_->StreamCreateGroup(key_, "g", std::nullopt, true).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(keyspace_->StreamReadGroup(key_, "missing", "c", 1).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(KeyspaceStreamTest, MemoryFollowsTheStream) {
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(
        keyspace_->StreamAppend(key_, std::nullopt, {{"payload", std::string(100, 'x')}}).ok());
  }
  const uint64_t full = keyspace_->Stats().memory_bytes;
  EXPECT_GT(full, 500u * 100);
  ASSERT_TRUE(
      keyspace_->StreamTrim(key_, {.kind = StreamTrimPolicy::Kind::kMaxLength, .max_length = 10})
          .ok());
  EXPECT_LT(keyspace_->Stats().memory_bytes, full / 10);
  ASSERT_TRUE(keyspace_->Delete(key_).value());
  EXPECT_EQ(keyspace_->Stats().memory_bytes, 0u);
}

}  // namespace
}  // namespace hotpath

#include "engine/stream/stream.h"

#include <algorithm>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

StreamFields Fields(const std::string& v) { return {{"v", v}}; }

std::vector<std::string> Ids(const std::vector<StreamEntry>& entries) {
  std::vector<std::string> ids;
  for (const auto& e : entries) ids.push_back(e.id.ToString());
  return ids;
}

TEST(StreamId, ParsesAndPrints) {
  EXPECT_EQ(StreamId::Parse("1700000000000-5").value(), (StreamId{1700000000000, 5}));
  EXPECT_EQ(StreamId::Parse("42").value(), (StreamId{42, 0}));
  for (const char* bad : {"", "-1", "1-", "a-b", "1-2-3", "+5", "5 ", "5- 1", " 5"}) {
    EXPECT_FALSE(StreamId::Parse(bad).ok()) << bad;
  }
  EXPECT_EQ((StreamId{7, 9}).ToString(), "7-9");
  EXPECT_LT((StreamId{1, 9}), (StreamId{2, 0}));
}

TEST(Stream, AutoIdsIncreaseEvenWhenTheClockGoesBack) {
  Stream stream;
  EXPECT_EQ(stream.Append(std::nullopt, Fields("a"), 1000).value(), (StreamId{1000, 0}));
  EXPECT_EQ(stream.Append(std::nullopt, Fields("b"), 1000).value(), (StreamId{1000, 1}));
  EXPECT_EQ(stream.Append(std::nullopt, Fields("c"), 900).value(), (StreamId{1000, 2}));
  EXPECT_EQ(stream.Append(std::nullopt, Fields("d"), 1001).value(), (StreamId{1001, 0}));
  EXPECT_EQ(stream.size(), 4u);
}

TEST(Stream, ExplicitIdsMustIncrease) {
  Stream stream;
  EXPECT_EQ(stream.Append(StreamId{0, 0}, Fields("x"), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(stream.Append(StreamId{5, 1}, Fields("x"), 0).ok());
  auto same = stream.Append(StreamId{5, 1}, Fields("y"), 0);
  EXPECT_THAT(same.status().message(), HasSubstr("must be greater than the last, 5-1"));
  EXPECT_FALSE(stream.Append(StreamId{4, 9}, Fields("y"), 0).ok());
  EXPECT_TRUE(stream.Append(StreamId{5, 2}, Fields("y"), 0).ok());
  EXPECT_EQ(stream.Append(kMaxStreamId, Fields("y"), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(stream.Append(StreamId{UINT64_MAX, UINT64_MAX - 1}, Fields("z"), 0).ok());
  EXPECT_EQ(stream.TrimToLength(0).removed, 3u);  // "everything" still has a bound
  EXPECT_EQ(stream.size(), 0u);
  EXPECT_EQ(stream.Append(std::nullopt, {}, 10).status().code(),
            absl::StatusCode::kInvalidArgument);  // no fields
}

TEST(Stream, RangesReadForwardBackwardAndAfter) {
  Stream stream;
  for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(stream.Append(StreamId{i, 0}, Fields("x"), 0).ok());
  EXPECT_THAT(Ids(stream.Range(StreamId{2, 0}, StreamId{4, 0}, 10)),
              ElementsAre("2-0", "3-0", "4-0"));
  EXPECT_THAT(Ids(stream.Range(kMinStreamId, kMaxStreamId, 2)), ElementsAre("1-0", "2-0"));
  EXPECT_THAT(Ids(stream.ReverseRange(StreamId{4, 0}, StreamId{2, 0}, 10)),
              ElementsAre("4-0", "3-0", "2-0"));
  EXPECT_THAT(Ids(stream.ReverseRange(kMaxStreamId, kMinStreamId, 2)), ElementsAre("5-0", "4-0"));
  EXPECT_THAT(Ids(stream.ReadAfter(StreamId{3, 0}, 10)), ElementsAre("4-0", "5-0"));
  EXPECT_TRUE(stream.ReadAfter(StreamId{5, 0}, 10).empty());
  EXPECT_EQ(stream.Range(StreamId{2, 0}, StreamId{2, 0}, 1)[0].fields, Fields("x"));
}

TEST(Stream, CountAfterAgreesWithReadAfterAcrossChunksAndTrims) {
  Stream stream;
  const uint64_t n = 3 * Stream::kChunkEntries + 17;
  for (uint64_t i = 1; i <= n; ++i) ASSERT_TRUE(stream.Append(StreamId{i, 0}, Fields("x"), 0).ok());
  stream.TrimBefore(StreamId{40, 0});  // a chunk with trimmed entries at its front
  for (uint64_t after : {uint64_t{0}, uint64_t{39}, uint64_t{40}, uint64_t{127}, uint64_t{128},
                         uint64_t{129}, uint64_t{300}, n - 1, n, n + 5}) {
    for (uint64_t limit : {uint64_t{1}, uint64_t{50}, uint64_t{1000}}) {
      EXPECT_EQ(stream.CountAfter(StreamId{after, 0}, limit),
                stream.ReadAfter(StreamId{after, 0}, limit).size())
          << "after " << after << " limit " << limit;
    }
  }
  EXPECT_EQ(stream.IdAt(0), (StreamId{40, 0}));
  EXPECT_EQ(stream.IdAt(stream.size() - 1), (StreamId{n, 0}));
}

TEST(Stream, TrimmingByLengthIdAndAgeKeepsTheNewest) {
  Stream stream;
  for (uint64_t i = 1; i <= 10; ++i) {
    ASSERT_TRUE(stream.Append(StreamId{i * 1000, 0}, Fields("x"), 0).ok());
  }
  EXPECT_EQ(stream.TrimToLength(8).removed, 2u);
  EXPECT_EQ(stream.first_id(), (StreamId{3000, 0}));
  EXPECT_EQ(stream.TrimBefore(StreamId{5000, 0}).removed, 2u);
  EXPECT_EQ(stream.first_id(), (StreamId{5000, 0}));
  EXPECT_EQ(stream.TrimOlderThan(/*max_age_ms=*/2000, /*now_ms=*/9500).removed, 3u);
  EXPECT_EQ(stream.first_id(), (StreamId{8000, 0}));
  EXPECT_EQ(stream.TrimToLength(100).removed, 0u);
  EXPECT_EQ(stream.TrimToLength(0).removed, 3u);
  EXPECT_EQ(stream.size(), 0u);
  EXPECT_EQ(stream.last_id(), (StreamId{10000, 0}));  // IDs never go back after trimming
  EXPECT_FALSE(stream.Append(StreamId{10000, 0}, Fields("x"), 0).ok());
}

class GroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (uint64_t i = 1; i <= 6; ++i) {
      ASSERT_TRUE(stream_.Append(StreamId{i, 0}, Fields(std::to_string(i)), 0).ok());
    }
  }
  Stream stream_;
};

TEST_F(GroupTest, DeliversEachEntryOnceAcrossConsumers) {
  ASSERT_TRUE(stream_.CreateGroup("workers", kMinStreamId).ok());
  EXPECT_EQ(stream_.CreateGroup("workers", kMinStreamId).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(Ids(stream_.ReadGroup("workers", "a", 2, 100).value()), ElementsAre("1-0", "2-0"));
  EXPECT_THAT(Ids(stream_.ReadGroup("workers", "b", 10, 100).value()),
              ElementsAre("3-0", "4-0", "5-0", "6-0"));
  EXPECT_TRUE(stream_.ReadGroup("workers", "a", 10, 100).value().empty());
  ASSERT_TRUE(stream_.Append(std::nullopt, Fields("7"), 7).ok());
  EXPECT_THAT(Ids(stream_.ReadGroup("workers", "a", 10, 100).value()), ElementsAre("7-0"));
  EXPECT_EQ(stream_.ReadGroup("nope", "a", 1, 0).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(GroupTest, AGroupCreatedAtTheEndSeesOnlyNewEntries) {
  ASSERT_TRUE(stream_.CreateGroup("live", stream_.last_id()).ok());
  EXPECT_TRUE(stream_.ReadGroup("live", "a", 10, 0).value().empty());
  ASSERT_TRUE(stream_.Append(std::nullopt, Fields("new"), 50).ok());
  EXPECT_THAT(Ids(stream_.ReadGroup("live", "a", 10, 0).value()), ElementsAre("50-0"));
}

TEST_F(GroupTest, PendingUntilAcknowledged) {
  ASSERT_TRUE(stream_.CreateGroup("g", kMinStreamId).ok());
  ASSERT_TRUE(stream_.ReadGroup("g", "a", 3, 100).ok());
  ASSERT_TRUE(stream_.ReadGroup("g", "b", 1, 200).ok());
  PendingSummary summary = stream_.Pending("g").value();
  EXPECT_EQ(summary.count, 4u);
  EXPECT_EQ(summary.first, (StreamId{1, 0}));
  EXPECT_EQ(summary.last, (StreamId{4, 0}));
  EXPECT_EQ(summary.per_consumer["a"], 3u);
  EXPECT_EQ(summary.per_consumer["b"], 1u);

  EXPECT_EQ(stream_.Ack("g", {StreamId{1, 0}, StreamId{2, 0}, StreamId{99, 0}}).value(), 2u);
  EXPECT_EQ(stream_.Ack("g", {StreamId{1, 0}}).value(), 0u);  // twice is harmless
  auto detail =
      stream_.PendingDetail("g", kMinStreamId, kMaxStreamId, 10, "", /*min_idle_ms=*/0, 300);
  ASSERT_EQ(detail.value().size(), 2u);
  EXPECT_EQ(detail.value()[0].id, (StreamId{3, 0}));
  EXPECT_EQ(detail.value()[0].consumer, "a");
  EXPECT_EQ(detail.value()[0].delivery_count, 1u);
  EXPECT_EQ(detail.value()[0].last_delivery_ms, 100);
  // Only b's, and only entries idle for 150 ms by now = 300: b's was delivered at 200.
  EXPECT_TRUE(
      stream_.PendingDetail("g", kMinStreamId, kMaxStreamId, 10, "b", 150, 300).value().empty());
  EXPECT_EQ(
      stream_.PendingDetail("g", kMinStreamId, kMaxStreamId, 10, "a", 150, 300).value().size(), 1u);
}

TEST_F(GroupTest, IdleEntriesCanBeClaimedAndCountDeliveries) {
  ASSERT_TRUE(stream_.CreateGroup("g", kMinStreamId).ok());
  ASSERT_TRUE(stream_.ReadGroup("g", "crashed", 3, 1000).ok());
  // Not idle long enough yet.
  EXPECT_TRUE(
      stream_.AutoClaim("g", "rescuer", 5000, kMinStreamId, 10, 3000).value().claimed.empty());
  auto claim = stream_.AutoClaim("g", "rescuer", 5000, kMinStreamId, 2, 7000).value();
  EXPECT_THAT(Ids(claim.claimed), ElementsAre("1-0", "2-0"));
  EXPECT_EQ(claim.next_start, (StreamId{3, 0}));
  auto detail = stream_.PendingDetail("g", kMinStreamId, kMaxStreamId, 10, "", 0, 7000).value();
  EXPECT_EQ(detail[0].consumer, "rescuer");
  EXPECT_EQ(detail[0].delivery_count, 2u);
  EXPECT_EQ(detail[0].last_delivery_ms, 7000);
  EXPECT_EQ(detail[2].consumer, "crashed");
  PendingSummary summary = stream_.Pending("g").value();
  EXPECT_EQ(summary.per_consumer["rescuer"], 2u);
  EXPECT_EQ(summary.per_consumer["crashed"], 1u);
}

TEST_F(GroupTest, DeletingAConsumerKeepsItsPendingEntriesClaimable) {
  ASSERT_TRUE(stream_.CreateGroup("g", kMinStreamId).ok());
  ASSERT_TRUE(stream_.ReadGroup("g", "gone", 2, 0).ok());
  EXPECT_EQ(stream_.DeleteConsumer("g", "gone").value(), 2u);
  EXPECT_EQ(stream_.Pending("g").value().count, 2u);  // never lost
  auto claim = stream_.AutoClaim("g", "heir", 0, kMinStreamId, 10, 10).value();
  EXPECT_THAT(Ids(claim.claimed), ElementsAre("1-0", "2-0"));
  EXPECT_EQ(stream_.Pending("g").value().per_consumer["heir"], 2u);
  EXPECT_EQ(stream_.DeleteConsumer("g", "never-existed").value(), 0u);
}

TEST_F(GroupTest, AConsumerThatComesBackOwnsWhatItLeftBehind) {
  ASSERT_TRUE(stream_.CreateGroup("g", kMinStreamId).ok());
  ASSERT_TRUE(stream_.ReadGroup("g", "w", 3, 0).ok());
  ASSERT_EQ(stream_.DeleteConsumer("g", "w").value(), 3u);
  ASSERT_TRUE(stream_.AutoClaim("g", "other", 0, kMinStreamId, 1, 10).ok());  // takes one
  ASSERT_TRUE(stream_.ReadGroup("g", "w", 1, 20).ok());                       // w returns
  PendingSummary summary = stream_.Pending("g").value();
  EXPECT_EQ(summary.per_consumer["w"], 3u);  // two it left, one new
  EXPECT_EQ(summary.per_consumer["other"], 1u);
  EXPECT_EQ(stream_.DeleteConsumer("g", "w").value(), 3u);
}

TEST_F(GroupTest, TrimmingDropsAndReportsPendingEntriesOfTrimmedMessages) {
  ASSERT_TRUE(stream_.CreateGroup("g", kMinStreamId).ok());
  ASSERT_TRUE(stream_.CreateGroup("h", kMinStreamId).ok());
  ASSERT_TRUE(stream_.ReadGroup("g", "a", 4, 0).ok());
  ASSERT_TRUE(stream_.ReadGroup("h", "b", 1, 0).ok());
  TrimResult trim = stream_.TrimToLength(3);  // removes 1..3
  EXPECT_EQ(trim.removed, 3u);
  ASSERT_EQ(trim.orphaned_pending.size(), 4u);
  EXPECT_EQ(trim.orphaned_pending[0].first, "g");
  EXPECT_EQ(trim.orphaned_pending[0].second.id, (StreamId{1, 0}));
  EXPECT_EQ(trim.orphaned_pending[3].first, "h");
  PendingSummary g = stream_.Pending("g").value();
  EXPECT_EQ(g.count, 1u);
  EXPECT_EQ(g.per_consumer["a"], 1u);
  EXPECT_EQ(stream_.Pending("h").value().count, 0u);
}

TEST_F(GroupTest, DestroyedGroupsAreGone) {
  ASSERT_TRUE(stream_.CreateGroup("g", kMinStreamId).ok());
  ASSERT_TRUE(stream_.ReadGroup("g", "a", 6, 0).ok());
  const size_t with_pending = stream_.HeapBytes();
  ASSERT_TRUE(stream_.DestroyGroup("g").ok());
  EXPECT_LT(stream_.HeapBytes(), with_pending);
  EXPECT_EQ(stream_.DestroyGroup("g").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(stream_.GroupNames().empty());
}

// Many chunks, mixed field layouts, random trims and reads, against a plain deque.
TEST(Stream, MatchesAPlainLogOverRandomOperations) {
  std::mt19937_64 rng(5);
  Stream stream;
  std::deque<StreamEntry> model;
  int64_t now = 1'000;
  for (int op = 0; op < 20'000; ++op) {
    const int which = static_cast<int>(rng() % 100);
    if (which < 70) {
      StreamFields fields;
      const int shape = static_cast<int>(rng() % 3);  // same names, other names, more fields
      fields.push_back({shape == 1 ? "other" : "v", std::string(rng() % 20, 'a' + op % 26)});
      if (shape == 2) fields.push_back({"extra", std::to_string(op)});
      now += static_cast<int64_t>(rng() % 3);  // often the same millisecond
      const StreamId id = stream.Append(std::nullopt, fields, now).value();
      model.push_back({id, fields});
    } else if (which < 73) {
      const uint64_t keep = rng() % 400;
      const uint64_t before = model.size();
      while (model.size() > keep) model.pop_front();
      ASSERT_EQ(stream.TrimToLength(keep).removed, before - model.size());
    } else if (which < 75 && !model.empty()) {
      const StreamId bound = model[rng() % model.size()].id;
      uint64_t removed = 0;
      while (!model.empty() && model.front().id < bound) {
        model.pop_front();
        ++removed;
      }
      ASSERT_EQ(stream.TrimBefore(bound).removed, removed);
    } else if (!model.empty()) {
      const StreamId a = model[rng() % model.size()].id;
      const StreamId b = model[rng() % model.size()].id;
      const StreamId low = std::min(a, b);
      const StreamId high = std::max(a, b);
      const uint64_t count = 1 + rng() % 300;
      std::vector<StreamEntry> forward;
      std::vector<StreamEntry> after;
      for (const StreamEntry& e : model) {
        if (e.id >= low && e.id <= high && forward.size() < count) forward.push_back(e);
        if (e.id > low && after.size() < count) after.push_back(e);
      }
      std::vector<StreamEntry> backward;
      for (auto it = model.rbegin(); it != model.rend(); ++it) {
        if (it->id >= low && it->id <= high && backward.size() < count) backward.push_back(*it);
      }
      auto same = [](const std::vector<StreamEntry>& x, const std::vector<StreamEntry>& y) {
        if (x.size() != y.size()) return false;
        for (size_t i = 0; i < x.size(); ++i) {
          if (x[i].id != y[i].id || x[i].fields != y[i].fields) return false;
        }
        return true;
      };
      ASSERT_TRUE(same(stream.Range(low, high, count), forward)) << op;
      ASSERT_TRUE(same(stream.ReverseRange(high, low, count), backward)) << op;
      ASSERT_TRUE(same(stream.ReadAfter(low, count), after)) << op;
    }
    ASSERT_EQ(stream.size(), model.size());
    ASSERT_EQ(stream.first_id().has_value(), !model.empty());
    if (!model.empty()) {
      ASSERT_EQ(*stream.first_id(), model.front().id);
    }
  }
}

TEST(Stream, HeapBytesReturnToZero) {
  Stream stream;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(stream.Append(std::nullopt, {{"field", std::string(40, 'x')}}, i).ok());
  }
  EXPECT_GT(stream.HeapBytes(), 1000u * 40);
  ASSERT_TRUE(stream.CreateGroup("g", kMinStreamId).ok());
  ASSERT_TRUE(stream.ReadGroup("g", "c", 1000, 0).ok());
  stream.TrimToLength(0);
  EXPECT_LT(stream.HeapBytes(), 1000u);  // the group and its consumer remain
  ASSERT_TRUE(stream.DestroyGroup("g").ok());
  EXPECT_EQ(stream.HeapBytes(), 0u);
}

}  // namespace
}  // namespace hotpath

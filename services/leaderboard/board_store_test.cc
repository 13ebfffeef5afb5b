#include "services/leaderboard/board_store.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "engine/testing/recording_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hotpath::leaderboard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kNs[] = "default";

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone());
}

v1::BoardOptions Options(v1::SortOrder order = v1::SORT_ORDER_DESCENDING,
                         v1::Operator op = v1::OPERATOR_SET,
                         v1::TiePolicy ties = v1::TIE_POLICY_EARLIER_FIRST,
                         v1::RankStyle style = v1::RANK_STYLE_ORDINAL) {
  v1::BoardOptions options;
  options.set_sort_order(order);
  options.set_operator_(op);
  options.set_tie_policy(ties);
  options.set_rank_style(style);
  return options;
}

google::protobuf::RepeatedPtrField<v1::Submission> One(const std::string& member, int64_t score,
                                                       const std::string& metadata = "") {
  google::protobuf::RepeatedPtrField<v1::Submission> list;
  v1::Submission* s = list.Add();
  s->set_member(member);
  s->set_score(score);
  s->set_metadata(metadata);
  return list;
}

// (member, score, rank) of entries, for comparisons.
using Row = std::tuple<std::string, int64_t, uint64_t>;
std::vector<Row> Rows(const std::vector<v1::Entry>& entries) {
  std::vector<Row> rows;
  for (const v1::Entry& e : entries) rows.emplace_back(e.member(), e.score(), e.rank());
  return rows;
}

class BoardStoreTest : public ::testing::Test {
 protected:
  BoardStoreTest() { clock_.Set(Utc(2026, 11, 25, 12)); }

  void SetUp() override {
    keyspace_ = Keyspace::Create({.shards = 4}, &clock_, &sink_).value();
    store_ = std::make_unique<BoardStore>(keyspace_.get(), BoardLimits{});
    ASSERT_TRUE(store_->Start().ok());
  }

  v1::SubmitResult Submit(const std::string& board, const std::string& member, int64_t score,
                          const std::string& metadata = "") {
    return store_->Submit(kNs, board, One(member, score, metadata), "submission").value().at(0);
  }

  // Every entry of the season, read page by page through cursors.
  std::vector<Row> AllByPages(const std::string& board, uint64_t season, uint32_t page_size) {
    std::vector<Row> rows;
    std::string cursor;
    for (int pages = 0; pages < 10'000; ++pages) {
      const Page page = store_->Top(kNs, board, season, page_size, cursor).value();
      for (const Row& row : Rows(page.entries)) rows.push_back(row);
      if (page.next_cursor.empty()) break;
      cursor = page.next_cursor;
    }
    return rows;
  }

  // Restarts on the records written so far, as recovery would, with the clock where it is.
  void Restart() {
    auto fresh = Keyspace::Create({.shards = 4}, &clock_, &sink_).value();
    std::vector<Record> records = sink_.records();
    for (const Record& record : records) ASSERT_TRUE(fresh->Replay(record).ok());
    store_.reset();
    keyspace_ = std::move(fresh);
    store_ = std::make_unique<BoardStore>(keyspace_.get(), BoardLimits{});
    ASSERT_TRUE(store_->Start().ok());
  }

  FakeClock clock_;
  RecordingSink sink_;
  std::unique_ptr<Keyspace> keyspace_;
  std::unique_ptr<BoardStore> store_;
};

// The obvious ranking: sort everything, then count.
struct Reference {
  bool descending;
  bool by_name;
  std::map<std::string, std::pair<int64_t, uint64_t>> members;  // score, submission sequence

  std::vector<Row> Ranked(v1::RankStyle style) const {
    std::vector<std::tuple<int64_t, uint64_t, std::string>> order;
    for (const auto& [name, value] : members) {
      order.emplace_back(descending ? -value.first : value.first, by_name ? 0 : value.second, name);
    }
    std::sort(order.begin(), order.end());
    std::vector<Row> rows;
    std::set<int64_t> distinct_before;
    for (size_t i = 0; i < order.size(); ++i) {
      const int64_t score = descending ? -std::get<0>(order[i]) : std::get<0>(order[i]);
      uint64_t rank = i + 1;
      if (style != v1::RANK_STYLE_ORDINAL) {
        uint64_t better = 0;
        std::set<int64_t> better_scores;
        for (const auto& [name, value] : members) {
          if (descending ? value.first > score : value.first < score) {
            ++better;
            better_scores.insert(value.first);
          }
        }
        rank = 1 + (style == v1::RANK_STYLE_COMPETITION ? better : better_scores.size());
      }
      rows.emplace_back(std::get<2>(order[i]), score, rank);
    }
    return rows;
  }
};

struct RankCase {
  v1::SortOrder order;
  v1::TiePolicy ties;
  v1::RankStyle style;
};

class RankTest : public BoardStoreTest, public ::testing::WithParamInterface<RankCase> {};

TEST_P(RankTest, RanksMatchTheReferenceThroughEveryRead) {
  const RankCase c = GetParam();
  ASSERT_TRUE(
      store_->CreateBoard(kNs, "b", Options(c.order, v1::OPERATOR_SET, c.ties, c.style)).ok());
  Reference ref{.descending = c.order == v1::SORT_ORDER_DESCENDING,
                .by_name = c.ties == v1::TIE_POLICY_MEMBER_ID};
  std::mt19937_64 rng(static_cast<uint64_t>(c.order) * 100 + c.ties * 10 + c.style);
  uint64_t sequence = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string member = absl::StrCat("m", rng() % 400);
    if (rng() % 10 == 0) {
      ASSERT_EQ(store_->RemoveMember(kNs, "b", member).value(), ref.members.erase(member) > 0);
      continue;
    }
    const int64_t score = static_cast<int64_t>(rng() % 40) - 20;  // many ties
    const v1::SubmitResult result = Submit("b", member, score);
    auto it = ref.members.find(member);
    const bool changed = it == ref.members.end() || it->second.first != score;
    ++sequence;
    if (changed) ref.members[member] = {score, sequence};
    ASSERT_EQ(result.changed(), changed);
    ASSERT_EQ(result.score(), score);
    if (i % 500 != 499) continue;

    const std::vector<Row> expected = ref.Ranked(c.style);
    ASSERT_EQ(AllByPages("b", 0, 7), expected);
    for (int q = 0; q < 20; ++q) {
      const size_t at = rng() % expected.size();
      const std::string& name = std::get<0>(expected[at]);
      const Page rank = store_->Rank(kNs, "b", 0, name).value();
      ASSERT_THAT(Rows(rank.entries), ElementsAre(expected[at]));
      ASSERT_EQ(rank.total, expected.size());
      const Page around = store_->Around(kNs, "b", 0, name, 3, 2).value();
      const size_t first = at - std::min<size_t>(at, 3);
      const std::vector<Row> window(expected.begin() + first,
                                    expected.begin() + std::min(expected.size(), at + 3));
      ASSERT_EQ(Rows(around.entries), window) << name;
      const uint64_t start = 1 + rng() % expected.size();
      const std::vector<Row> range(expected.begin() + (start - 1),
                                   expected.begin() + std::min<size_t>(expected.size(), start + 4));
      ASSERT_EQ(Rows(store_->Range(kNs, "b", 0, start, 5).value().entries), range);
    }
    // Score ranges, paged.
    const int64_t low = -15;
    const int64_t high = 5;
    std::vector<Row> in_range;
    for (const Row& row : expected) {
      if (std::get<1>(row) >= low && std::get<1>(row) <= high) in_range.push_back(row);
    }
    std::vector<Row> paged;
    std::string cursor;
    for (int pages = 0; pages < 1000; ++pages) {
      const Page page = store_->ByScore(kNs, "b", 0, low, high, 6, cursor).value();
      for (const Row& row : Rows(page.entries)) paged.push_back(row);
      if (page.next_cursor.empty()) break;
      cursor = page.next_cursor;
    }
    ASSERT_EQ(paged, in_range);
    ASSERT_EQ(store_->CountByScore(kNs, "b", 0, low, high).value(), in_range.size());
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryStyle, RankTest,
    ::testing::Values(
        RankCase{v1::SORT_ORDER_DESCENDING, v1::TIE_POLICY_EARLIER_FIRST, v1::RANK_STYLE_ORDINAL},
        RankCase{v1::SORT_ORDER_DESCENDING, v1::TIE_POLICY_EARLIER_FIRST,
                 v1::RANK_STYLE_COMPETITION},
        RankCase{v1::SORT_ORDER_DESCENDING, v1::TIE_POLICY_EARLIER_FIRST, v1::RANK_STYLE_DENSE},
        RankCase{v1::SORT_ORDER_DESCENDING, v1::TIE_POLICY_MEMBER_ID, v1::RANK_STYLE_ORDINAL},
        RankCase{v1::SORT_ORDER_DESCENDING, v1::TIE_POLICY_MEMBER_ID, v1::RANK_STYLE_COMPETITION},
        RankCase{v1::SORT_ORDER_DESCENDING, v1::TIE_POLICY_MEMBER_ID, v1::RANK_STYLE_DENSE},
        RankCase{v1::SORT_ORDER_ASCENDING, v1::TIE_POLICY_EARLIER_FIRST, v1::RANK_STYLE_ORDINAL},
        RankCase{v1::SORT_ORDER_ASCENDING, v1::TIE_POLICY_EARLIER_FIRST,
                 v1::RANK_STYLE_COMPETITION},
        RankCase{v1::SORT_ORDER_ASCENDING, v1::TIE_POLICY_MEMBER_ID, v1::RANK_STYLE_DENSE}));

TEST_F(BoardStoreTest, OperatorsApplyAndSayWhetherAnythingChanged) {
  ASSERT_TRUE(
      store_->CreateBoard(kNs, "best", Options(v1::SORT_ORDER_DESCENDING, v1::OPERATOR_BEST)).ok());
  EXPECT_TRUE(Submit("best", "a", 10).changed());
  EXPECT_FALSE(Submit("best", "a", 7).changed());
  EXPECT_EQ(Submit("best", "a", 7).score(), 10);
  EXPECT_TRUE(Submit("best", "a", 12).changed());

  ASSERT_TRUE(
      store_->CreateBoard(kNs, "fastest", Options(v1::SORT_ORDER_ASCENDING, v1::OPERATOR_BEST))
          .ok());
  Submit("fastest", "a", 90);
  EXPECT_EQ(Submit("fastest", "a", 95).score(), 90);
  EXPECT_EQ(Submit("fastest", "a", 80).score(), 80);

  ASSERT_TRUE(
      store_->CreateBoard(kNs, "inc", Options(v1::SORT_ORDER_DESCENDING, v1::OPERATOR_INCREMENT))
          .ok());
  EXPECT_EQ(Submit("inc", "a", 5).score(), 5);
  EXPECT_EQ(Submit("inc", "a", 5).score(), 10);
  EXPECT_FALSE(Submit("inc", "a", 0).changed());

  ASSERT_TRUE(
      store_->CreateBoard(kNs, "dec", Options(v1::SORT_ORDER_DESCENDING, v1::OPERATOR_DECREMENT))
          .ok());
  EXPECT_EQ(Submit("dec", "a", 5).score(), -5);
  EXPECT_EQ(Submit("dec", "a", 5).score(), -10);
}

TEST_F(BoardStoreTest, AnOverflowAnywhereInABatchChangesNothing) {
  ASSERT_TRUE(
      store_->CreateBoard(kNs, "inc", Options(v1::SORT_ORDER_DESCENDING, v1::OPERATOR_INCREMENT))
          .ok());
  Submit("inc", "a", INT64_MAX - 1);
  google::protobuf::RepeatedPtrField<v1::Submission> batch = One("b", 1);
  *batch.Add() = One("a", 1)[0];
  *batch.Add() = One("a", 1)[0];  // the second increment of "a" overflows
  const auto result = store_->Submit(kNs, "inc", batch, "submissions");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(result.status().message(), HasSubstr("submissions[2].score"));
  EXPECT_EQ(store_->Top(kNs, "inc", 0, 10, "").value().total, 1);
  EXPECT_EQ(store_->Rank(kNs, "inc", 0, "a").value().entries[0].score(), INT64_MAX - 1);
}

TEST_F(BoardStoreTest, AnOverflowAfterARefusalOnAFullBoardStillChangesNothing) {
  v1::BoardOptions options = Options(v1::SORT_ORDER_DESCENDING, v1::OPERATOR_DECREMENT);
  options.set_max_members(1);
  ASSERT_TRUE(store_->CreateBoard(kNs, "dec", options).ok());
  Submit("dec", "b", -100);                                                 // b: 100
  google::protobuf::RepeatedPtrField<v1::Submission> batch = One("b", -1);  // b: 101
  *batch.Add() = One("a", 5)[0];          // a: -5 ranks after b on a full board: refused
  *batch.Add() = One("a", INT64_MIN)[0];  // a again, from nothing: 0 - INT64_MIN overflows
  const auto result = store_->Submit(kNs, "dec", batch, "submissions");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(result.status().message(), HasSubstr("submissions[2].score"));
  EXPECT_EQ(store_->Rank(kNs, "dec", 0, "b").value().entries[0].score(), 100);
}

TEST_F(BoardStoreTest, EqualScoresRankByWhoReachedTheScoreFirst) {
  ASSERT_TRUE(
      store_->CreateBoard(kNs, "b", Options(v1::SORT_ORDER_DESCENDING, v1::OPERATOR_BEST)).ok());
  Submit("b", "zed", 100);
  Submit("b", "amy", 100);
  Submit("b", "bob", 50);
  Submit("b", "zed", 100);  // not better: keeps its place
  Submit("b", "bob", 100);
  EXPECT_THAT(Rows(store_->Top(kNs, "b", 0, 10, "").value().entries),
              ElementsAre(Row{"zed", 100, 1}, Row{"amy", 100, 2}, Row{"bob", 100, 3}));
}

TEST_F(BoardStoreTest, AFullBoardAdmitsOnlyMembersThatBeatTheLast) {
  v1::BoardOptions options = Options();
  options.set_max_members(3);
  ASSERT_TRUE(store_->CreateBoard(kNs, "top3", options).ok());
  Submit("top3", "a", 30, "meta-a");
  Submit("top3", "b", 20);
  Submit("top3", "c", 10, "meta-c");
  const v1::SubmitResult low = Submit("top3", "d", 5);
  EXPECT_FALSE(low.changed());
  EXPECT_EQ(low.rank(), 0);
  const v1::SubmitResult high = Submit("top3", "e", 25);
  EXPECT_TRUE(high.changed());
  EXPECT_EQ(high.rank(), 2);
  EXPECT_THAT(Rows(store_->Top(kNs, "top3", 0, 10, "").value().entries),
              ElementsAre(Row{"a", 30, 1}, Row{"e", 25, 2}, Row{"b", 20, 3}));
  // An existing member still moves freely.
  EXPECT_TRUE(Submit("top3", "b", 40).changed());
  EXPECT_EQ(store_->Rank(kNs, "top3", 0, "a").value().entries[0].metadata(), "meta-a");
}

TEST_F(BoardStoreTest, MetadataTravelsWithEntries) {
  ASSERT_TRUE(store_->CreateBoard(kNs, "b", Options()).ok());
  Submit("b", "a", 1, "{\"level\":3}");
  Submit("b", "a", 2);  // no metadata: keeps the old
  EXPECT_EQ(store_->Top(kNs, "b", 0, 1, "").value().entries[0].metadata(), "{\"level\":3}");
  ASSERT_TRUE(store_->RemoveMember(kNs, "b", "a").value());
  Submit("b", "a", 3);
  EXPECT_EQ(store_->Top(kNs, "b", 0, 1, "").value().entries[0].metadata(), "");
}

TEST_F(BoardStoreTest, CursorPagesOnlyTheBoardThatMadeIt) {
  for (const char* board : {"a", "b"}) {
    ASSERT_TRUE(store_->CreateBoard(kNs, board, Options()).ok());
    for (int i = 0; i < 20; ++i) Submit(board, absl::StrCat("m", i), i);
  }
  const std::string cursor = store_->Top(kNs, "a", 0, 5, "").value().next_cursor;
  ASSERT_FALSE(cursor.empty());
  for (const absl::StatusOr<Page>& page :
       {store_->Top(kNs, "b", 0, 5, cursor), store_->ByScore(kNs, "b", 0, 0, 100, 5, cursor)}) {
    EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(page.status().message(), HasSubstr("cursor pages board \"a\", not \"b\""));
  }
  EXPECT_EQ(store_->Top(kNs, "a", 0, 5, cursor).value().entries[0].member(), "m14");
}

TEST_F(BoardStoreTest, CursorPagesNeitherSkipNorRepeatMembersThatStayPut) {
  ASSERT_TRUE(store_->CreateBoard(kNs, "b", Options()).ok());
  for (int i = 0; i < 100; ++i) Submit("b", absl::StrCat("m", i), i * 10);
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    const Page p = store_->Top(kNs, "b", 0, 10, cursor).value();
    for (const v1::Entry& e : p.entries) seen.push_back(e.member());
    if (p.next_cursor.empty()) break;
    cursor = p.next_cursor;
    // Between pages: newcomers above, a member leaves, and one jumps from below to the top.
    Submit("b", absl::StrCat("new", page), 5000 + page);
    ASSERT_TRUE(store_->RemoveMember(kNs, "b", absl::StrCat("m", 95 - page * 10)).ok());
  }
  // Every original member that never moved appears exactly once, in order.
  std::vector<std::string> expected;
  for (int i = 99; i >= 0; --i) {
    const std::string name = absl::StrCat("m", i);
    bool removed_before_reached = false;
    for (int page = 0; page < 10; ++page) {
      if (i == 95 - page * 10 && page < (99 - i) / 10) removed_before_reached = true;
    }
    if (!removed_before_reached) expected.push_back(name);
  }
  std::vector<std::string> originals;
  for (const std::string& name : seen) {
    if (name.rfind("m", 0) == 0) originals.push_back(name);
  }
  EXPECT_EQ(originals, expected);
}

TEST_F(BoardStoreTest, PagingWhileAnotherThreadWritesSeesEveryStillMemberOnce) {
  ASSERT_TRUE(store_->CreateBoard(kNs, "b", Options()).ok());
  for (int i = 0; i < 500; ++i) Submit("b", absl::StrCat("still", i), i * 2);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    std::mt19937_64 rng(7);
    // Members that come, move across the whole range and go, until the reader is done (and
    // at least 2,000 times, so the pages interleave with writes).
    for (int i = 0; (i < 2'000 || !done.load()) && i < 1'000'000; ++i) {
      const std::string name = absl::StrCat("mover", rng() % 50);
      if (rng() % 4 == 0) {
        ASSERT_TRUE(store_->RemoveMember(kNs, "b", name).ok());
      } else {
        ASSERT_TRUE(
            store_->Submit(kNs, "b", One(name, static_cast<int64_t>(rng() % 1000)), "submission")
                .ok());
      }
    }
  });
  std::vector<std::string> still;
  for (int round = 0; round < 20; ++round) {
    still.clear();
    for (const Row& row : AllByPages("b", 0, 13)) {
      if (std::get<0>(row).rfind("still", 0) == 0) still.push_back(std::get<0>(row));
    }
    std::vector<std::string> expected;
    for (int i = 499; i >= 0; --i) expected.push_back(absl::StrCat("still", i));
    ASSERT_EQ(still, expected) << "round " << round;
  }
  done = true;
  writer.join();
}

TEST_F(BoardStoreTest, ASeasonEndsOnScheduleAndStaysQueryable) {
  v1::BoardOptions options = Options();
  options.set_reset_schedule("daily");
  options.set_keep_seasons(2);
  ASSERT_TRUE(store_->CreateBoard(kNs, "daily", options).ok());
  Submit("daily", "a", 10);
  Submit("daily", "b", 20);
  EXPECT_EQ(store_->RunDueResets(), absl::ToUnixMillis(Utc(2026, 11, 26)));

  clock_.Set(Utc(2026, 11, 26, 0, 0) + absl::Seconds(1));
  EXPECT_EQ(store_->RunDueResets(), absl::ToUnixMillis(Utc(2026, 11, 27)));
  const v1::Board board = store_->GetBoard(kNs, "daily").value();
  EXPECT_EQ(board.live().number(), 2);
  EXPECT_EQ(board.live().members(), 0);
  EXPECT_EQ(board.live().started().seconds(), absl::ToUnixSeconds(Utc(2026, 11, 26)));
  ASSERT_EQ(board.archived_size(), 1);
  EXPECT_EQ(board.archived(0).number(), 1);
  EXPECT_EQ(board.archived(0).members(), 2);
  EXPECT_EQ(board.archived(0).ended().seconds(), absl::ToUnixSeconds(Utc(2026, 11, 26)));
  EXPECT_THAT(Rows(store_->Top(kNs, "daily", 1, 10, "").value().entries),
              ElementsAre(Row{"b", 20, 1}, Row{"a", 10, 2}));
  EXPECT_EQ(store_->Rank(kNs, "daily", 1, "a").value().entries[0].rank(), 2);
  EXPECT_EQ(store_->Top(kNs, "daily", 0, 10, "").value().total, 0);

  // Two more days: season 1 falls out of the two kept.
  Submit("daily", "c", 5);
  clock_.Set(Utc(2026, 11, 27, 0, 1));
  Submit("daily", "d", 1);  // a call notices the due reset before the scheduler does
  clock_.Set(Utc(2026, 11, 28, 0, 1));
  store_->RunDueResets();
  const v1::Board later = store_->GetBoard(kNs, "daily").value();
  EXPECT_EQ(later.live().number(), 4);
  ASSERT_EQ(later.archived_size(), 2);
  EXPECT_EQ(later.archived(0).number(), 3);
  EXPECT_EQ(later.archived(1).number(), 2);
  EXPECT_EQ(store_->Top(kNs, "daily", 1, 10, "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Rows(store_->Top(kNs, "daily", 2, 10, "").value().entries),
              ElementsAre(Row{"c", 5, 1}));
  // The dropped season's keys are gone from the engine.
  size_t season_one_keys = 0;
  keyspace_->ForEachKey([&](const KeyRef& key, const Value&, int64_t) {
    if (key.key.find("}1:daily") != std::string_view::npos) ++season_one_keys;
  });
  EXPECT_EQ(season_one_keys, 0);
}

TEST_F(BoardStoreTest, AResetMissedWhileDownIsAppliedAtStart) {
  v1::BoardOptions options = Options();
  options.set_reset_schedule("0 */6 * * *");  // every six hours
  options.set_keep_seasons(5);
  ASSERT_TRUE(store_->CreateBoard(kNs, "b", options).ok());
  Submit("b", "a", 1);
  // Down from 12:00 until two days later at 07:30.
  clock_.Set(Utc(2026, 11, 27, 7, 30));
  Restart();
  const v1::Board board = store_->GetBoard(kNs, "b").value();
  EXPECT_EQ(board.live().number(), 2);
  EXPECT_EQ(board.live().started().seconds(), absl::ToUnixSeconds(Utc(2026, 11, 27, 6)));
  EXPECT_EQ(board.next_reset().seconds(), absl::ToUnixSeconds(Utc(2026, 11, 27, 12)));
  ASSERT_EQ(board.archived_size(), 1);
  EXPECT_EQ(board.archived(0).ended().seconds(), absl::ToUnixSeconds(Utc(2026, 11, 25, 18)));
  EXPECT_THAT(Rows(store_->Top(kNs, "b", 1, 10, "").value().entries), ElementsAre(Row{"a", 1, 1}));
  // And the reset was recorded: another restart finds the same seasons.
  Restart();
  EXPECT_EQ(store_->GetBoard(kNs, "b").value().live().number(), 2);
}

TEST_F(BoardStoreTest, AMinutelyBoardDownForTwoYearsCatchesUpToTheLastMinute) {
  v1::BoardOptions options = Options();
  options.set_reset_schedule("* * * * *");
  options.set_keep_seasons(1);
  ASSERT_TRUE(store_->CreateBoard(kNs, "b", options).ok());
  Submit("b", "a", 1);
  clock_.Set(Utc(2028, 11, 25, 9, 41) + absl::Seconds(30));
  Restart();
  const v1::Board board = store_->GetBoard(kNs, "b").value();
  EXPECT_EQ(board.live().number(), 2);
  EXPECT_EQ(board.live().started().seconds(), absl::ToUnixSeconds(Utc(2028, 11, 25, 9, 41)));
  EXPECT_EQ(board.next_reset().seconds(), absl::ToUnixSeconds(Utc(2028, 11, 25, 9, 42)));
  EXPECT_EQ(board.archived(0).ended().seconds(), absl::ToUnixSeconds(Utc(2026, 11, 25, 12, 1)));
}

TEST_F(BoardStoreTest, StartRemovesKeysNoBoardRefersTo) {
  ASSERT_TRUE(store_->CreateBoard(kNs, "b", Options()).ok());
  Submit("b", "a", 1);
  const BoardPlace place = PlaceOfBoard("b");
  // What a crash between a deletion's records could leave: a season with no board, and a
  // season the board no longer lists.
  ASSERT_TRUE(keyspace_->ZsetUpsert({kNs, place.SetKey(7)}, {}, "x", 1, 0).ok());
  ASSERT_TRUE(keyspace_->Delete({kNs, place.meta_key}).ok());
  ASSERT_TRUE(keyspace_->ZsetUpsert({kNs, PlaceOfBoard("gone").SetKey(1)}, {}, "x", 1, 0).ok());
  ASSERT_TRUE(store_->CreateBoard(kNs, "b2", Options()).ok());
  Restart();
  size_t board_keys = 0;
  keyspace_->ForEachKey([&](const KeyRef& key, const Value&, int64_t) {
    if (ParseKey(key.key).has_value()) ++board_keys;
  });
  EXPECT_EQ(board_keys, 1);  // b2's record
  EXPECT_EQ(store_->GetBoard(kNs, "b").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(BoardStoreTest, BoardsAreListedCreatedAndDeletedPerNamespace) {
  ASSERT_TRUE(store_->CreateBoard(kNs, "x", Options()).ok());
  ASSERT_TRUE(store_->CreateBoard(kNs, "y", Options()).ok());
  ASSERT_TRUE(store_->CreateBoard("other", "x", Options()).ok());
  EXPECT_EQ(store_->CreateBoard(kNs, "x", Options()).status().code(),
            absl::StatusCode::kAlreadyExists);
  Submit("x", "a", 1);
  const std::vector<v1::Board> boards = store_->ListBoards(kNs).value();
  ASSERT_EQ(boards.size(), 2);
  EXPECT_EQ(boards[0].name(), "x");
  EXPECT_EQ(boards[0].live().members(), 1);
  ASSERT_TRUE(store_->DeleteBoard(kNs, "x").ok());
  EXPECT_EQ(store_->GetBoard(kNs, "x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetBoard("other", "x").ok());
  EXPECT_EQ(store_->ListBoards(kNs).value().size(), 1);
  Restart();
  EXPECT_EQ(store_->ListBoards(kNs).value().size(), 1);
}

TEST_F(BoardStoreTest, BadInputIsRefusedNamingTheField) {
  v1::BoardOptions options = Options();
  options.set_reset_schedule("0 25 * * *");
  EXPECT_THAT(store_->CreateBoard(kNs, "b", options).status().message(),
              HasSubstr("options.reset_schedule"));
  options = Options();
  options.set_keep_seasons(1000);
  EXPECT_THAT(store_->CreateBoard(kNs, "b", options).status().message(),
              HasSubstr("options.keep_seasons"));
  options = Options();
  options.set_rank_style(static_cast<v1::RankStyle>(9));
  EXPECT_THAT(store_->CreateBoard(kNs, "b", options).status().message(),
              HasSubstr("options.rank_style"));
  EXPECT_THAT(store_->CreateBoard(kNs, "", Options()).status().message(), HasSubstr("board"));
  EXPECT_EQ(store_->Top(kNs, "nope", 0, 10, "").status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(store_->CreateBoard(kNs, "b", Options()).ok());
  EXPECT_THAT(store_->Submit(kNs, "b", One("", 1), "submission").status().message(),
              HasSubstr("submission.member"));
  EXPECT_THAT(store_->Submit(kNs, "b", One("a", 1, std::string(2000, 'x')), "submission")
                  .status()
                  .message(),
              HasSubstr("submission.metadata"));
  EXPECT_THAT(store_->Top(kNs, "b", 0, 5000, "").status().message(), HasSubstr("limit"));
  EXPECT_THAT(store_->Top(kNs, "b", 0, 10, "garbage!").status().message(), HasSubstr("cursor"));
  EXPECT_THAT(store_->Range(kNs, "b", 0, 0, 10).status().message(), HasSubstr("start"));
  EXPECT_THAT(store_->ByScore(kNs, "b", 0, 5, 1, 10, "").status().message(),
              HasSubstr("min_score"));
  EXPECT_EQ(store_->Rank(kNs, "b", 0, "ghost").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Top(kNs, "b", 3, 10, "").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace hotpath::leaderboard

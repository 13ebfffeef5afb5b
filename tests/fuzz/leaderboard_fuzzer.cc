// Fuzzes the leaderboard request handling below gRPC: sequences of board creations (any sort
// order, operator, tie policy, rank style, cron schedule, seasons, cap), submissions (any
// scores, overflow included), removals, reads with cursors, resets and clock steps, on the
// BoardStore that LeaderboardService runs every request on. Bad input must come back as a
// Status; pages must keep their order (ranks never decreasing, scores in the board's order).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "services/leaderboard/board_store.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace lb = hotpath::leaderboard;
using hotpath::fuzz::Pick;

// Ranks never decrease down a page, and scores follow the board's order.
void CheckOrder(const lb::Page& page, bool ascending) {
  for (size_t i = 1; i < page.entries.size(); ++i) {
    const auto& before = page.entries[i - 1];
    const auto& after = page.entries[i];
    FUZZ_ASSERT_TRUE(before.rank() <= after.rank());
    FUZZ_ASSERT_TRUE(ascending ? before.score() <= after.score() : before.score() >= after.score());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  hotpath::FakeClock clock;
  auto keyspace = hotpath::fuzz::FreshKeyspace(&clock);
  lb::BoardStore boards(
      keyspace.get(),
      lb::BoardLimits{.max_page = 20, .max_batch = 8, .max_kept_seasons = 3, .max_boards = 4});
  if (!boards.Start().ok()) return 0;
  static const char* const kBoards[] = {"weekly", "speedrun"};
  static const char* const kMembers[] = {"alice", "bob", "carol", "dave"};
  static const char* const kSchedules[] = {"daily",       "weekly",     "monthly",
                                           "*/5 * * * *", "0 0 29 2 *", ""};
  const std::string ns = "default";
  std::string cursor;

  for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    const std::string board = Pick(in, kBoards);
    const uint64_t season = in.ConsumeIntegralInRange<uint64_t>(0, 4);
    switch (in.ConsumeIntegralInRange<int>(0, 8)) {
      case 0: {
        hotpath::leaderboard::v1::BoardOptions options;
        options.set_sort_order(
            static_cast<hotpath::leaderboard::v1::SortOrder>(in.ConsumeIntegralInRange(0, 3)));
        options.set_operator_(
            static_cast<hotpath::leaderboard::v1::Operator>(in.ConsumeIntegralInRange(0, 5)));
        options.set_tie_policy(
            static_cast<hotpath::leaderboard::v1::TiePolicy>(in.ConsumeIntegralInRange(0, 3)));
        options.set_rank_style(
            static_cast<hotpath::leaderboard::v1::RankStyle>(in.ConsumeIntegralInRange(0, 4)));
        options.set_reset_schedule(Pick(in, kSchedules));
        options.set_keep_seasons(in.ConsumeIntegralInRange<uint32_t>(0, 5));
        options.set_max_members(in.ConsumeIntegralInRange<uint64_t>(0, 5));
        boards.CreateBoard(ns, board, options).IgnoreError();
        break;
      }
      case 1: {
        google::protobuf::RepeatedPtrField<hotpath::leaderboard::v1::Submission> batch;
        for (int i = in.ConsumeIntegralInRange<int>(0, 9); i > 0; --i) {
          auto* submission = batch.Add();
          submission->set_member(Pick(in, kMembers));
          submission->set_score(in.ConsumeBool() ? in.ConsumeIntegral<int64_t>()
                                                 : in.ConsumeIntegralInRange<int64_t>(-5, 5));
          if (in.ConsumeBool()) submission->set_metadata(in.ConsumeRandomLengthString(16));
        }
        auto results = boards.Submit(ns, board, batch, "submissions");
        if (results.ok()) FUZZ_ASSERT_TRUE(results->size() == static_cast<size_t>(batch.size()));
        break;
      }
      case 2:
        boards.RemoveMember(ns, board, Pick(in, kMembers)).IgnoreError();
        break;
      case 3: {
        auto page = boards.Top(ns, board, season, in.ConsumeIntegralInRange<uint32_t>(0, 25),
                               in.ConsumeBool() ? cursor : in.ConsumeRandomLengthString(24));
        auto info = boards.GetBoard(ns, board);
        if (!page.ok() || !info.ok()) break;
        cursor = page->next_cursor;
        CheckOrder(*page,
                   info->options().sort_order() == hotpath::leaderboard::v1::SORT_ORDER_ASCENDING);
        break;
      }
      case 4: {
        const std::string member = Pick(in, kMembers);
        auto around =
            boards.Around(ns, board, season, member, in.ConsumeIntegralInRange<uint32_t>(0, 25),
                          in.ConsumeIntegralInRange<uint32_t>(0, 25));
        auto info = boards.GetBoard(ns, board);
        if (around.ok() && info.ok()) {
          CheckOrder(*around, info->options().sort_order() ==
                                  hotpath::leaderboard::v1::SORT_ORDER_ASCENDING);
        }
        boards.Rank(ns, board, season, member).IgnoreError();
        boards.LiveEntry(ns, board, member).IgnoreError();
        break;
      }
      case 5: {
        auto range = boards.Range(ns, board, season, in.ConsumeIntegral<uint64_t>(),
                                  in.ConsumeIntegralInRange<uint32_t>(0, 25));
        const int64_t a = in.ConsumeIntegral<int64_t>();
        const int64_t b = in.ConsumeIntegral<int64_t>();
        auto by_score =
            boards.ByScore(ns, board, season, a, b, in.ConsumeIntegralInRange<uint32_t>(0, 25),
                           in.ConsumeRandomLengthString(24));
        auto count = boards.CountByScore(ns, board, season, a, b);
        if (by_score.ok() && count.ok() && by_score->next_cursor.empty() &&
            by_score->entries.size() < 20) {
          FUZZ_ASSERT_TRUE(by_score->entries.size() <= *count);
        }
        (void)range;
        break;
      }
      case 6:
        clock.Advance(absl::Seconds(in.ConsumeIntegralInRange<int64_t>(0, 40 * 86'400)));
        boards.RunDueResets();
        break;
      case 7:
        boards.ListBoards(ns).IgnoreError();
        boards.Summaries();
        break;
      case 8:
        boards.DeleteBoard(ns, board).IgnoreError();
        break;
    }
  }
  return 0;
}

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "services/leaderboard/board_steps.h"
#include "services/leaderboard/board_store.h"

namespace hotpath::leaderboard {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// Where a page of `board` resumes: the decoded `cursor` (nullopt for none), which also settles
// `season`. A cursor of another board is refused: its position means nothing here.
absl::StatusOr<std::optional<Cursor>> Resume(const std::string& board, std::string_view cursor,
                                             uint64_t* season) {
  if (cursor.empty()) return std::nullopt;
  HP_ASSIGN_OR_RETURN(Cursor resume, DecodeCursor(cursor, "cursor"));
  if (resume.board != board) {
    return absl::InvalidArgumentError(
        absl::StrCat("cursor pages board \"", resume.board, "\", not \"", board, "\""));
  }
  if (*season != 0 && *season != resume.season) {
    return absl::InvalidArgumentError(
        absl::StrCat("cursor pages season ", resume.season, ", not season ", *season));
  }
  *season = resume.season;
  return resume;
}

// The number of members before `resume`'s position (all of them: 0 when there is none).
uint64_t StartOf(const SortedSet& set, const std::optional<Cursor>& resume) {
  if (!resume.has_value()) return 0;
  return set.CountNotAfter({resume->member, resume->score, resume->tiebreak});
}

// A cursor after the last of `members`, when `more` entries follow.
std::string CursorAfter(const std::string& board, uint64_t season,
                        const std::vector<ScoredMember>& members, bool more) {
  if (members.empty() || !more) return "";
  const ScoredMember& last = members.back();
  return EncodeCursor({.board = board,
                       .season = season,
                       .score = last.score,
                       .tiebreak = last.tiebreak,
                       .member = std::string(last.member)});
}

}  // namespace

absl::StatusOr<Page> BoardStore::ReadSeason(
    const std::string& ns, const std::string& board, uint64_t season,
    const std::function<absl::StatusOr<Page>(const SeasonView&)>& read) {
  HP_RETURN_IF_ERROR(CheckBoardName(board));
  const BoardPlace place = PlaceOfBoard(board);
  StepNotes notes;
  absl::StatusOr<Page> page = keyspace_->InShard(
      {KeyRef{ns, place.meta_key}}, [&](Shard::Locked& locked) -> absl::StatusOr<Page> {
        HP_ASSIGN_OR_RETURN(const v1::StoredBoard stored, Load(locked, ns, place, &notes));
        const uint64_t number = season == 0 ? stored.season() : season;
        const bool kept =
            number == stored.season() ||
            std::any_of(stored.archived().begin(), stored.archived().end(),
                        [&](const v1::StoredSeason& s) { return s.number() == number; });
        if (!kept) {
          return absl::NotFoundError(
              absl::StrCat("season ", number, " of board \"", board, "\" is not kept"));
        }
        SeasonView view{.season = number, .order = SetOptionsOf(stored.options())};
        view.source.set = SetAt(locked, KeyRef{ns, place.SetKey(number)});
        if (Dense(stored.options())) {
          view.source.distinct = SetAt(locked, KeyRef{ns, place.DistinctKey(number)});
        }
        view.source.metadata = HashAt(locked, KeyRef{ns, place.MetadataKey(number)});
        view.source.style = stored.options().rank_style();
        HP_ASSIGN_OR_RETURN(Page result, read(view));
        result.season = number;
        result.total = view.source.size();
        return result;
      });
  AfterStep(ns, board, notes, /*changed=*/false);
  return page;
}

absl::StatusOr<Page> BoardStore::Top(const std::string& ns, const std::string& board,
                                     uint64_t season, uint32_t limit, std::string_view cursor) {
  HP_ASSIGN_OR_RETURN(const uint32_t count, PageLimit(limit, "limit"));
  HP_ASSIGN_OR_RETURN(const std::optional<Cursor> resume, Resume(board, cursor, &season));
  return ReadSeason(ns, board, season, [&](const SeasonView& view) -> absl::StatusOr<Page> {
    Page page;
    if (view.source.set == nullptr) return page;
    const SortedSet& set = *view.source.set;
    const uint64_t start = StartOf(set, resume);
    const std::vector<ScoredMember> members = set.RangeByRank(start, count);
    page.entries = view.source.Entries(start, members);
    page.next_cursor =
        CursorAfter(board, view.season, members, start + members.size() < set.size());
    return page;
  });
}

absl::StatusOr<Page> BoardStore::Around(const std::string& ns, const std::string& board,
                                        uint64_t season, const std::string& member, uint32_t above,
                                        uint32_t below) {
  HP_RETURN_IF_ERROR(CheckMember(member, "member"));
  if (above > limits_.max_page || below > limits_.max_page) {
    return absl::InvalidArgumentError(absl::StrCat(above > limits_.max_page ? "above" : "below",
                                                   " must be at most ", limits_.max_page,
                                                   " (leaderboard.max_page)"));
  }
  return ReadSeason(ns, board, season, [&](const SeasonView& view) -> absl::StatusOr<Page> {
    const std::optional<uint64_t> position =
        view.source.set == nullptr ? std::nullopt : view.source.set->Rank(member);
    if (!position.has_value()) {
      return absl::NotFoundError(
          absl::StrCat("member \"", member, "\" is not on board \"", board, "\""));
    }
    const uint64_t first = *position - std::min<uint64_t>(*position, above);
    Page page;
    page.entries = view.source.Entries(
        first, view.source.set->RangeByRank(first, *position - first + 1 + below));
    return page;
  });
}

absl::StatusOr<Page> BoardStore::LiveEntry(const std::string& ns, const std::string& board,
                                           const std::string& member) {
  return ReadSeason(ns, board, 0, [&](const SeasonView& view) -> absl::StatusOr<Page> {
    Page page;
    const std::optional<uint64_t> position =
        view.source.set == nullptr ? std::nullopt : view.source.set->Rank(member);
    if (position.has_value()) {
      page.entries = view.source.Entries(*position, view.source.set->RangeByRank(*position, 1));
    }
    return page;
  });
}

absl::StatusOr<Page> BoardStore::Rank(const std::string& ns, const std::string& board,
                                      uint64_t season, const std::string& member) {
  return Around(ns, board, season, member, 0, 0);
}

absl::StatusOr<Page> BoardStore::Range(const std::string& ns, const std::string& board,
                                       uint64_t season, uint64_t start, uint32_t count) {
  if (start == 0) return absl::InvalidArgumentError("start must be at least 1");
  HP_ASSIGN_OR_RETURN(const uint32_t n, PageLimit(count, "count"));
  return ReadSeason(ns, board, season, [&](const SeasonView& view) -> absl::StatusOr<Page> {
    Page page;
    if (view.source.set == nullptr) return page;
    page.entries = view.source.Entries(start - 1, view.source.set->RangeByRank(start - 1, n));
    return page;
  });
}

absl::StatusOr<Page> BoardStore::ByScore(const std::string& ns, const std::string& board,
                                         uint64_t season, int64_t min_score, int64_t max_score,
                                         uint32_t limit, std::string_view cursor) {
  if (min_score > max_score) {
    return absl::InvalidArgumentError("min_score must not be greater than max_score");
  }
  HP_ASSIGN_OR_RETURN(const uint32_t count, PageLimit(limit, "limit"));
  HP_ASSIGN_OR_RETURN(const std::optional<Cursor> resume, Resume(board, cursor, &season));
  return ReadSeason(ns, board, season, [&](const SeasonView& view) -> absl::StatusOr<Page> {
    Page page;
    if (view.source.set == nullptr) return page;
    const SortedSet& set = *view.source.set;
    // Members ranked before the range: better scores than it holds.
    const bool descending = view.order.score_order == ScoreOrder::kDescending;
    uint64_t before = 0;
    if (descending && max_score != kMax) before = set.CountInRange(max_score + 1, kMax);
    if (!descending && min_score != kMin) before = set.CountInRange(kMin, min_score - 1);
    const uint64_t start = std::max(before, StartOf(set, resume));
    const uint64_t offset = start - before;
    const std::vector<ScoredMember> members = set.RangeByScore(min_score, max_score, offset, count);
    page.entries = view.source.Entries(start, members);
    page.next_cursor =
        CursorAfter(board, view.season, members,
                    offset + members.size() < set.CountInRange(min_score, max_score));
    return page;
  });
}

absl::StatusOr<uint64_t> BoardStore::CountByScore(const std::string& ns, const std::string& board,
                                                  uint64_t season, int64_t min_score,
                                                  int64_t max_score) {
  if (min_score > max_score) {
    return absl::InvalidArgumentError("min_score must not be greater than max_score");
  }
  HP_ASSIGN_OR_RETURN(const Page page, ReadSeason(ns, board, season, [&](const SeasonView& view) {
                        Page counted;
                        if (view.source.set != nullptr) {
                          counted.in_range = view.source.set->CountInRange(min_score, max_score);
                        }
                        return absl::StatusOr<Page>(counted);
                      }));
  return page.in_range;
}

}  // namespace hotpath::leaderboard

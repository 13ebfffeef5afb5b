#include "services/leaderboard/board_store.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"
#include "services/leaderboard/board_steps.h"
#include "services/leaderboard/schedule.h"

namespace hotpath::leaderboard {
namespace {

absl::Status ValidateOptions(const v1::BoardOptions& options, const BoardLimits& limits) {
  if (!v1::SortOrder_IsValid(options.sort_order())) {
    return absl::InvalidArgumentError("options.sort_order is not a known value");
  }
  if (!v1::Operator_IsValid(options.operator_())) {
    return absl::InvalidArgumentError("options.operator is not a known value");
  }
  if (!v1::TiePolicy_IsValid(options.tie_policy())) {
    return absl::InvalidArgumentError("options.tie_policy is not a known value");
  }
  if (!v1::RankStyle_IsValid(options.rank_style())) {
    return absl::InvalidArgumentError("options.rank_style is not a known value");
  }
  if (!options.reset_schedule().empty()) {
    absl::StatusOr<ResetSchedule> schedule = ResetSchedule::Parse(options.reset_schedule());
    if (!schedule.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("options.", schedule.status().message()));
    }
  }
  if (options.keep_seasons() > limits.max_kept_seasons) {
    return absl::InvalidArgumentError(absl::StrCat("options.keep_seasons must be at most ",
                                                   limits.max_kept_seasons,
                                                   " (leaderboard.max_kept_seasons)"));
  }
  return absl::OkStatus();
}

// Unspecified choices become the defaults they stand for, so a board shows what applies.
v1::BoardOptions Normalized(v1::BoardOptions options) {
  if (options.sort_order() == v1::SORT_ORDER_UNSPECIFIED) {
    options.set_sort_order(v1::SORT_ORDER_DESCENDING);
  }
  if (options.operator_() == v1::OPERATOR_UNSPECIFIED) options.set_operator_(v1::OPERATOR_BEST);
  if (options.tie_policy() == v1::TIE_POLICY_UNSPECIFIED) {
    options.set_tie_policy(v1::TIE_POLICY_EARLIER_FIRST);
  }
  if (options.rank_style() == v1::RANK_STYLE_UNSPECIFIED) {
    options.set_rank_style(v1::RANK_STYLE_ORDINAL);
  }
  return options;
}

// The schedule's first time after `after_ms`; 0 for none.
void SetTime(int64_t unix_ms, google::protobuf::Timestamp* out) {
  out->set_seconds(unix_ms / 1000);
  out->set_nanos(static_cast<int32_t>(unix_ms % 1000) * 1'000'000);
}

void FillSeason(const v1::StoredSeason& stored, v1::Season* out) {
  out->set_number(stored.number());
  SetTime(stored.started_ms(), out->mutable_started());
  if (stored.ended_ms() != 0) SetTime(stored.ended_ms(), out->mutable_ended());
  out->set_members(stored.members());
}

v1::Board ViewOf(const std::string& name, const v1::StoredBoard& stored, uint64_t live_members) {
  v1::Board board;
  board.set_name(name);
  *board.mutable_options() = stored.options();
  SetTime(stored.created_ms(), board.mutable_created());
  v1::StoredSeason live;
  live.set_number(stored.season());
  live.set_started_ms(stored.season_started_ms());
  live.set_members(live_members);
  FillSeason(live, board.mutable_live());
  if (stored.next_reset_ms() != 0) SetTime(stored.next_reset_ms(), board.mutable_next_reset());
  for (const v1::StoredSeason& season : stored.archived()) FillSeason(season, board.add_archived());
  return board;
}

// Ends the live season if its reset is due, recording the board first; returns whether it did.

}  // namespace

uint64_t BoardStore::NextTiebreak(int64_t now_ns) {
  const uint64_t candidate = now_ns > 0 ? static_cast<uint64_t>(now_ns) : 0;
  uint64_t last = last_tiebreak_.load(std::memory_order_relaxed);
  while (true) {
    const uint64_t next = std::max(candidate, last + 1);
    if (last_tiebreak_.compare_exchange_weak(last, next, std::memory_order_relaxed)) return next;
  }
}

absl::Status BoardStore::CheckBoardName(const std::string& board) const {
  if (board.empty() || board.size() > limits_.max_board_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("board must be 1 to ", limits_.max_board_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status BoardStore::CheckMember(std::string_view member, std::string_view field) const {
  if (member.empty() || member.size() > limits_.max_member_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(field), " must be 1 to ", limits_.max_member_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> BoardStore::PageLimit(uint32_t limit, const char* field) const {
  if (limit == 0) return kDefaultPage;
  if (limit > limits_.max_page) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be at most ", limits_.max_page, " (leaderboard.max_page)"));
  }
  return limit;
}

void BoardStore::NoteNextReset(const BoardId& id, int64_t next_reset_ms) {
  absl::MutexLock lock(&mu_);
  if (auto it = boards_.find(id); it != boards_.end()) it->second = next_reset_ms;
}

void BoardStore::AfterStep(const std::string& ns, const std::string& board, const StepNotes& notes,
                           bool changed) {
  if (notes.reset) {
    if (on_reset_) on_reset_();
    NoteNextReset(BoardId(ns, board), notes.next_reset_ms);
  }
  if ((changed || notes.reset) && on_change_) on_change_(ns, board);
}

absl::StatusOr<v1::Board> BoardStore::CreateBoard(const std::string& ns, const std::string& board,
                                                  const v1::BoardOptions& options) {
  HP_RETURN_IF_ERROR(CheckBoardName(board));
  HP_RETURN_IF_ERROR(ValidateOptions(options, limits_));
  const BoardPlace place = PlaceOfBoard(board);
  absl::MutexLock lock(&mu_);
  if (boards_.size() >= limits_.max_boards) {
    return absl::ResourceExhaustedError(
        absl::StrCat("there are already ", limits_.max_boards, " boards (leaderboard.max_boards)"));
  }
  const KeyRef meta{ns, place.meta_key};
  int64_t next_reset_ms = 0;
  absl::StatusOr<v1::Board> created =
      keyspace_->InShard({meta}, [&](Shard::Locked& locked) -> absl::StatusOr<v1::Board> {
        return locked.Apply(meta, [&](Shard::Access& access) -> absl::StatusOr<v1::Board> {
          if (access.value() != nullptr) {
            return absl::AlreadyExistsError(absl::StrCat("board \"", board, "\" already exists"));
          }
          v1::StoredBoard stored;
          *stored.mutable_options() = Normalized(options);
          stored.set_created_ms(access.now_ms());
          stored.set_season(1);
          stored.set_season_started_ms(access.now_ms());
          next_reset_ms = NextReset(options.reset_schedule(), access.now_ms());
          stored.set_next_reset_ms(next_reset_ms);
          WriteBoard(access, stored);
          return ViewOf(board, stored, 0);
        });
      });
  if (!created.ok()) return created.status();
  boards_[BoardId(ns, board)] = next_reset_ms;
  return created;
}

absl::StatusOr<v1::Board> BoardStore::GetBoard(const std::string& ns, const std::string& board) {
  HP_RETURN_IF_ERROR(CheckBoardName(board));
  const BoardPlace place = PlaceOfBoard(board);
  StepNotes notes;
  absl::StatusOr<v1::Board> view = keyspace_->InShard(
      {KeyRef{ns, place.meta_key}}, [&](Shard::Locked& locked) -> absl::StatusOr<v1::Board> {
        HP_ASSIGN_OR_RETURN(const v1::StoredBoard stored, Load(locked, ns, place, &notes));
        const SortedSet* set = SetAt(locked, KeyRef{ns, place.SetKey(stored.season())});
        return ViewOf(board, stored, set == nullptr ? 0 : set->size());
      });
  AfterStep(ns, board, notes, /*changed=*/false);
  return view;
}

absl::StatusOr<std::vector<v1::Board>> BoardStore::ListBoards(const std::string& ns) {
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = boards_.lower_bound(BoardId(ns, ""));
         it != boards_.end() && it->first.first == ns; ++it) {
      names.push_back(it->first.second);
    }
  }
  std::vector<v1::Board> boards;
  for (const std::string& name : names) {
    absl::StatusOr<v1::Board> board = GetBoard(ns, name);
    if (absl::IsNotFound(board.status())) continue;  // deleted meanwhile
    if (!board.ok()) return board.status();
    boards.push_back(*std::move(board));
  }
  return boards;
}

absl::Status BoardStore::DeleteBoard(const std::string& ns, const std::string& board) {
  HP_RETURN_IF_ERROR(CheckBoardName(board));
  const BoardPlace place = PlaceOfBoard(board);
  {
    absl::MutexLock lock(&mu_);
    const KeyRef meta{ns, place.meta_key};
    HP_RETURN_IF_ERROR(keyspace_->InShard({meta}, [&](Shard::Locked& locked) -> absl::Status {
      absl::StatusOr<std::optional<v1::StoredBoard>> stored = locked.Apply(meta, ReadBoard);
      if (!stored.ok()) return stored.status();
      if (!stored->has_value()) return NoBoard(board);
      // The record goes first: a crash after it leaves only keys Start removes.
      DeleteKey(locked, ns, place.meta_key);
      DeleteSeason(locked, ns, place, (*stored)->season());
      for (const v1::StoredSeason& season : (*stored)->archived()) {
        DeleteSeason(locked, ns, place, season.number());
      }
      return absl::OkStatus();
    }));
    boards_.erase(BoardId(ns, board));
  }
  if (on_change_) on_change_(ns, board);
  return absl::OkStatus();
}

int64_t BoardStore::RunDueResets() {
  const int64_t now_ms = keyspace_->clock()->NowMillis();
  std::vector<BoardId> due;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, next] : boards_) {
      if (next != 0 && next <= now_ms) due.push_back(id);
    }
  }
  // GetBoard ends a due season as any call on the board does. The next reset is noted
  // whatever it did: a step that raced this one may have ended the season first.
  for (const BoardId& id : due) {
    absl::StatusOr<v1::Board> board = GetBoard(id.first, id.second);
    if (!board.ok()) continue;
    const google::protobuf::Timestamp& next = board->next_reset();
    NoteNextReset(id,
                  board->has_next_reset() ? next.seconds() * 1000 + next.nanos() / 1'000'000 : 0);
  }
  absl::MutexLock lock(&mu_);
  int64_t earliest = 0;
  for (const auto& [id, next] : boards_) {
    if (next != 0 && (earliest == 0 || next < earliest)) earliest = next;
  }
  return earliest;
}

absl::Status BoardStore::Start() {
  std::map<BoardId, v1::StoredBoard> found;
  struct SeasonKey {
    std::string ns;
    std::string key;
    ParsedKey parsed;
  };
  std::vector<SeasonKey> season_keys;
  absl::Status unreadable;
  keyspace_->ForEachKey([&](const KeyRef& key, const Value& value, int64_t) {
    std::optional<ParsedKey> parsed = ParseKey(key.key);
    if (!parsed.has_value()) return;
    if (parsed->kind != ParsedKey::Kind::kMeta) {
      season_keys.push_back({std::string(key.ns), std::string(key.key), *std::move(parsed)});
      return;
    }
    v1::StoredBoard board;
    if (value.type() != ValueType::kString || !board.ParseFromString(value.string())) {
      unreadable = absl::DataLossError(
          absl::StrCat("the record of board \"", parsed->board, "\" cannot be read"));
      return;
    }
    found[BoardId(std::string(key.ns), parsed->board)] = std::move(board);
  });
  HP_RETURN_IF_ERROR(unreadable);
  for (const SeasonKey& key : season_keys) {
    auto it = found.find(BoardId(key.ns, key.parsed.board));
    const bool referred =
        it != found.end() &&
        (key.parsed.season == it->second.season() ||
         std::any_of(it->second.archived().begin(), it->second.archived().end(),
                     [&](const v1::StoredSeason& s) { return s.number() == key.parsed.season; }));
    if (!referred) HP_RETURN_IF_ERROR(keyspace_->Delete(KeyRef{key.ns, key.key}).status());
  }
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, board] : found) boards_[id] = board.next_reset_ms();
  }
  RunDueResets();
  return absl::OkStatus();
}

std::vector<BoardStore::Summary> BoardStore::Summaries() {
  std::vector<BoardId> ids;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, next] : boards_) ids.push_back(id);
  }
  std::vector<Summary> summaries;
  for (const BoardId& id : ids) {
    absl::StatusOr<v1::Board> board = GetBoard(id.first, id.second);
    if (!board.ok()) continue;
    summaries.push_back({id.first, id.second, board->live().members()});
  }
  return summaries;
}

}  // namespace hotpath::leaderboard

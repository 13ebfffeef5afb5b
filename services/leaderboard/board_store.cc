#include "services/leaderboard/board_store.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/common/status_macros.h"
#include "services/leaderboard/schedule.h"

namespace hotpath::leaderboard {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
// A season start more than this many scheduled times in the past is taken to be now.
constexpr int kMaxSkippedResets = 1'000'000;

absl::Status NoBoard(const std::string& board) {
  return absl::NotFoundError(absl::StrCat("board \"", board, "\" not found"));
}

SortedSet* SetAt(Shard::Locked& locked, const KeyRef& key) {
  return locked.Apply(key, [](Shard::Access& access) -> SortedSet* {
    Value* value = access.value();
    return value != nullptr && value->type() == ValueType::kSortedSet ? &value->sorted_set()
                                                                      : nullptr;
  });
}

const Hash* HashAt(Shard::Locked& locked, const KeyRef& key) {
  return locked.Apply(key, [](Shard::Access& access) -> const Hash* {
    Value* value = access.value();
    return value != nullptr && value->type() == ValueType::kHash ? &value->hash() : nullptr;
  });
}

void DeleteKey(Shard::Locked& locked, const std::string& ns, const std::string& key) {
  locked.Apply(KeyRef{ns, key}, [](Shard::Access& access) { access.Delete(); });
}

void DeleteSeason(Shard::Locked& locked, const std::string& ns, const BoardPlace& place,
                  uint64_t season) {
  DeleteKey(locked, ns, place.SetKey(season));
  DeleteKey(locked, ns, place.MetadataKey(season));
  DeleteKey(locked, ns, place.DistinctKey(season));
}

void SetMetadata(Shard::Access& access, std::string_view member, std::string_view data) {
  Value* value = access.value();
  if (value != nullptr && value->type() != ValueType::kHash) return;
  Hash& hash = value != nullptr ? value->hash() : access.Create(Value::NewHash()).hash();
  hash.Set(member, data);
  access.Emit({.kind = MutationKind::kHashSet, .field = member, .field_value = data});
}

void DeleteMetadata(Shard::Access& access, std::string_view member) {
  Value* value = access.value();
  if (value == nullptr || value->type() != ValueType::kHash) return;
  if (!value->hash().Delete(member)) return;
  access.Emit({.kind = MutationKind::kHashDelete, .field = member});
  if (value->hash().size() == 0) access.RemoveEmpty();
}

bool Dense(const v1::BoardOptions& options) { return options.rank_style() == v1::RANK_STYLE_DENSE; }

// The distinct-score set's order: the board's, and no ties (each score is there once).
SortedSetOptions DistinctOptions(const v1::BoardOptions& options) {
  return {.score_order = SetOptionsOf(options).score_order, .ties = TieOrder::kMemberName};
}

// Keeps the distinct-score set true after a member's score went from `before` to `after`
// (nullopt: absent) in `set`.
void TrackDistinct(Shard::Locked& locked, const KeyRef& key, const v1::BoardOptions& options,
                   const SortedSet* set, std::optional<int64_t> before,
                   std::optional<int64_t> after) {
  if (!Dense(options) || before == after) return;
  locked.Apply(key, [&](Shard::Access& access) {
    if (before.has_value() && (set == nullptr || set->CountInRange(*before, *before) == 0)) {
      (void)ZsetRemoveIn(access, absl::StrCat(*before));
    }
    if (!after.has_value()) return;
    const Value* value = access.value();
    const std::string name = absl::StrCat(*after);
    if (value != nullptr && value->type() == ValueType::kSortedSet &&
        value->sorted_set().Score(name).has_value()) {
      return;
    }
    (void)ZsetUpsertIn(access, DistinctOptions(options), name, *after, 0);
  });
}

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
int64_t NextReset(const std::string& schedule, int64_t after_ms) {
  if (schedule.empty()) return 0;
  absl::StatusOr<ResetSchedule> parsed = ResetSchedule::Parse(schedule);
  if (!parsed.ok()) return 0;
  return parsed->NextAfter(after_ms).value_or(0);
}

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
bool SettleReset(Shard::Locked& locked, const std::string& ns, const BoardPlace& place,
                 v1::StoredBoard* board) {
  const int64_t now_ms = locked.now_ms();
  if (board->next_reset_ms() == 0 || now_ms < board->next_reset_ms()) return false;
  const uint64_t ended = board->season();
  const SortedSet* set = SetAt(locked, KeyRef{ns, place.SetKey(ended)});
  std::vector<uint64_t> dropped;
  const uint32_t keep = board->options().keep_seasons();
  if (keep > 0) {
    v1::StoredSeason* archived = board->add_archived();
    archived->set_number(ended);
    archived->set_started_ms(board->season_started_ms());
    archived->set_ended_ms(board->next_reset_ms());
    archived->set_members(set == nullptr ? 0 : set->size());
    for (int i = board->archived_size() - 1; i > 0; --i) {
      board->mutable_archived()->SwapElements(i, i - 1);  // newest first
    }
    while (static_cast<uint32_t>(board->archived_size()) > keep) {
      dropped.push_back(board->archived(board->archived_size() - 1).number());
      board->mutable_archived()->RemoveLast();
    }
  } else {
    dropped.push_back(ended);
  }
  // The new season starts at the latest scheduled time not after now.
  int64_t start = board->next_reset_ms();
  int64_t next = NextReset(board->options().reset_schedule(), start);
  for (int i = 0; next != 0 && next <= now_ms; ++i) {
    if (i == kMaxSkippedResets) {
      start = now_ms;
      next = NextReset(board->options().reset_schedule(), now_ms);
      break;
    }
    start = next;
    next = NextReset(board->options().reset_schedule(), start);
  }
  board->set_season(ended + 1);
  board->set_season_started_ms(start);
  board->set_next_reset_ms(next);
  locked.Apply(KeyRef{ns, place.meta_key},
               [&](Shard::Access& access) { WriteBoard(access, *board); });
  for (uint64_t season : dropped) DeleteSeason(locked, ns, place, season);
  return true;
}

// What a step learnt about the board besides its answer.
struct StepNotes {
  bool reset = false;
  int64_t next_reset_ms = 0;
};

// The board's record, with a due reset applied. NotFound for no board.
absl::StatusOr<v1::StoredBoard> Load(Shard::Locked& locked, const std::string& ns,
                                     const BoardPlace& place, StepNotes* notes) {
  absl::StatusOr<std::optional<v1::StoredBoard>> stored =
      locked.Apply(KeyRef{ns, place.meta_key}, ReadBoard);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return NoBoard(place.board);
  v1::StoredBoard board = **std::move(stored);
  notes->reset = SettleReset(locked, ns, place, &board);
  notes->next_reset_ms = board.next_reset_ms();
  return board;
}

// The member's score after a submission of `submitted`; `current` is nullopt for a new member.
absl::StatusOr<int64_t> ScoreAfter(const v1::BoardOptions& options, std::optional<int64_t> current,
                                   int64_t submitted, const std::string& field) {
  int64_t result = 0;
  switch (options.operator_()) {
    case v1::OPERATOR_SET:
      return submitted;
    case v1::OPERATOR_INCREMENT:
      if (__builtin_add_overflow(current.value_or(0), submitted, &result)) break;
      return result;
    case v1::OPERATOR_DECREMENT:
      if (__builtin_sub_overflow(current.value_or(0), submitted, &result)) break;
      return result;
    default:  // best
      if (!current.has_value()) return submitted;
      return Better(SetOptionsOf(options), submitted, *current) ? submitted : *current;
  }
  return absl::OutOfRangeError(
      absl::StrCat(field, ".score: the member's score would overflow int64"));
}

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
  if (notes.reset) {
    if (on_reset_) on_reset_();
    NoteNextReset(BoardId(ns, board), notes.next_reset_ms);
    Changed(ns, board);
  }
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
  Changed(ns, board);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::SubmitResult>> BoardStore::Submit(
    const std::string& ns, const std::string& board,
    const google::protobuf::RepeatedPtrField<v1::Submission>& submissions, const char* field) {
  HP_RETURN_IF_ERROR(CheckBoardName(board));
  if (submissions.empty() || static_cast<uint32_t>(submissions.size()) > limits_.max_batch) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must hold 1 to ", limits_.max_batch, " entries"));
  }
  std::vector<std::string> fields;
  fields.reserve(submissions.size());
  for (int i = 0; i < submissions.size(); ++i) {
    fields.push_back(submissions.size() == 1 && std::string_view(field) == "submission"
                         ? std::string(field)
                         : absl::StrCat(field, "[", i, "]"));
    const v1::Submission& s = submissions[i];
    if (s.member().empty() || s.member().size() > limits_.max_member_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(fields[i], ".member must be 1 to ", limits_.max_member_bytes, " bytes"));
    }
    if (s.metadata().size() > limits_.max_metadata_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          fields[i], ".metadata is ", s.metadata().size(), " bytes, over the limit of ",
          limits_.max_metadata_bytes, " (leaderboard.max_metadata_bytes)"));
    }
  }
  const BoardPlace place = PlaceOfBoard(board);
  StepNotes notes;
  absl::StatusOr<std::vector<v1::SubmitResult>> results = keyspace_->InShard(
      {KeyRef{ns, place.meta_key}},
      [&](Shard::Locked& locked) -> absl::StatusOr<std::vector<v1::SubmitResult>> {
        HP_ASSIGN_OR_RETURN(const v1::StoredBoard stored, Load(locked, ns, place, &notes));
        const v1::BoardOptions& options = stored.options();
        const std::string set_key = place.SetKey(stored.season());
        const std::string metadata_key = place.MetadataKey(stored.season());
        const std::string distinct_key = place.DistinctKey(stored.season());
        const KeyRef set_ref{ns, set_key};
        const KeyRef distinct_ref{ns, distinct_key};

        // First every score, so an overflow anywhere changes nothing.
        {
          const SortedSet* set = SetAt(locked, set_ref);
          absl::flat_hash_map<std::string_view, int64_t> planned;
          for (int i = 0; i < submissions.size(); ++i) {
            const std::string& member = submissions[i].member();
            std::optional<int64_t> current;
            if (auto it = planned.find(member); it != planned.end()) {
              current = it->second;
            } else if (set != nullptr) {
              current = set->Score(member);
            }
            HP_ASSIGN_OR_RETURN(planned[member],
                                ScoreAfter(options, current, submissions[i].score(), fields[i]));
          }
        }

        const SortedSetOptions order = SetOptionsOf(options);
        std::vector<v1::SubmitResult> out;
        out.reserve(submissions.size());
        for (int i = 0; i < submissions.size(); ++i) {
          const v1::Submission& s = submissions[i];
          v1::SubmitResult& result = out.emplace_back();
          SortedSet* set = SetAt(locked, set_ref);
          const std::optional<int64_t> current =
              set == nullptr ? std::nullopt : set->Score(s.member());
          HP_ASSIGN_OR_RETURN(const int64_t next,
                              ScoreAfter(options, current, s.score(), fields[i]));
          const auto rank_of = [&](const SortedSet& in, int64_t score) {
            const RankSource source{
                .set = &in, .distinct = SetAt(locked, distinct_ref), .style = options.rank_style()};
            return source.RankAt(*in.Rank(s.member()), score);
          };
          if (current.has_value() && next == *current) {
            result.set_score(next);
            result.set_rank(rank_of(*set, next));
            continue;
          }
          if (!current.has_value() && options.max_members() != 0 && set != nullptr &&
              set->size() >= options.max_members()) {
            // Full: the newcomer enters only by ranking before the last member, who leaves.
            const ScoredMember last = set->RangeByRank(set->size() - 1, 1).front();
            const bool enters = Better(order, next, last.score) ||
                                (next == last.score && order.ties == TieOrder::kMemberName &&
                                 s.member() < last.member);
            if (!enters) {
              result.set_score(next);
              continue;
            }
            const std::string leaving(last.member);
            const int64_t leaving_score = last.score;
            locked.Apply(set_ref, [&](Shard::Access& a) { (void)ZsetRemoveIn(a, leaving); });
            locked.Apply(KeyRef{ns, metadata_key},
                         [&](Shard::Access& a) { DeleteMetadata(a, leaving); });
            set = SetAt(locked, set_ref);
            TrackDistinct(locked, distinct_ref, options, set, leaving_score, std::nullopt);
          }
          const uint64_t tiebreak = NextTiebreak(locked.now_ns());
          HP_RETURN_IF_ERROR(locked
                                 .Apply(set_ref,
                                        [&](Shard::Access& a) {
                                          return ZsetUpsertIn(a, order, s.member(), next, tiebreak);
                                        })
                                 .status());
          set = SetAt(locked, set_ref);
          TrackDistinct(locked, distinct_ref, options, set, current, next);
          if (!s.metadata().empty()) {
            locked.Apply(KeyRef{ns, metadata_key},
                         [&](Shard::Access& a) { SetMetadata(a, s.member(), s.metadata()); });
          }
          result.set_score(next);
          result.set_rank(rank_of(*set, next));
          result.set_changed(true);
        }
        return out;
      });
  if (notes.reset && on_reset_) on_reset_();
  if (notes.reset) NoteNextReset(BoardId(ns, board), notes.next_reset_ms);
  if (results.ok() || notes.reset) Changed(ns, board);
  return results;
}

absl::StatusOr<bool> BoardStore::RemoveMember(const std::string& ns, const std::string& board,
                                              const std::string& member) {
  HP_RETURN_IF_ERROR(CheckBoardName(board));
  if (member.empty() || member.size() > limits_.max_member_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("member must be 1 to ", limits_.max_member_bytes, " bytes"));
  }
  const BoardPlace place = PlaceOfBoard(board);
  StepNotes notes;
  absl::StatusOr<bool> removed = keyspace_->InShard(
      {KeyRef{ns, place.meta_key}}, [&](Shard::Locked& locked) -> absl::StatusOr<bool> {
        HP_ASSIGN_OR_RETURN(const v1::StoredBoard stored, Load(locked, ns, place, &notes));
        const std::string set_key = place.SetKey(stored.season());
        const KeyRef set_ref{ns, set_key};
        const SortedSet* set = SetAt(locked, set_ref);
        const std::optional<int64_t> score = set == nullptr ? std::nullopt : set->Score(member);
        if (!score.has_value()) return false;
        locked.Apply(set_ref, [&](Shard::Access& a) { (void)ZsetRemoveIn(a, member); });
        locked.Apply(KeyRef{ns, place.MetadataKey(stored.season())},
                     [&](Shard::Access& a) { DeleteMetadata(a, member); });
        TrackDistinct(locked, KeyRef{ns, place.DistinctKey(stored.season())}, stored.options(),
                      SetAt(locked, set_ref), score, std::nullopt);
        return true;
      });
  if (notes.reset && on_reset_) on_reset_();
  if (notes.reset) NoteNextReset(BoardId(ns, board), notes.next_reset_ms);
  if ((removed.ok() && *removed) || notes.reset) Changed(ns, board);
  return removed;
}

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
  if (notes.reset) {
    if (on_reset_) on_reset_();
    NoteNextReset(BoardId(ns, board), notes.next_reset_ms);
    Changed(ns, board);
  }
  return page;
}

absl::StatusOr<Page> BoardStore::Top(const std::string& ns, const std::string& board,
                                     uint64_t season, uint32_t limit, std::string_view cursor) {
  HP_ASSIGN_OR_RETURN(const uint32_t count, PageLimit(limit, "limit"));
  std::optional<Cursor> resume;
  if (!cursor.empty()) {
    HP_ASSIGN_OR_RETURN(resume, DecodeCursor(cursor, "cursor"));
    if (season != 0 && season != resume->season) {
      return absl::InvalidArgumentError(
          absl::StrCat("cursor pages season ", resume->season, ", not season ", season));
    }
    season = resume->season;
  }
  return ReadSeason(ns, board, season, [&](const SeasonView& view) -> absl::StatusOr<Page> {
    Page page;
    if (view.source.set == nullptr) return page;
    const SortedSet& set = *view.source.set;
    const uint64_t start =
        resume.has_value() ? set.CountNotAfter({resume->member, resume->score, resume->tiebreak})
                           : 0;
    const std::vector<ScoredMember> members = set.RangeByRank(start, count);
    page.entries = view.source.Entries(start, members);
    if (!members.empty() && start + members.size() < set.size()) {
      const ScoredMember& last = members.back();
      page.next_cursor = EncodeCursor({.season = view.season,
                                       .score = last.score,
                                       .tiebreak = last.tiebreak,
                                       .member = std::string(last.member)});
    }
    return page;
  });
}

absl::StatusOr<Page> BoardStore::Around(const std::string& ns, const std::string& board,
                                        uint64_t season, const std::string& member, uint32_t above,
                                        uint32_t below) {
  if (member.empty() || member.size() > limits_.max_member_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("member must be 1 to ", limits_.max_member_bytes, " bytes"));
  }
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
  std::optional<Cursor> resume;
  if (!cursor.empty()) {
    HP_ASSIGN_OR_RETURN(resume, DecodeCursor(cursor, "cursor"));
    if (season != 0 && season != resume->season) {
      return absl::InvalidArgumentError(
          absl::StrCat("cursor pages season ", resume->season, ", not season ", season));
    }
    season = resume->season;
  }
  return ReadSeason(ns, board, season, [&](const SeasonView& view) -> absl::StatusOr<Page> {
    Page page;
    if (view.source.set == nullptr) return page;
    const SortedSet& set = *view.source.set;
    // Members ranked before the range: better scores than it holds.
    const bool descending = view.order.score_order == ScoreOrder::kDescending;
    uint64_t before = 0;
    if (descending && max_score != kMax) before = set.CountInRange(max_score + 1, kMax);
    if (!descending && min_score != kMin) before = set.CountInRange(kMin, min_score - 1);
    uint64_t start = before;
    if (resume.has_value()) {
      start = std::max(start, set.CountNotAfter({resume->member, resume->score, resume->tiebreak}));
    }
    const uint64_t in_range = set.CountInRange(min_score, max_score);
    const uint64_t offset = start - before;
    const std::vector<ScoredMember> members = set.RangeByScore(min_score, max_score, offset, count);
    page.entries = view.source.Entries(start, members);
    if (!members.empty() && offset + members.size() < in_range) {
      const ScoredMember& last = members.back();
      page.next_cursor = EncodeCursor({.season = view.season,
                                       .score = last.score,
                                       .tiebreak = last.tiebreak,
                                       .member = std::string(last.member)});
    }
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

int64_t BoardStore::RunDueResets() {
  const int64_t now_ms = keyspace_->clock()->NowMillis();
  std::vector<BoardId> due;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, next] : boards_) {
      if (next != 0 && next <= now_ms) due.push_back(id);
    }
  }
  // GetBoard ends a due season as any call on the board does, and notes the next reset.
  for (const BoardId& id : due) (void)GetBoard(id.first, id.second);
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

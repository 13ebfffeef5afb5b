#include "services/leaderboard/board_steps.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/leaderboard/schedule.h"

namespace hotpath::leaderboard {
namespace {

// The distinct-score set's order: the board's, and no ties (each score is there once).
SortedSetOptions DistinctOptions(const v1::BoardOptions& options) {
  return {.score_order = SetOptionsOf(options).score_order, .ties = TieOrder::kMemberName};
}

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
  // The new season starts at the latest scheduled time not after now (the seasons in between
  // would have been empty).
  int64_t start = board->next_reset_ms();
  int64_t next = 0;
  if (absl::StatusOr<ResetSchedule> schedule =
          ResetSchedule::Parse(board->options().reset_schedule());
      schedule.ok()) {
    start = schedule->LastIn(start, now_ms).value_or(start);
    next = schedule->NextAfter(start).value_or(0);
  }
  board->set_season(ended + 1);
  board->set_season_started_ms(start);
  board->set_next_reset_ms(next);
  locked.Apply(KeyRef{ns, place.meta_key},
               [&](Shard::Access& access) { WriteBoard(access, *board); });
  for (uint64_t season : dropped) DeleteSeason(locked, ns, place, season);
  return true;
}

}  // namespace

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

int64_t NextReset(const std::string& schedule, int64_t after_ms) {
  if (schedule.empty()) return 0;
  absl::StatusOr<ResetSchedule> parsed = ResetSchedule::Parse(schedule);
  if (!parsed.ok()) return 0;
  return parsed->NextAfter(after_ms).value_or(0);
}

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

}  // namespace hotpath::leaderboard

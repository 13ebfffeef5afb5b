#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"
#include "services/leaderboard/board_steps.h"
#include "services/leaderboard/board_store.h"
#include "services/leaderboard/ranking.h"

namespace hotpath::leaderboard {
namespace {

// How errors name submission `i` of `count` in the list called `field`: "submission" for
// SubmitScore's one, "submissions[i]" for a batch's.
std::string FieldName(const char* field, int count, int i) {
  if (count == 1 && std::string_view(field) == "submission") return field;
  return absl::StrCat(field, "[", i, "]");
}

// The member's score after a submission of `submitted`; `current` is nullopt for a new member.
// OutOfRange (its message starting ".score") past int64.
absl::StatusOr<int64_t> ScoreAfter(const v1::BoardOptions& options, std::optional<int64_t> current,
                                   int64_t submitted) {
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
  return absl::OutOfRangeError(".score: the member's score would overflow int64");
}

// OutOfRange, naming the submission, if applying `submissions` in order could take a member's
// score past int64. Exact without max_members; with it, a member refused or evicted part way
// starts over from nothing, so each such restart is checked as well (O(k^2) in one member's
// k submissions, and only then).
absl::Status CheckScores(const v1::BoardOptions& options, const SortedSet* set,
                         const google::protobuf::RepeatedPtrField<v1::Submission>& submissions,
                         const char* field) {
  if (options.operator_() != v1::OPERATOR_INCREMENT &&
      options.operator_() != v1::OPERATOR_DECREMENT) {
    return absl::OkStatus();  // best and set never compute a score
  }
  std::vector<std::string_view> members;  // in order of first appearance
  absl::flat_hash_map<std::string_view, std::vector<int>> of_member;
  for (int i = 0; i < submissions.size(); ++i) {
    std::vector<int>& indexes = of_member[submissions[i].member()];
    if (indexes.empty()) members.push_back(submissions[i].member());
    indexes.push_back(i);
  }
  for (std::string_view member : members) {
    const std::vector<int>& indexes = of_member[member];
    const size_t starts = options.max_members() == 0 ? 1 : indexes.size();
    for (size_t start = 0; start < starts; ++start) {
      std::optional<int64_t> score;
      if (start == 0 && set != nullptr) score = set->Score(member);
      for (size_t k = start; k < indexes.size(); ++k) {
        absl::StatusOr<int64_t> next = ScoreAfter(options, score, submissions[indexes[k]].score());
        if (!next.ok()) {
          return Prefixed(next.status(), FieldName(field, submissions.size(), indexes[k]));
        }
        score = *next;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<v1::SubmitResult>> BoardStore::Submit(
    const std::string& ns, const std::string& board,
    const google::protobuf::RepeatedPtrField<v1::Submission>& submissions, const char* field) {
  HP_RETURN_IF_ERROR(CheckBoardName(board));
  if (submissions.empty() || static_cast<uint32_t>(submissions.size()) > limits_.max_batch) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must hold 1 to ", limits_.max_batch, " entries"));
  }
  for (int i = 0; i < submissions.size(); ++i) {
    const v1::Submission& s = submissions[i];
    if (absl::Status member = CheckMember(s.member(), "member"); !member.ok()) {
      return Prefixed(member, FieldName(field, submissions.size(), i), ".");
    }
    if (s.metadata().size() > limits_.max_metadata_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(FieldName(field, submissions.size(), i), ".metadata is ",
                       s.metadata().size(), " bytes, over the limit of ",
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
        const KeyRef set_ref{ns, set_key};
        // Only dense ranks keep distinct scores, and only metadata (or an eviction) needs its
        // hash: their key names are made, and looked up, only then. distinct_ref names no key
        // unless dense; TrackDistinct and rank_of use it only then.
        const bool dense = Dense(options);
        const std::string distinct_key = dense ? place.DistinctKey(stored.season()) : "";
        const KeyRef distinct_ref{ns, distinct_key};
        std::string metadata_key;
        auto metadata_at = [&]() {
          if (metadata_key.empty()) metadata_key = place.MetadataKey(stored.season());
          return KeyRef{ns, metadata_key};
        };

        // First every score, so an overflow anywhere changes nothing.
        SortedSet* set = SetAt(locked, set_ref);
        HP_RETURN_IF_ERROR(CheckScores(options, set, submissions, field));

        const SortedSetOptions order = SetOptionsOf(options);
        std::vector<v1::SubmitResult> out;
        out.reserve(submissions.size());
        for (int i = 0; i < submissions.size(); ++i) {
          const v1::Submission& s = submissions[i];
          v1::SubmitResult& result = out.emplace_back();
          const std::optional<int64_t> current =
              set == nullptr ? std::nullopt : set->Score(s.member());
          // CheckScores has ruled out an overflow.
          HP_ASSIGN_OR_RETURN(const int64_t next, ScoreAfter(options, current, s.score()));
          const auto rank_of = [&](const SortedSet& in, int64_t score) {
            const RankSource source{.set = &in,
                                    .distinct = dense ? SetAt(locked, distinct_ref) : nullptr,
                                    .style = options.rank_style()};
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
            locked.Apply(metadata_at(), [&](Shard::Access& a) { DeleteMetadata(a, leaving); });
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
            locked.Apply(metadata_at(),
                         [&](Shard::Access& a) { SetMetadata(a, s.member(), s.metadata()); });
          }
          result.set_score(next);
          result.set_rank(rank_of(*set, next));
          result.set_changed(true);
        }
        return out;
      });
  const bool changed =
      results.ok() && std::any_of(results->begin(), results->end(),
                                  [](const v1::SubmitResult& r) { return r.changed(); });
  AfterStep(ns, board, notes, changed);
  return results;
}

absl::StatusOr<bool> BoardStore::RemoveMember(const std::string& ns, const std::string& board,
                                              const std::string& member) {
  HP_RETURN_IF_ERROR(CheckBoardName(board));
  HP_RETURN_IF_ERROR(CheckMember(member, "member"));
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
  AfterStep(ns, board, notes, /*changed=*/removed.ok() && *removed);
  return removed;
}

}  // namespace hotpath::leaderboard

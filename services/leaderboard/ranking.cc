#include "services/leaderboard/ranking.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace hotpath::leaderboard {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// How many members of `set` have a score strictly better than `score`.
uint64_t CountBetter(const SortedSet& set, int64_t score) {
  if (set.options().score_order == ScoreOrder::kDescending) {
    return score == kMax ? 0 : set.CountInRange(score + 1, kMax);
  }
  return score == kMin ? 0 : set.CountInRange(kMin, score - 1);
}

}  // namespace

bool Better(const SortedSetOptions& options, int64_t score, int64_t other) {
  return options.score_order == ScoreOrder::kDescending ? score > other : score < other;
}

uint64_t RankSource::RankAt(uint64_t position, int64_t score) const {
  switch (style) {
    case v1::RANK_STYLE_COMPETITION:
      return 1 + CountBetter(*set, score);
    case v1::RANK_STYLE_DENSE:
      return 1 + (distinct == nullptr ? 0 : CountBetter(*distinct, score));
    default:
      return 1 + position;
  }
}

std::vector<v1::Entry> RankSource::Entries(uint64_t first_position,
                                           const std::vector<ScoredMember>& members) const {
  std::vector<v1::Entry> entries;
  entries.reserve(members.size());
  uint64_t rank = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    const ScoredMember& m = members[i];
    const uint64_t position = first_position + i;
    if (i == 0) {
      rank = RankAt(position, m.score);
    } else if (style == v1::RANK_STYLE_ORDINAL || style == v1::RANK_STYLE_UNSPECIFIED) {
      rank = position + 1;
    } else if (m.score != members[i - 1].score) {
      rank = style == v1::RANK_STYLE_DENSE ? rank + 1 : position + 1;
    }
    v1::Entry& entry = entries.emplace_back();
    entry.set_member(std::string(m.member));
    entry.set_score(m.score);
    entry.set_rank(rank);
    if (metadata != nullptr) {
      if (std::optional<std::string_view> data = metadata->Get(m.member); data.has_value()) {
        entry.set_metadata(std::string(*data));
      }
    }
  }
  return entries;
}

}  // namespace hotpath::leaderboard

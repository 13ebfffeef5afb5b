// Ranks in a board's rank style, and entries as the API shows them. Internal to the board
// store; every function runs inside the board's step (the shard lock held).
//
// A board's sorted set gives each member its ordinal position in O(log n). The other styles
// follow from counts: a competition rank (1 2 2 4) is 1 + the members with a strictly better
// score; a dense rank (1 2 2 3) is 1 + the distinct better scores, counted in the board's
// set of distinct scores (board_layout.h). A page computes its first rank so and the rest by
// walking: O(log n + page) in every style.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/hash/hash.h"
#include "engine/zset/sorted_set.h"
#include "hotpath/leaderboard/v1/leaderboard.pb.h"

namespace hotpath::leaderboard {

// What ranks read: the season's members, their distinct scores (dense only, else null or
// empty), and their metadata (null when none).
struct RankSource {
  const SortedSet* set = nullptr;  // null for an empty season
  const SortedSet* distinct = nullptr;
  const Hash* metadata = nullptr;
  v1::RankStyle style = v1::RANK_STYLE_ORDINAL;

  uint64_t size() const { return set == nullptr ? 0 : set->size(); }
  // The 1-based rank of the member at 0-based `position`, whose score is `score`.
  uint64_t RankAt(uint64_t position, int64_t score) const;
  // Entries for `members`, which sit at consecutive positions from `first_position`.
  std::vector<v1::Entry> Entries(uint64_t first_position,
                                 const std::vector<ScoredMember>& members) const;
};

// Whether `score` ranks strictly before `other` in a set of that order.
bool Better(const SortedSetOptions& options, int64_t score, int64_t other);

}  // namespace hotpath::leaderboard

// The pieces of a board's step (one Keyspace::InShard call on the board's shard) that the
// board store's operations share: reaching the board's keys, keeping metadata and distinct
// scores in step with the members, and ending a due season. Internal to the board store.
//
// Every function runs inside the step, with the shard lock held; pointers returned stay valid
// until their key is deleted or the step ends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/keyspace.h"
#include "hotpath/leaderboard/v1/storage.pb.h"
#include "services/leaderboard/board_layout.h"

namespace hotpath::leaderboard {

absl::Status NoBoard(const std::string& board);

// The sorted set or hash under `key`, or null when the key holds none.
SortedSet* SetAt(Shard::Locked& locked, const KeyRef& key);
const Hash* HashAt(Shard::Locked& locked, const KeyRef& key);

void DeleteKey(Shard::Locked& locked, const std::string& ns, const std::string& key);
// Deletes season `season`'s members, metadata and distinct scores.
void DeleteSeason(Shard::Locked& locked, const std::string& ns, const BoardPlace& place,
                  uint64_t season);

// A member's metadata in the season's metadata hash (`access` is on that key).
void SetMetadata(Shard::Access& access, std::string_view member, std::string_view data);
void DeleteMetadata(Shard::Access& access, std::string_view member);

bool Dense(const v1::BoardOptions& options);
// Keeps the distinct-score set (`key`, DENSE boards only) true after a member's score went
// from `before` to `after` (nullopt: absent) in `set`, the season's members after the change.
void TrackDistinct(Shard::Locked& locked, const KeyRef& key, const v1::BoardOptions& options,
                   const SortedSet* set, std::optional<int64_t> before,
                   std::optional<int64_t> after);

// The schedule's first time after `after_ms`; 0 for none (or no schedule).
int64_t NextReset(const std::string& schedule, int64_t after_ms);

// What a step learnt about the board besides its answer.
struct StepNotes {
  bool reset = false;         // the step ended the live season
  int64_t next_reset_ms = 0;  // the board's next reset after the step
};

// The board's record, after ending the live season if its reset time has passed (recording
// the board before deleting a season that falls out of keep_seasons). NotFound for no board,
// DataLoss for a record that cannot be read.
absl::StatusOr<v1::StoredBoard> Load(Shard::Locked& locked, const std::string& ns,
                                     const BoardPlace& place, StepNotes* notes);

}  // namespace hotpath::leaderboard

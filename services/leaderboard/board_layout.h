// How boards sit in the engine: key names, reading and writing a board's record, and cursors.
// Internal to the board store (board_store.h has the rules).
//
// Per namespace, with T = SlotTag of the board name's slot, so all of a board's keys share a
// shard and every operation on a board is one Keyspace::InShard step:
//   lb:{T}<board>        string: the StoredBoard (storage.proto)
//   lz:{T}<N>:<board>    sorted set: season N's members and scores
//   lm:{T}<N>:<board>    hash: member -> metadata, for members that have any
//   ld:{T}<N>:<board>    sorted set of the distinct scores (member = the score in decimal);
//                        only under RANK_STYLE_DENSE, where a rank counts distinct scores
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/keyspace.h"
#include "hotpath/leaderboard/v1/storage.pb.h"

namespace hotpath::leaderboard {

// The keys of one board.
struct BoardPlace {
  std::string board;
  std::string tag;       // SlotTag of the board name's slot
  std::string meta_key;  // lb:{T}<board>

  std::string SetKey(uint64_t season) const;       // lz:
  std::string MetadataKey(uint64_t season) const;  // lm:
  std::string DistinctKey(uint64_t season) const;  // ld:
};
BoardPlace PlaceOfBoard(std::string_view board);

// What a stored key of some board is, from its name (for the scan at start).
struct ParsedKey {
  enum class Kind { kMeta, kSet, kMetadata, kDistinct };
  Kind kind = Kind::kMeta;
  std::string board;
  uint64_t season = 0;  // not for kMeta
};
// Nullopt for a key that is not a board's.
std::optional<ParsedKey> ParseKey(std::string_view key);

// The board record under `access`, nullopt when absent. DataLoss if it cannot be read.
absl::StatusOr<std::optional<v1::StoredBoard>> ReadBoard(Shard::Access& access);
void WriteBoard(Shard::Access& access, const v1::StoredBoard& board);

// Sorted-set order and tie options of a board.
SortedSetOptions SetOptionsOf(const v1::BoardOptions& options);

// A page's resume point: after (score, tiebreak, member) in season `season` of `board`.
struct Cursor {
  std::string board;
  uint64_t season = 0;
  int64_t score = 0;
  uint64_t tiebreak = 0;
  std::string member;
};
std::string EncodeCursor(const Cursor& cursor);
// InvalidArgument naming `field` for anything EncodeCursor did not make.
absl::StatusOr<Cursor> DecodeCursor(std::string_view text, const char* field);

}  // namespace hotpath::leaderboard

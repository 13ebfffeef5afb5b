#include "services/leaderboard/board_layout.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/common/absl_view.h"
#include "engine/slot.h"

namespace hotpath::leaderboard {
namespace {

// Version 2 names the board, so a cursor cannot page another board.
constexpr char kCursorVersion = 2;
constexpr size_t kCursorHeader = 1 + 4 * 8;  // version, season, score, tiebreak, board size

void Put64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint64_t Get64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

std::string SeasonKey(std::string_view prefix, const BoardPlace& place, uint64_t season) {
  return absl::StrCat(AbslView(prefix), "{", place.tag, "}", season, ":", place.board);
}

}  // namespace

std::string BoardPlace::SetKey(uint64_t season) const { return SeasonKey("lz:", *this, season); }
std::string BoardPlace::MetadataKey(uint64_t season) const {
  return SeasonKey("lm:", *this, season);
}
std::string BoardPlace::DistinctKey(uint64_t season) const {
  return SeasonKey("ld:", *this, season);
}

BoardPlace PlaceOfBoard(std::string_view board) {
  BoardPlace place{.board = std::string(board), .tag = std::string(SlotTag(KeySlot(board)))};
  place.meta_key = absl::StrCat("lb:{", place.tag, "}", AbslView(board));
  return place;
}

std::optional<ParsedKey> ParseKey(std::string_view key) {
  if (key.size() < 5 || key[0] != 'l' || key[2] != ':' || key[3] != '{') return std::nullopt;
  ParsedKey parsed;
  switch (key[1]) {
    case 'b':
      parsed.kind = ParsedKey::Kind::kMeta;
      break;
    case 'z':
      parsed.kind = ParsedKey::Kind::kSet;
      break;
    case 'm':
      parsed.kind = ParsedKey::Kind::kMetadata;
      break;
    case 'd':
      parsed.kind = ParsedKey::Kind::kDistinct;
      break;
    default:
      return std::nullopt;
  }
  const size_t close = key.find('}');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = key.substr(close + 1);
  if (parsed.kind != ParsedKey::Kind::kMeta) {
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos ||
        !absl::SimpleAtoi(AbslView(rest.substr(0, colon)), &parsed.season)) {
      return std::nullopt;
    }
    rest = rest.substr(colon + 1);
  }
  if (rest.empty()) return std::nullopt;
  parsed.board = std::string(rest);
  return parsed;
}

absl::StatusOr<std::optional<v1::StoredBoard>> ReadBoard(Shard::Access& access) {
  const Value* value = access.value();
  if (value == nullptr) return std::nullopt;
  v1::StoredBoard board;
  if (value->type() != ValueType::kString || !board.ParseFromString(value->string())) {
    return absl::DataLossError("a stored board cannot be read");
  }
  return board;
}

void WriteBoard(Shard::Access& access, const v1::StoredBoard& board) {
  access.Upsert(Value::String(board.SerializeAsString()), 0);
}

SortedSetOptions SetOptionsOf(const v1::BoardOptions& options) {
  return {.score_order = options.sort_order() == v1::SORT_ORDER_ASCENDING ? ScoreOrder::kAscending
                                                                          : ScoreOrder::kDescending,
          .ties = options.tie_policy() == v1::TIE_POLICY_MEMBER_ID ? TieOrder::kMemberName
                                                                   : TieOrder::kEarlierFirst};
}

std::string EncodeCursor(const Cursor& cursor) {
  std::string raw(1, kCursorVersion);
  Put64(cursor.season, &raw);
  Put64(static_cast<uint64_t>(cursor.score), &raw);
  Put64(cursor.tiebreak, &raw);
  Put64(cursor.board.size(), &raw);
  raw += cursor.board;
  raw += cursor.member;
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<Cursor> DecodeCursor(std::string_view text, const char* field) {
  std::string raw;
  const bool decoded = absl::WebSafeBase64Unescape(AbslView(text), &raw) &&
                       raw.size() > kCursorHeader && raw[0] == kCursorVersion;
  // The board and a member (never empty) follow the header.
  const uint64_t board_size = decoded ? Get64(raw.data() + 25) : 0;
  if (!decoded || board_size >= raw.size() - kCursorHeader) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not a cursor this server made"));
  }
  Cursor cursor;
  cursor.season = Get64(raw.data() + 1);
  cursor.score = static_cast<int64_t>(Get64(raw.data() + 9));
  cursor.tiebreak = Get64(raw.data() + 17);
  cursor.board = raw.substr(kCursorHeader, board_size);
  cursor.member = raw.substr(kCursorHeader + board_size);
  return cursor;
}

}  // namespace hotpath::leaderboard

#include "engine/zset/sorted_set.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace hotpath {

SortedSet::SortedSet(const SortedSetOptions& options)
    : options_(options), tree_(&arena_), index_(0, NameHash{&arena_}, NameEq{&arena_}) {}

std::optional<MemberId> SortedSet::Find(std::string_view member) const {
  auto it = index_.find(member);
  if (it == index_.end()) return std::nullopt;
  return *it;
}

SortedSet::Image SortedSet::TakeImage() const {
  Image image(options_, arena_.Share());
  image.order_.reserve(tree_.size());
  for (OrderTree::Cursor c = tree_.At(0); c.valid(); tree_.Next(c)) {
    image.order_.push_back(tree_.Get(c));
  }
  return image;
}

absl::StatusOr<std::optional<int64_t>> SortedSet::Upsert(std::string_view member, int64_t score,
                                                         uint64_t tiebreak) {
  if (member.empty()) return absl::InvalidArgumentError("member must not be empty");
  if (member.size() > MemberArena::kMaxNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "member is ", member.size(), " bytes; the limit is ", MemberArena::kMaxNameBytes));
  }
  if (options_.ties == TieOrder::kMemberName) tiebreak = 0;
  const int64_t stored = Stored(score);
  if (std::optional<MemberId> id = Find(member)) {
    const int64_t previous = Stored(arena_.score(*id));
    if (arena_.score(*id) != stored || arena_.tiebreak(*id) != tiebreak) {
      tree_.Erase(*id);
      arena_.set_order(*id, stored, tiebreak);
      tree_.Insert(*id);
    }
    return previous;
  }
  if (arena_.full()) {
    return absl::ResourceExhaustedError("sorted set is full (16 GiB of members)");
  }
  const MemberId id = arena_.Add(member, stored, tiebreak);
  index_.insert(id);
  tree_.Insert(id);
  return std::nullopt;
}

bool SortedSet::Erase(std::string_view member) {
  std::optional<MemberId> id = Find(member);
  if (!id.has_value()) return false;
  tree_.Erase(*id);
  index_.erase(*id);
  arena_.Remove(*id);
  MaybeCompact();
  return true;
}

std::optional<int64_t> SortedSet::Score(std::string_view member) const {
  std::optional<MemberId> id = Find(member);
  if (!id.has_value()) return std::nullopt;
  return Stored(arena_.score(*id));
}

std::optional<uint64_t> SortedSet::Rank(std::string_view member, bool reverse) const {
  std::optional<MemberId> id = Find(member);
  if (!id.has_value()) return std::nullopt;
  const uint64_t rank = tree_.Rank(*id);
  return reverse ? tree_.size() - 1 - rank : rank;
}

std::vector<ScoredMember> SortedSet::RangeByRank(uint64_t start, uint64_t count,
                                                 bool reverse) const {
  return Collect(0, tree_.size(), start, count, reverse);
}

std::pair<uint64_t, uint64_t> SortedSet::StoredRange(int64_t min, int64_t max) const {
  if (min > max) return {0, 0};
  // Descending sets store ~score, which reverses the order without overflow.
  const int64_t low = options_.score_order == ScoreOrder::kDescending ? ~max : min;
  const int64_t high = options_.score_order == ScoreOrder::kDescending ? ~min : max;
  const uint64_t first = tree_.CountLess(OrderKey{low, 0, OrderKey::kBeforeAllNames});
  const uint64_t end = tree_.CountLess(OrderKey{high, UINT64_MAX, OrderKey::kAfterAllNames});
  return {first, end};
}

std::vector<ScoredMember> SortedSet::RangeByScore(int64_t min, int64_t max, uint64_t offset,
                                                  uint64_t limit, bool reverse) const {
  const auto [first, end] = StoredRange(min, max);
  return Collect(first, end, offset, limit, reverse);
}

uint64_t SortedSet::CountInRange(int64_t min, int64_t max) const {
  const auto [first, end] = StoredRange(min, max);
  return end - first;
}

uint64_t SortedSet::CountNotAfter(const ScoredMember& position) const {
  const uint64_t tiebreak = options_.ties == TieOrder::kEarlierFirst ? position.tiebreak : 0;
  const OrderKey key{Stored(position.score), tiebreak, OrderKey::kProbeName, position.member};
  const uint64_t before = tree_.CountLess(key);
  // CountLess leaves out a member sitting exactly at the position.
  const std::optional<MemberId> id = Find(position.member);
  const bool at =
      id.has_value() && arena_.score(*id) == key.score && arena_.tiebreak(*id) == tiebreak;
  return before + (at ? 1 : 0);
}

std::vector<ScoredMember> SortedSet::Collect(uint64_t first, uint64_t end, uint64_t offset,
                                             uint64_t limit, bool reverse) const {
  std::vector<ScoredMember> out;
  if (first >= end || offset >= end - first || limit == 0) return out;
  const uint64_t n = std::min(limit, end - first - offset);
  out.reserve(n);
  OrderTree::Cursor cursor = tree_.At(reverse ? end - 1 - offset : first + offset);
  for (uint64_t i = 0; i < n && cursor.valid(); ++i) {
    out.push_back(Entry(tree_.Get(cursor)));
    if (reverse) {
      tree_.Prev(cursor);
    } else {
      tree_.Next(cursor);
    }
  }
  return out;
}

void SortedSet::MaybeCompact() {
  constexpr size_t kMinDeadBytes = 64 * 1024;
  const bool arena_sparse =
      arena_.dead_bytes() > kMinDeadBytes && arena_.dead_bytes() > arena_.live_bytes();
  const bool tree_sparse = tree_.leaf_count() > 4 &&
                           tree_.size() * 10 < tree_.leaf_count() * OrderTree::kLeafCapacity * 4;
  if (!arena_sparse && !tree_sparse) return;
  MemberArena fresh;
  std::vector<MemberId> ordered;
  ordered.reserve(tree_.size());
  for (OrderTree::Cursor c = tree_.At(0); c.valid(); tree_.Next(c)) {
    const MemberId id = tree_.Get(c);
    ordered.push_back(fresh.Add(arena_.name(id), arena_.score(id), arena_.tiebreak(id)));
  }
  arena_ = std::move(fresh);
  tree_.Build(ordered);
  index_.clear();
  index_.reserve(ordered.size());
  for (MemberId id : ordered) index_.insert(id);
}

size_t SortedSet::MemoryBytes() const {
  const size_t index_bytes = index_.capacity() * (sizeof(MemberId) + 1);
  return sizeof(*this) + arena_.MemoryBytes() + tree_.MemoryBytes() + index_bytes;
}

SortedSet::Loader::Loader(const SortedSetOptions& options, size_t expected_members)
    : set_(std::make_unique<SortedSet>(options)) {
  ordered_.reserve(expected_members);
  set_->index_.reserve(expected_members);
}

absl::Status SortedSet::Loader::Add(std::string_view member, int64_t score, uint64_t tiebreak) {
  if (member.empty() || member.size() > MemberArena::kMaxNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat("member of ", member.size(),
                                                   " bytes; names are 1 to ",
                                                   MemberArena::kMaxNameBytes, " bytes"));
  }
  if (set_->options_.ties == TieOrder::kMemberName) tiebreak = 0;
  if (set_->arena_.full()) return absl::ResourceExhaustedError("sorted set is full");
  const MemberId id = set_->arena_.Add(member, set_->Stored(score), tiebreak);
  if (!ordered_.empty() &&
      !set_->tree_.Less(set_->tree_.KeyOf(ordered_.back()), set_->tree_.KeyOf(id))) {
    return absl::InvalidArgumentError(
        absl::StrCat("member ", ordered_.size(), " does not order after the one before it"));
  }
  if (!set_->index_.insert(id).second) {
    return absl::InvalidArgumentError(absl::StrCat("member ", ordered_.size(), " repeats a name"));
  }
  ordered_.push_back(id);
  return absl::OkStatus();
}

std::unique_ptr<SortedSet> SortedSet::Loader::Finish() && {
  set_->tree_.Build(ordered_);
  return std::move(set_);
}

}  // namespace hotpath

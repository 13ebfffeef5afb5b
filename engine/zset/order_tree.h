// OrderTree: an order-statistic B+tree over member ids, ordered by (score, tiebreak, name).
//
// Leaves hold only 4-byte ids (the keys live once, in the MemberArena); inner nodes hold, per
// child, the subtree's entry count and a separator key (score, tiebreak, id). Ranks come from
// summing the counts left of the search path, so every query is O(log n) with no O(offset) walk.
//
// Invariants:
//   - in-order traversal of the leaves (linked both ways) yields ids in strictly increasing key
//     order; keys are unique because names are unique;
//   - counts[i] of an inner node equals the number of ids under children[i];
//   - separator[i] (i >= 1) is <= every key under children[i] and > every key under
//     children[i - 1] (separators need not be exact minimums after erasures).
// Leaves are never merged; an emptied leaf is unlinked. SortedSet rebuilds the tree (Build)
// when it gets sparse, which also keeps memory near 5 bytes per member.
//
// Complexity: Insert, Erase, Rank, CountLess and At are O(log n) node visits; each leaf search
// reads at most log2(64) keys from the arena. Iteration from a Cursor is O(1) per step.
// Thread safety: none; the owning shard's lock guards every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/zset/member_arena.h"

namespace hotpath {

using MemberId = MemberArena::Id;

// A position in the order. `id` may be one of the sentinels to bound a range of names, or
// kProbeName to stand for `probe`, a name that need not be in the set (resuming a page after a
// member that has since moved or gone).
struct OrderKey {
  static constexpr MemberId kProbeName = 0xFFFFFFFDu;
  static constexpr MemberId kBeforeAllNames = 0xFFFFFFFEu;
  static constexpr MemberId kAfterAllNames = 0xFFFFFFFFu;

  int64_t score = 0;
  uint64_t tiebreak = 0;
  MemberId id = kBeforeAllNames;
  std::string_view probe;  // the name, when id is kProbeName
};

class OrderTree {
 public:
  static constexpr int kLeafCapacity = 64;
  static constexpr int kInnerCapacity = 32;

  struct Leaf;
  // A position in the leaves; valid until the next mutation.
  struct Cursor {
    const Leaf* leaf = nullptr;
    int index = 0;
    bool valid() const { return leaf != nullptr; }
  };

  explicit OrderTree(const MemberArena* arena) : arena_(arena) {}
  ~OrderTree();
  OrderTree(const OrderTree&) = delete;
  OrderTree& operator=(const OrderTree&) = delete;

  // Inserts `id` under its current arena key, which must not be present.
  void Insert(MemberId id);
  // Removes `id`, found by its current arena key. Returns false if absent.
  bool Erase(MemberId id);
  // Replaces the contents with `ordered` (ids in increasing key order), leaves ~85% full.
  void Build(const std::vector<MemberId>& ordered);

  uint64_t size() const { return size_; }
  // How many ids order before `key`.
  uint64_t CountLess(const OrderKey& key) const;
  // 0-based rank of a present id. Inner nodes are searched by key; in the leaf the id itself is
  // looked for, which reads no arena records (the cache misses a key search would cost).
  uint64_t Rank(MemberId id) const;

  // The position of rank `rank`, or an invalid cursor if rank >= size().
  Cursor At(uint64_t rank) const;
  MemberId Get(const Cursor& cursor) const;
  void Next(Cursor& cursor) const;
  void Prev(Cursor& cursor) const;

  size_t leaf_count() const { return leaves_; }
  size_t MemoryBytes() const;

  OrderKey KeyOf(MemberId id) const {
    return OrderKey{arena_->score(id), arena_->tiebreak(id), id};
  }
  bool Less(const OrderKey& a, const OrderKey& b) const;

 private:
  struct Node;
  struct Inner;
  struct Split;  // a new right sibling produced by a split, for the parent to adopt

  // The inner nodes and child indexes a descent passed through, root first.
  struct Path {
    struct Step {
      Inner* node;
      int index;
    };
    Step steps[32];  // a B+tree of 32-way nodes this deep would hold 2^160 ids
    int depth = 0;
  };

  // The leaf where `key` belongs; records the way down in `path`.
  Leaf* Descend(const OrderKey& key, Path* path) const;
  // The leaf where `key` belongs; adds the ids in subtrees left of the way down to `before`.
  const Leaf* DescendCounting(const OrderKey& key, uint64_t* before) const;
  static uint32_t SizeOf(const Node* node);
  void Free(Node* node);
  int LeafLowerBound(const Leaf* leaf, const OrderKey& key) const;
  // The index of `id` in `leaf`, or -1.
  static int LeafIndexOf(const Leaf* leaf, MemberId id);
  int ChildFor(const Inner* inner, const OrderKey& key) const;
  void UnlinkLeaf(Leaf* leaf);

  const MemberArena* const arena_;
  Node* root_ = nullptr;
  uint64_t size_ = 0;
  size_t leaves_ = 0;
  size_t inners_ = 0;
};

}  // namespace hotpath

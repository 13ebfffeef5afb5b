#include "engine/zset/order_tree.h"

#include <algorithm>

#include "engine/common/check.h"

namespace hotpath {

struct OrderTree::Node {
  explicit Node(bool leaf) : is_leaf(leaf) {}
  const bool is_leaf;
  int count = 0;  // ids in a leaf, children in an inner node
};

struct OrderTree::Leaf : OrderTree::Node {
  Leaf() : Node(true) {}
  Leaf* prev = nullptr;
  Leaf* next = nullptr;
  MemberId ids[kLeafCapacity];
};

// Separators are kept as parallel arrays (structure of arrays) so a search scans scores
// contiguously and touches tiebreaks and ids only on equal scores.
struct OrderTree::Inner : OrderTree::Node {
  Inner() : Node(false) {}
  Node* children[kInnerCapacity];
  uint32_t counts[kInnerCapacity];
  int64_t scores[kInnerCapacity];
  uint64_t tiebreaks[kInnerCapacity];
  MemberId ids[kInnerCapacity];

  OrderKey Separator(int i) const { return OrderKey{scores[i], tiebreaks[i], ids[i]}; }
  void SetSeparator(int i, const OrderKey& key) {
    scores[i] = key.score;
    tiebreaks[i] = key.tiebreak;
    ids[i] = key.id;
  }
};

OrderTree::~OrderTree() { Free(root_); }

void OrderTree::Free(Node* node) {
  if (node == nullptr) return;
  if (node->is_leaf) {
    delete static_cast<Leaf*>(node);
    return;
  }
  auto* inner = static_cast<Inner*>(node);
  for (int i = 0; i < inner->count; ++i) Free(inner->children[i]);
  delete inner;
}

bool OrderTree::Less(const OrderKey& a, const OrderKey& b) const {
  if (a.score != b.score) return a.score < b.score;
  if (a.tiebreak != b.tiebreak) return a.tiebreak < b.tiebreak;
  if (a.id == b.id) return false;
  if (a.id == OrderKey::kBeforeAllNames || b.id == OrderKey::kAfterAllNames) return true;
  if (a.id == OrderKey::kAfterAllNames || b.id == OrderKey::kBeforeAllNames) return false;
  const std::string_view a_name = a.id == OrderKey::kProbeName ? a.probe : arena_->name(a.id);
  const std::string_view b_name = b.id == OrderKey::kProbeName ? b.probe : arena_->name(b.id);
  return a_name < b_name;
}

int OrderTree::LeafLowerBound(const Leaf* leaf, const OrderKey& key) const {
  int low = 0;
  int high = leaf->count;
  while (low < high) {
    const int mid = (low + high) / 2;
    if (Less(KeyOf(leaf->ids[mid]), key)) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return low;
}

int OrderTree::ChildFor(const Inner* inner, const OrderKey& key) const {
  // The last child whose separator is <= key; child 0 has no separator.
  int low = 1;
  int high = inner->count;
  while (low < high) {
    const int mid = (low + high) / 2;
    if (Less(key, inner->Separator(mid))) {
      high = mid;
    } else {
      low = mid + 1;
    }
  }
  return low - 1;
}

OrderTree::Leaf* OrderTree::Descend(const OrderKey& key, Path* path) const {
  Node* node = root_;
  while (!node->is_leaf) {
    auto* inner = static_cast<Inner*>(node);
    const int index = ChildFor(inner, key);
    path->steps[path->depth++] = {inner, index};
    node = inner->children[index];
  }
  return static_cast<Leaf*>(node);
}

uint32_t OrderTree::SizeOf(const Node* node) {
  if (node->is_leaf) return static_cast<uint32_t>(node->count);
  const auto* inner = static_cast<const Inner*>(node);
  uint32_t total = 0;
  for (int i = 0; i < inner->count; ++i) total += inner->counts[i];
  return total;
}

void OrderTree::Insert(MemberId id) {
  const OrderKey key = KeyOf(id);
  if (root_ == nullptr) {
    root_ = new Leaf();
    leaves_ = 1;
  }
  Path path;
  Leaf* leaf = Descend(key, &path);
  const int depth = path.depth;
  const int pos = LeafLowerBound(leaf, key);
  HP_DCHECK(pos == leaf->count || leaf->ids[pos] != id);

  Node* sibling = nullptr;  // a new right neighbour of the node just below the current level
  OrderKey sibling_key;
  if (leaf->count < kLeafCapacity) {
    std::copy_backward(leaf->ids + pos, leaf->ids + leaf->count, leaf->ids + leaf->count + 1);
    leaf->ids[pos] = id;
    ++leaf->count;
  } else {
    auto* right = new Leaf();
    ++leaves_;
    // Appending past the last leaf (ascending inserts) leaves the full leaf full.
    const int mid =
        (pos == kLeafCapacity && leaf->next == nullptr) ? kLeafCapacity : kLeafCapacity / 2;
    std::copy(leaf->ids + mid, leaf->ids + kLeafCapacity, right->ids);
    right->count = kLeafCapacity - mid;
    leaf->count = mid;
    right->next = leaf->next;
    if (right->next != nullptr) right->next->prev = right;
    right->prev = leaf;
    leaf->next = right;
    Leaf* target = pos <= mid && mid < kLeafCapacity ? leaf : right;
    const int at = target == leaf ? pos : pos - mid;
    std::copy_backward(target->ids + at, target->ids + target->count,
                       target->ids + target->count + 1);
    target->ids[at] = id;
    ++target->count;
    sibling = right;
    sibling_key = KeyOf(right->ids[0]);
  }
  ++size_;

  for (int d = depth - 1; d >= 0; --d) {
    Inner* inner = path.steps[d].node;
    const int index = path.steps[d].index;
    if (sibling == nullptr) {
      ++inner->counts[index];
      continue;
    }
    // Adopt `sibling` right after children[index], in a scratch copy one longer than a node.
    Node* children[kInnerCapacity + 1];
    uint32_t counts[kInnerCapacity + 1];
    OrderKey keys[kInnerCapacity + 1];
    int n = 0;
    for (int i = 0; i < inner->count; ++i) {
      children[n] = inner->children[i];
      counts[n] = i == index ? SizeOf(inner->children[i]) : inner->counts[i];
      keys[n] = inner->Separator(i);
      ++n;
      if (i == index) {
        children[n] = sibling;
        counts[n] = SizeOf(sibling);
        keys[n] = sibling_key;
        ++n;
      }
    }
    Inner* left = inner;
    Inner* right = nullptr;
    int left_n = n;
    if (n > kInnerCapacity) {
      right = new Inner();
      ++inners_;
      left_n = n / 2;
    }
    left->count = left_n;
    for (int i = 0; i < left_n; ++i) {
      left->children[i] = children[i];
      left->counts[i] = counts[i];
      left->SetSeparator(i, keys[i]);
    }
    if (right != nullptr) {
      right->count = n - left_n;
      for (int i = left_n; i < n; ++i) {
        right->children[i - left_n] = children[i];
        right->counts[i - left_n] = counts[i];
        right->SetSeparator(i - left_n, keys[i]);
      }
      sibling = right;
      sibling_key = keys[left_n];
    } else {
      sibling = nullptr;
    }
  }
  if (sibling != nullptr) {
    auto* root = new Inner();
    ++inners_;
    root->count = 2;
    root->children[0] = root_;
    root->children[1] = sibling;
    root->counts[0] = SizeOf(root_);
    root->counts[1] = SizeOf(sibling);
    root->SetSeparator(0, OrderKey{});
    root->SetSeparator(1, sibling_key);
    root_ = root;
  }
}

void OrderTree::UnlinkLeaf(Leaf* leaf) {
  if (leaf->prev != nullptr) leaf->prev->next = leaf->next;
  if (leaf->next != nullptr) leaf->next->prev = leaf->prev;
}

bool OrderTree::Erase(MemberId id) {
  if (root_ == nullptr) return false;
  const OrderKey key = KeyOf(id);
  Path path;
  Leaf* leaf = Descend(key, &path);
  const int depth = path.depth;
  const int pos = LeafIndexOf(leaf, id);
  if (pos < 0) return false;
  std::copy(leaf->ids + pos + 1, leaf->ids + leaf->count, leaf->ids + pos);
  --leaf->count;
  --size_;
  for (int d = 0; d < depth; ++d) --path.steps[d].node->counts[path.steps[d].index];

  // Remove emptied nodes bottom-up.
  Node* emptied = leaf->count == 0 ? leaf : nullptr;
  for (int d = depth - 1; d >= 0 && emptied != nullptr; --d) {
    if (emptied->is_leaf) {
      UnlinkLeaf(static_cast<Leaf*>(emptied));
      delete static_cast<Leaf*>(emptied);
      --leaves_;
    } else {
      delete static_cast<Inner*>(emptied);
      --inners_;
    }
    Inner* parent = path.steps[d].node;
    const int index = path.steps[d].index;
    for (int i = index; i + 1 < parent->count; ++i) {
      parent->children[i] = parent->children[i + 1];
      parent->counts[i] = parent->counts[i + 1];
      parent->SetSeparator(i, parent->Separator(i + 1));
    }
    --parent->count;
    emptied = parent->count == 0 ? parent : nullptr;
  }
  if (size_ == 0) {
    Free(root_);
    root_ = nullptr;
    leaves_ = 0;
    inners_ = 0;
    return true;
  }
  // A root with one child is a wasted level.
  while (!root_->is_leaf && static_cast<Inner*>(root_)->count == 1) {
    auto* old = static_cast<Inner*>(root_);
    root_ = old->children[0];
    delete old;
    --inners_;
  }
  return true;
}

void OrderTree::Build(const std::vector<MemberId>& ordered) {
  Free(root_);
  root_ = nullptr;
  leaves_ = 0;
  inners_ = 0;
  size_ = ordered.size();
  if (ordered.empty()) return;
  // Leave room in every node so the inserts that follow a rebuild do not all split.
  constexpr int kLeafFill = kLeafCapacity * 85 / 100;
  constexpr int kInnerFill = kInnerCapacity * 85 / 100;
  struct Built {
    Node* node;
    uint32_t count;
    OrderKey lead;
  };
  std::vector<Built> level;
  Leaf* previous = nullptr;
  for (size_t i = 0; i < ordered.size(); i += kLeafFill) {
    auto* leaf = new Leaf();
    ++leaves_;
    leaf->count = static_cast<int>(std::min<size_t>(kLeafFill, ordered.size() - i));
    std::copy(ordered.begin() + i, ordered.begin() + i + leaf->count, leaf->ids);
    leaf->prev = previous;
    if (previous != nullptr) previous->next = leaf;
    previous = leaf;
    level.push_back({leaf, static_cast<uint32_t>(leaf->count), KeyOf(leaf->ids[0])});
  }
  while (level.size() > 1) {
    std::vector<Built> up;
    for (size_t i = 0; i < level.size(); i += kInnerFill) {
      auto* inner = new Inner();
      ++inners_;
      inner->count = static_cast<int>(std::min<size_t>(kInnerFill, level.size() - i));
      uint32_t total = 0;
      for (int j = 0; j < inner->count; ++j) {
        inner->children[j] = level[i + j].node;
        inner->counts[j] = level[i + j].count;
        inner->SetSeparator(j, level[i + j].lead);
        total += level[i + j].count;
      }
      up.push_back({inner, total, level[i].lead});
    }
    level = std::move(up);
  }
  root_ = level.front().node;
}

int OrderTree::LeafIndexOf(const Leaf* leaf, MemberId id) {
  for (int i = 0; i < leaf->count; ++i) {
    if (leaf->ids[i] == id) return i;
  }
  return -1;
}

uint64_t OrderTree::Rank(MemberId id) const {
  uint64_t before = 0;
  const Leaf* leaf = DescendCounting(KeyOf(id), &before);
  const int at = LeafIndexOf(leaf, id);
  HP_DCHECK(at >= 0);
  return before + static_cast<uint64_t>(at);
}

const OrderTree::Leaf* OrderTree::DescendCounting(const OrderKey& key, uint64_t* before) const {
  const Node* node = root_;
  while (!node->is_leaf) {
    const auto* inner = static_cast<const Inner*>(node);
    const int index = ChildFor(inner, key);
    for (int i = 0; i < index; ++i) *before += inner->counts[i];
    node = inner->children[index];
  }
  return static_cast<const Leaf*>(node);
}

uint64_t OrderTree::CountLess(const OrderKey& key) const {
  if (root_ == nullptr) return 0;
  uint64_t before = 0;
  const Leaf* leaf = DescendCounting(key, &before);
  return before + LeafLowerBound(leaf, key);
}

OrderTree::Cursor OrderTree::At(uint64_t rank) const {
  if (rank >= size_) return {};
  const Node* node = root_;
  while (!node->is_leaf) {
    const auto* inner = static_cast<const Inner*>(node);
    int i = 0;
    while (rank >= inner->counts[i]) rank -= inner->counts[i++];
    node = inner->children[i];
  }
  return Cursor{static_cast<const Leaf*>(node), static_cast<int>(rank)};
}

MemberId OrderTree::Get(const Cursor& cursor) const { return cursor.leaf->ids[cursor.index]; }

void OrderTree::Next(Cursor& cursor) const {
  if (++cursor.index < cursor.leaf->count) return;
  cursor.leaf = cursor.leaf->next;
  cursor.index = 0;
}

void OrderTree::Prev(Cursor& cursor) const {
  if (cursor.index > 0) {
    --cursor.index;
    return;
  }
  cursor.leaf = cursor.leaf->prev;
  cursor.index = cursor.leaf != nullptr ? cursor.leaf->count - 1 : 0;
}

size_t OrderTree::MemoryBytes() const {
  constexpr size_t kMallocOverhead = 16;
  return leaves_ * (sizeof(Leaf) + kMallocOverhead) + inners_ * (sizeof(Inner) + kMallocOverhead);
}

}  // namespace hotpath

// MemberArena: the members of one sorted set, packed, addressed by 32-bit ids.
//
// A record is [score: 8][tiebreak: 8][name length: 1-2][name bytes], padded to 4 bytes, stored in
// 64 KiB chunks that never move, so an id (chunk << 14 | offset / 4) stays valid until the
// record is removed or the owning SortedSet compacts (which assigns new ids). This is what keeps a
// sorted-set member near 45 bytes: the order tree and the name index hold 4-byte ids, and the name
// and score are stored once, here.
//
// Removing a record only counts its bytes as dead; SortedSet compacts (rebuilds into a fresh
// arena) when dead bytes outweigh live ones, so space is reclaimed in amortised O(1).
//
// Share() hands out an arena that reads the records as they are now, without copying them: the
// chunks are shared, and while any such arena lives this one copies a shared chunk before it
// first changes a record in it (copy on write, per 64 KiB chunk). Appends need no copy, as they
// land past every record the other arena can read. Once every shared arena is gone, the chunks
// are this one's alone again and nothing more is copied.
//
// Thread safety: none; the owning shard's lock guards every call. An arena from Share() may be
// read on another thread, without that lock, while this one goes on changing.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace hotpath {

class MemberArena {
 public:
  using Id = uint32_t;

  MemberArena() = default;
  // Moves only: a copy would share chunks without this arena knowing (see Share()).
  MemberArena(MemberArena&& other) noexcept = default;
  MemberArena& operator=(MemberArena&& other) noexcept = default;
  MemberArena(const MemberArena&) = delete;
  MemberArena& operator=(const MemberArena&) = delete;
  // Longest member name a record holds; SortedSet rejects longer ones.
  static constexpr size_t kMaxNameBytes = 1024;

  // Whether the 32-bit id space (2^18 chunks of 64 KiB) might not hold another record.
  bool full() const {
    return chunks_.size() >= kMaxChunks && tail_ + RecordBytes(kMaxNameBytes) > kChunkBytes;
  }
  // Appends a record. `name` must be at most kMaxNameBytes and the arena not full().
  Id Add(std::string_view name, int64_t score, uint64_t tiebreak);
  // Counts the record's bytes as dead; the id must not be used again.
  void Remove(Id id);

  int64_t score(Id id) const { return Load<int64_t>(id, 0); }
  uint64_t tiebreak(Id id) const { return Load<uint64_t>(id, 8); }
  void set_order(Id id, int64_t score, uint64_t tiebreak) {
    WriteOrder(Writable(id), score, tiebreak);
  }
  std::string_view name(Id id) const;

  // An arena holding every record as it is now, under the same ids, sharing this one's chunks
  // (see above); for SortedSet::TakeImage. Const so that a snapshot can take it through a const
  // set: it changes no record, it only marks the chunks shared, under the owner's lock.
  MemberArena Share() const;

  // Bytes held by the chunks (live, dead and unused tail) and the chunk table.
  size_t MemoryBytes() const;
  size_t live_bytes() const { return live_bytes_; }
  size_t dead_bytes() const { return dead_bytes_; }

 private:
  static constexpr size_t kChunkBytes = 64 * 1024;
  static constexpr int kOffsetBits = 14;  // 64 KiB / 4-byte units
  static constexpr size_t kMaxChunks = size_t{1} << (32 - kOffsetBits);

  static size_t RecordBytes(size_t name_bytes);
  static void WriteOrder(char* record, int64_t score, uint64_t tiebreak) {
    std::memcpy(record, &score, 8);
    std::memcpy(record + 8, &tiebreak, 8);
  }
  // At(id), for changing the record: copies its chunk first if another arena shares it.
  char* Writable(Id id);
  char* At(Id id) const {
    return chunks_[id >> kOffsetBits].get() +
           (static_cast<size_t>(id & ((1u << kOffsetBits) - 1)) << 2);
  }
  template <typename T>
  T Load(Id id, size_t offset) const {
    T value;
    std::memcpy(&value, At(id) + offset, sizeof(T));
    return value;
  }

  std::vector<std::shared_ptr<char[]>> chunks_;
  // Chunks an arena from Share() may still read: copied before a record in them changes while
  // any such arena lives. Mutable: Share() marks them through a const arena (see there).
  mutable std::vector<bool> shared_;
  // How many arenas from Share() live, which Writable reads (acquire) before changing a chunk
  // in place.
  mutable std::shared_ptr<std::atomic<int>> sharers_;
  // In an arena from Share(): counts it out of the owner's sharers_ (release) when it goes.
  std::shared_ptr<void> lease_;
  size_t tail_ = kChunkBytes;  // bytes used in the last chunk
  size_t live_bytes_ = 0;
  size_t dead_bytes_ = 0;
};

}  // namespace hotpath

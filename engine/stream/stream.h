// Stream: an append-only log of entries (ID + field/value pairs) with consumer groups.
//
// IDs are Redis-style (milliseconds, sequence) pairs, strictly increasing. Auto IDs take the
// clock's milliseconds, or the last ID's when the clock is behind, so IDs never go backwards.
//
// Storage: entries are packed into chunks of up to kChunkEntries, encoded back to back as
// [ms delta][seq][field count + "same names" bit][fields...]; an entry whose field names equal
// the chunk's first entry's stores only its values (as Redis's listpack master entry does). A
// one-field entry with a 16-byte value costs about 25 bytes. Lookups binary-search the chunks,
// then decode at most one chunk; trimming drops whole chunks and skips into the first.
//
// Consumer groups follow Redis streams, with two differences that keep messages from being
// lost: deleting a consumer leaves its pending entries in the group's pending-entries list
// (PEL), claimable by others; and trimming removes pending entries whose messages were trimmed
// and reports them (TrimResult::orphaned_pending) instead of leaving them to fail later.
//
// Invariants: chunk entries are in strictly increasing ID order across chunks, every id <=
// last_id_, and size_ counts the live ones; every PEL entry of a group has id <= its
// last_delivered; each consumer's pending count equals the PEL entries it owns.
// Complexity: Append O(1) amortised; Range/ReadAfter O(log c + kChunkEntries + returned);
// Trim O(removed chunks + kChunkEntries + orphaned pending * log p); group operations
// O(log p) per entry plus one lookup.
// Thread safety: none; the owning shard's lock guards every call.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

namespace hotpath {

struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;

  static absl::StatusOr<StreamId> Parse(std::string_view text);  // "ms-seq" or "ms"
  std::string ToString() const;
  StreamId Next() const { return seq == UINT64_MAX ? StreamId{ms + 1, 0} : StreamId{ms, seq + 1}; }

  friend bool operator==(const StreamId&, const StreamId&) = default;
  friend auto operator<=>(const StreamId&, const StreamId&) = default;
};

inline constexpr StreamId kMinStreamId{0, 0};
inline constexpr StreamId kMaxStreamId{UINT64_MAX, UINT64_MAX};

using StreamFields = std::vector<std::pair<std::string, std::string>>;

struct StreamEntry {
  StreamId id;
  StreamFields fields;
};

struct PendingEntry {
  StreamId id;
  std::string consumer;
  uint32_t delivery_count = 0;
  int64_t last_delivery_ms = 0;
};

struct PendingSummary {
  uint64_t count = 0;
  StreamId first;
  StreamId last;
  std::map<std::string, uint64_t> per_consumer;
};

struct TrimResult {
  uint64_t removed = 0;
  // Pending entries dropped because their messages were trimmed, by group.
  std::vector<std::pair<std::string, PendingEntry>> orphaned_pending;
};

class Stream {
 public:
  // Appends with an explicit `id` (must exceed last_id(); 0-0 and kMaxStreamId are never valid) or,
  // when nullopt, an auto ID from `now_ms`. InvalidArgument for an ID that is not greater.
  absl::StatusOr<StreamId> Append(std::optional<StreamId> id, const StreamFields& fields,
                                  int64_t now_ms);

  static constexpr uint32_t kChunkEntries = 128;

  uint64_t size() const { return size_; }
  StreamId last_id() const { return last_id_; }
  std::optional<StreamId> first_id() const;

  // Entries with start <= id <= end, in order, at most `count`.
  std::vector<StreamEntry> Range(StreamId start, StreamId end, uint64_t count) const;
  // The same range from the end backwards.
  std::vector<StreamEntry> ReverseRange(StreamId end, StreamId start, uint64_t count) const;
  // Entries with id > after, at most `count`.
  std::vector<StreamEntry> ReadAfter(StreamId after, uint64_t count) const;
  // How many entries have id > after, counting up to `limit`: O(log c + kChunkEntries +
  // chunks counted), decoding IDs only.
  uint64_t CountAfter(StreamId after, uint64_t limit) const;
  // The ID of the entry at 0-based position `index` (< size()), oldest first.
  StreamId IdAt(uint64_t index) const;

  // Trimming keeps the newest entries.
  TrimResult TrimToLength(uint64_t max_length);
  TrimResult TrimBefore(StreamId min_id);  // removes entries with id < min_id
  // `max_age_ms` must not be negative (Keyspace rejects it).
  TrimResult TrimOlderThan(int64_t max_age_ms, int64_t now_ms);

  // --- Consumer groups.
  // Creates `group` delivering entries after `start` (last_id() for "new entries only").
  // AlreadyExists if it exists.
  absl::Status CreateGroup(std::string_view group, StreamId start);
  absl::Status DestroyGroup(std::string_view group);
  // Delivers up to `count` entries after the group's last delivered ID to `consumer`, adding
  // them to the PEL. NotFound if the group does not exist.
  absl::StatusOr<std::vector<StreamEntry>> ReadGroup(std::string_view group,
                                                     std::string_view consumer, uint64_t count,
                                                     int64_t now_ms);
  // Acknowledges `ids`; returns how many were pending.
  absl::StatusOr<uint64_t> Ack(std::string_view group, const std::vector<StreamId>& ids);
  absl::StatusOr<PendingSummary> Pending(std::string_view group) const;
  // Pending entries with start <= id <= end, optionally of one consumer, idle at least
  // `min_idle_ms`, at most `count`.
  absl::StatusOr<std::vector<PendingEntry>> PendingDetail(std::string_view group, StreamId start,
                                                          StreamId end, uint64_t count,
                                                          std::string_view consumer,
                                                          int64_t min_idle_ms,
                                                          int64_t now_ms) const;
  // Gives `consumer` up to `count` pending entries from `start` on that have been idle at least
  // `min_idle_ms`, counting a new delivery for each. Returns the entries (and, in next_start,
  // where to continue). Pending entries whose message is gone are dropped.
  struct ClaimResult {
    std::vector<StreamEntry> claimed;
    StreamId next_start;
    std::vector<StreamId> dropped;  // pending, but their messages were trimmed
  };
  absl::StatusOr<ClaimResult> AutoClaim(std::string_view group, std::string_view consumer,
                                        int64_t min_idle_ms, StreamId start, uint64_t count,
                                        int64_t now_ms);
  // Whether `group` exists and knows `consumer`.
  bool HasConsumer(std::string_view group, std::string_view consumer) const;
  // Creates `consumer` as a read would (taking back its pending entries if it had been
  // deleted); nothing if it exists. NotFound for a missing group, InvalidArgument for an
  // empty name.
  absl::Status CreateConsumer(std::string_view group, std::string_view consumer);
  // Removes `consumer`; its pending entries stay in the PEL, still owned by its name, until
  // claimed or acknowledged. Returns how many it had.
  absl::StatusOr<uint64_t> DeleteConsumer(std::string_view group, std::string_view consumer);
  // Replay of a kGroupDeliver record: the pending entry becomes exactly `entry` (owner, count,
  // time) and the group's last delivered ID at least entry.id. NotFound if the group is.
  absl::Status RestorePending(std::string_view group, const PendingEntry& entry);
  // The group's last delivered ID. NotFound if the group does not exist.
  absl::StatusOr<StreamId> LastDelivered(std::string_view group) const;
  std::vector<std::string> GroupNames() const;

  // --- Snapshots: the whole stream as data, and back.
  // A consumer group as a snapshot holds it: consumers in name order, pending entries in ID
  // order (an owner that is not among the consumers is one that was deleted).
  struct GroupImage {
    std::string name;
    StreamId last_delivered;
    std::vector<std::string> consumers;
    std::vector<PendingEntry> pending;
  };
  // Calls visit(const StreamEntry&) for every entry in order.
  void ForEachEntry(absl::FunctionRef<void(const StreamEntry&)> visit) const;
  std::vector<GroupImage> Groups() const;
  // Raises last_id() to `id` (a stream keeps its last ID when trimmed empty); never lowers it.
  void RestoreLastId(StreamId id) { last_id_ = std::max(last_id_, id); }
  // Adds a group exactly as imaged. AlreadyExists if it exists, InvalidArgument for an empty
  // name or consumer name, or pending entries out of order or past last_delivered.
  absl::Status RestoreGroup(const GroupImage& image);

  // Approximate heap bytes, maintained incrementally. O(1).
  size_t HeapBytes() const { return heap_bytes_; }

 private:
  struct Group {
    StreamId last_delivered;
    std::map<StreamId, PendingEntry> pending;
    std::map<std::string, uint64_t, std::less<>> consumers;  // name -> pending count
    // Deleted consumers that still own pending entries: name -> how many.
    std::map<std::string, uint64_t, std::less<>> departed;
  };

  struct Chunk {
    StreamId base;         // the ID just before the first live entry: the delta base for decoding
    StreamId first;        // first live entry
    StreamId last;         // last entry
    uint32_t live = 0;     // entries not trimmed away
    uint32_t encoded = 0;  // entries ever encoded here
    size_t begin = 0;      // byte offset of the first live entry
    std::vector<std::string> names;  // the first entry's field names
    std::string data;
  };

  static size_t ChunkBytes(const Chunk& chunk);
  // Decodes the entry at `offset` (whose predecessor is `previous`); returns the next offset.
  static size_t Decode(const Chunk& chunk, size_t offset, StreamId previous, StreamEntry* entry);
  // Reads only the ID of the entry at `offset` and returns the offset after the entry.
  static size_t Skip(const Chunk& chunk, size_t offset, StreamId previous, StreamId* id);
  static void Encode(Chunk& chunk, StreamId previous, StreamId id, const StreamFields& fields);
  // Visits entries with id >= from in order while visit(const StreamEntry&) returns true.
  template <typename Visit>
  void Scan(StreamId from, Visit visit) const;
  // The id of the entry `index` places from the front; index < size().
  absl::StatusOr<Group*> FindGroup(std::string_view name);
  absl::StatusOr<const Group*> FindGroup(std::string_view name) const;
  std::optional<StreamEntry> Find(StreamId id) const;
  // Removes entries with id < bound and drops pending entries they orphan.
  TrimResult RemoveBefore(StreamId bound);
  void ReleasePending(Group& group, std::map<StreamId, PendingEntry>::iterator it);
  // One fewer pending entry owned by `owner`, a consumer or a departed one.
  static void Uncount(Group& group, const std::string& owner);
  using ConsumerIterator = std::map<std::string, uint64_t, std::less<>>::iterator;
  // The group and the consumer's record (created on first use) for a read or a claim;
  // InvalidArgument for an empty consumer name, NotFound for a missing group.
  absl::StatusOr<std::pair<Group*, ConsumerIterator>> GroupAndConsumer(std::string_view group,
                                                                       std::string_view consumer);
  // The consumer's record, created on first use (taking back what it owned if it had left).
  std::map<std::string, uint64_t, std::less<>>::iterator Consumer(Group& group,
                                                                  std::string_view name);

  std::deque<Chunk> chunks_;
  uint64_t size_ = 0;
  StreamId last_id_;
  std::map<std::string, Group, std::less<>> groups_;
  size_t heap_bytes_ = 0;
};

}  // namespace hotpath

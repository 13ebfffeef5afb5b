// Stream: an append-only log of entries (ID + field/value pairs) with consumer groups.
//
// IDs are Redis-style (milliseconds, sequence) pairs, strictly increasing. Auto IDs take the
// clock's milliseconds, or the last ID's when the clock is behind, so IDs never go backwards.
// Entries live in a deque in ID order: append and trimming from the front are O(1) per entry,
// lookups by ID are binary searches.
//
// Consumer groups follow Redis streams, with two differences that keep messages from being
// lost: deleting a consumer leaves its pending entries in the group's pending-entries list
// (PEL), claimable by others; and trimming removes pending entries whose messages were trimmed
// and reports them (TrimResult::orphaned_pending) instead of leaving them to fail later.
//
// Invariants: entries_ is sorted by id, unique, and every id <= last_id_; every PEL entry of a
// group has id <= its last_delivered; each consumer's pending count equals the PEL entries it
// owns.
// Complexity: Append O(1) amortised; Range/ReadAfter O(log n + returned); Trim O(removed +
// orphaned pending * log p); group operations O(log p) per entry.
// Thread safety: none; the owning shard's lock guards every call.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  // Appends with an explicit `id` (must exceed last_id(), and 0-0 is never valid) or, when
  // nullopt, an auto ID from `now_ms`. InvalidArgument for an ID that is not greater.
  absl::StatusOr<StreamId> Append(std::optional<StreamId> id, StreamFields fields, int64_t now_ms);

  uint64_t size() const { return entries_.size(); }
  // The newest entry; the stream must not be empty.
  const StreamEntry& back() const { return entries_.back(); }
  StreamId last_id() const { return last_id_; }
  std::optional<StreamId> first_id() const;

  // Entries with start <= id <= end, in order, at most `count`.
  std::vector<StreamEntry> Range(StreamId start, StreamId end, uint64_t count) const;
  // The same range from the end backwards.
  std::vector<StreamEntry> ReverseRange(StreamId end, StreamId start, uint64_t count) const;
  // Entries with id > after, at most `count`.
  std::vector<StreamEntry> ReadAfter(StreamId after, uint64_t count) const;

  // Trimming keeps the newest entries.
  TrimResult TrimToLength(uint64_t max_length);
  TrimResult TrimBefore(StreamId min_id);  // removes entries with id < min_id
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
  // Removes `consumer`; its pending entries stay in the PEL, still owned by its name, until
  // claimed or acknowledged. Returns how many it had.
  absl::StatusOr<uint64_t> DeleteConsumer(std::string_view group, std::string_view consumer);
  std::vector<std::string> GroupNames() const;

  // Approximate heap bytes, maintained incrementally. O(1).
  size_t HeapBytes() const { return heap_bytes_; }

 private:
  struct Group {
    StreamId last_delivered;
    std::map<StreamId, PendingEntry> pending;
    std::map<std::string, uint64_t, std::less<>> consumers;  // name -> pending count
  };

  static size_t EntryBytes(const StreamEntry& entry);
  absl::StatusOr<Group*> FindGroup(std::string_view name);
  absl::StatusOr<const Group*> FindGroup(std::string_view name) const;
  const StreamEntry* Find(StreamId id) const;
  size_t LowerBound(StreamId id) const;
  // Pops `n` entries from the front and drops pending entries they orphan.
  TrimResult PopFront(uint64_t n);
  void ReleasePending(Group& group, std::map<StreamId, PendingEntry>::iterator it);
  // The consumer's record, created on first use.
  std::map<std::string, uint64_t, std::less<>>::iterator Consumer(Group& group,
                                                                  std::string_view name);

  std::deque<StreamEntry> entries_;
  StreamId last_id_;
  std::map<std::string, Group, std::less<>> groups_;
  size_t heap_bytes_ = 0;
};

}  // namespace hotpath

// A shard: one lock, one hash table, one expiry index, one mutation sequence.
//
// Invariants (under mu_):
//   - every element of expiry_ is (filed_ms, entry) for a table_ entry with a deadline, with
//     filed_ms = deadline_ms - index_lag_ms <= deadline_ms, and every table_ entry with a
//     deadline has exactly one: a deadline moved later leaves its element where it was (most
//     rate-limit updates push theirs later), and the sweep refiles it when it comes due;
//   - memory_bytes_ is the sum of EntryFootprint over table_;
//   - namespaces_ holds, for each namespace with keys here, its keys and its share of
//     memory_bytes_, and no other namespace (so it is bounded by the keys);
//   - keys_by_type_[t] is the number of table_ entries holding a value of type t;
//   - an entry is in deferred_ exactly when its record_pending() holds;
//   - sequence_ is the number of mutations handed to the sink so far.
// An entry whose deadline has passed may still sit in table_ until a read finds it (lazy
// expiry) or SweepExpired removes it (active expiry); neither ever returns it to a caller.
//
// Complexity: lookups are O(1) expected; deadline changes O(log k) in the k keys with a TTL,
// O(1) when a deadline moves later.
// Thread safety: every public method takes mu_; a Shard is safe to share between threads.
// The sink, when set, is called with mu_ held (see mutation.h).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/common/check.h"
#include "engine/common/clock.h"
#include "engine/key.h"
#include "engine/mutation.h"
#include "engine/observer.h"
#include "engine/slot.h"
#include "engine/value.h"

namespace hotpath {

// How Set treats an existing key.
enum class SetCondition : uint8_t { kAlways, kIfAbsent, kIfPresent };

struct SetOptions {
  SetCondition condition = SetCondition::kAlways;
  // Absolute expiry (millisecond precision); nullopt means none. Ignored when keep_deadline is
  // set and the key exists. A deadline at or before now stores nothing and removes the key.
  std::optional<absl::Time> deadline;
  bool keep_deadline = false;
};

// A deadline as stored: Unix milliseconds, 0 for none (times before the epoch become 1).
inline int64_t DeadlineMillis(std::optional<absl::Time> deadline) {
  if (!deadline.has_value()) return 0;
  const int64_t millis = absl::ToUnixMillis(*deadline);
  return millis < 1 ? 1 : millis;
}

// Keys and bytes (of the same accounting as memory_bytes) of one namespace.
struct NamespaceUsage {
  int64_t keys = 0;
  int64_t bytes = 0;
};

struct ShardStats {
  uint64_t keys = 0;  // including expired keys not yet removed
  uint64_t keys_with_deadline = 0;
  uint64_t expired_total = 0;  // keys removed because their deadline passed
  uint64_t evicted_total = 0;  // limiter keys removed early under memory pressure
  uint64_t memory_bytes = 0;   // approximate: entries, keys, values, expiry index
  uint64_t sequence = 0;       // mutations emitted
  std::array<uint64_t, kValueTypes> keys_by_type{};  // indexed by ValueType
  uint64_t namespaces = 0;                           // namespaces with keys here
};

class Shard {
 public:
  // `sink` and `observer` are optional (null); they must outlive the shard. The shard owns the
  // slots s with s >> slot_shift == index (Keyspace::ShardOf); the default, one shard for all.
  Shard(uint32_t index, const Clock* clock, MutationSink* sink,
        KeyspaceObserver* observer = nullptr, uint32_t slot_shift = 14)
      : index_(index), slot_shift_(slot_shift), clock_(clock), sink_(sink), observer_(observer) {}
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Value as a string (counters in decimal). NotFound if absent or expired.
  absl::StatusOr<std::string> Get(const KeyRef& key);
  // Stores a string. Returns false, changing nothing, when the condition does not hold.
  bool Set(const KeyRef& key, std::string value, const SetOptions& options);
  // Adds `delta` to a counter (an absent key counts as 0; a string holding a canonical decimal
  // int64 converts). FailedPrecondition if the value is not an integer, OutOfRange on overflow.
  absl::StatusOr<int64_t> IncrementBy(const KeyRef& key, int64_t delta);
  // Returns whether a live key was removed.
  bool Delete(const KeyRef& key);
  bool Exists(const KeyRef& key);
  absl::StatusOr<ValueType> Type(const KeyRef& key);
  // Sets (deadline_ms > 0) or clears (0) a live key's deadline; returns false if absent.
  // A deadline at or before now removes the key.
  bool SetDeadline(const KeyRef& key, int64_t deadline_ms);
  // The key's deadline (nullopt if none); NotFound if absent or expired.
  absl::StatusOr<std::optional<int64_t>> GetDeadline(const KeyRef& key);
  // Removes keys whose deadline has passed, earliest first, looking at up to `max_keys` due
  // expiry index elements (refiling those whose deadline has since moved later).
  struct Sweep {
    size_t removed = 0;
    bool more = false;  // stopped at max_keys with due elements left
  };
  Sweep SweepExpired(size_t max_keys);
  // Removes rate-limiter keys before their deadline, earliest deadline first (least recently
  // changed first: a limiter's deadline follows its last change), none with a deadline after
  // `up_to_ms`, until `max_bytes` are freed or `max_keys` removed, looking at the first
  // kEvictionScan keys with a deadline only (keys changed since they were filed are passed
  // over and refiled). Recorded as deletions. Returns the bytes freed.
  uint64_t EvictLimiters(size_t max_keys, uint64_t max_bytes, int64_t up_to_ms);
  // The deadline of the limiter EvictLimiters would remove first; nullopt if there is none
  // among the first kEvictionScan keys with a deadline.
  std::optional<int64_t> OldestLimiterDeadline() const;
  static constexpr size_t kEvictionScan = 4096;
  // Approximate bytes held (ShardStats::memory_bytes), without taking the lock.
  uint64_t memory_bytes() const { return memory_bytes_.load(std::memory_order_relaxed); }
  // What namespace `ns` holds here (zero if nothing).
  NamespaceUsage UsageOf(std::string_view ns) const;

  ShardStats Stats() const;
  uint32_t index() const { return index_; }

  class Access;
  // Runs fn(Access&) under the shard lock, on the live entry for `key` (absent, or found and
  // not expired), and returns what fn returns. Memory accounting follows whatever fn changed;
  // fn records its changes with Access::Emit. The typed operations of Keyspace (hash, sorted
  // set, limiter) are built on this.
  template <typename Fn>
  auto Apply(const KeyRef& key, Fn&& fn);
  // Apply for replaying records: expired keys are not removed (records say when keys go),
  // nothing reaches the sink, and afterwards the shard's sequence is `sequence` when
  // `restore_sequence` holds.
  template <typename Fn>
  auto Replay(const KeyRef& key, bool restore_sequence, uint64_t sequence, Fn&& fn);
  class Locked;
  // A key with its table hash computed once (Hashed), for a run of lookups of the same keys
  // under one lock hold (Locked::Warm, then Locked::Apply).
  struct HashedKey {
    KeyRef key;
    size_t hash;
  };
  static HashedKey Hashed(const KeyRef& key) { return {key, KeyHash{}(key)}; }
  class Found;
  // For operations over several shards (Keyspace::UpdateLimiters): the caller takes the locks
  // of several shards only in ascending index order, so two such operations cannot deadlock.
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_) { mu_.Lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION(mu_) { mu_.Unlock(); }
  // A Locked view of this shard for a caller that holds its lock.
  Locked HeldView(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs fn(Locked&) under the shard lock. Locked::Apply(key, fn2) is Apply without taking the
  // lock again, so one call can read and then write several keys as one atomic step.
  template <typename Fn>
  auto WithLock(Fn&& fn);

  // Records the current value of up to `max_keys` keys stored with Access::UpsertDeferred since
  // they were last recorded: one kUpsert each, however many times it changed. Returns how
  // many; fewer than max_keys means none is left.
  size_t FlushDeferred(size_t max_keys);

  // Calls visit(KeyRef, const Value&, int64_t deadline_ms) for every key under one hold of the
  // lock, and returns the sequence then: a point-in-time image that reflects exactly the
  // records up to that sequence.
  template <typename Visit>
  uint64_t ForEach(Visit visit) const;
  // The shard's sequence becomes `sequence` (loading a snapshot).
  void RestoreSequence(uint64_t sequence) {
    absl::MutexLock lock(&mu_);
    sequence_ = sequence;
  }

 private:
  // One key's entry: its value and deadline, with the key's stored form (EncodeKey) in the
  // same allocation right after them, so that a lookup reads one block (a node and a separate
  // key string would be two cache misses). Entries never move: the expiry index and the
  // deferred set point at them.
  class Entry {
   public:
    static Entry* New(const KeyRef& key, Value value);
    struct Deleter {
      void operator()(Entry* entry) const;
    };
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

    std::string_view stored_key() const {
      return {reinterpret_cast<const char*>(this + 1), key_size_};
    }
    KeyRef key() const { return DecodeKey(stored_key()); }
    // The allocation: the fields and the key bytes.
    size_t block_bytes() const { return sizeof(Entry) + key_size_; }

    // Where the expiry index files the entry: deadline_ms - index_lag_ms.
    int64_t filed_ms() const { return deadline_ms - index_lag_ms; }
    // Whether the entry is in the shard's deferred_ set: told here, the common update of a
    // key already waiting for its record skips a lookup in that set.
    bool record_pending() const { return record_pending_; }
    void set_record_pending(bool pending) { record_pending_ = pending; }

    Value value;
    int64_t deadline_ms = 0;
    uint32_t index_lag_ms = 0;

   private:
    Entry(Value v, uint32_t key_size)
        : value(std::move(v)), key_size_(key_size), record_pending_(false) {}
    uint32_t key_size_ : 24;  // enough for any valid key (New checks)
    uint32_t record_pending_ : 1;
  };
  using EntryPtr = std::unique_ptr<Entry, Entry::Deleter>;
  // Hash and equality of entries by key, and of a KeyRef against them (lookups never build a
  // key).
  struct EntryHash {
    using is_transparent = void;
    size_t operator()(const KeyRef& key) const { return KeyHash{}(key); }
    size_t operator()(const HashedKey& key) const { return key.hash; }
    size_t operator()(const EntryPtr& entry) const { return KeyHash{}(entry->key()); }
  };
  struct EntryEq {
    using is_transparent = void;
    static KeyRef AsRef(const KeyRef& key) { return key; }
    static KeyRef AsRef(const HashedKey& key) { return key.key; }
    static KeyRef AsRef(const EntryPtr& entry) { return entry->key(); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return AsRef(a) == AsRef(b);
    }
  };
  using Table = absl::flat_hash_set<EntryPtr, EntryHash, EntryEq>;
  using ExpiryIndex = absl::btree_set<std::pair<int64_t, Entry*>>;

  static uint64_t EntryFootprint(const Entry& entry);
  static int64_t Change(uint64_t before, uint64_t after) {
    return static_cast<int64_t>(after) - static_cast<int64_t>(before);
  }
  // The one place keys and bytes are counted: memory_bytes_, and the namespace's usage (an
  // entry dropped once the namespace holds nothing here).
  void Account(std::string_view ns, int64_t keys, int64_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The live entry for `key`, or null. An expired entry found here is removed first.
  // `key` is a KeyRef or a HashedKey.
  template <typename Key>
  Entry* FindLive(const Key& key, int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `entry` (null or an entry of the table) if it is live; an expired one is removed first.
  Entry* Live(Entry* entry, int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds an entry for the absent `key`, without a deadline, counting its key and type (not its
  // bytes: callers account for those).
  Entry* Insert(const KeyRef& key, Value value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes `entry` from the table and the expiry index and frees it, counting its key and
  // type but not its bytes.
  void Remove(Entry* entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes `entry` with its record (kDelete or kExpire) and all of its accounting.
  void Erase(Entry* entry, MutationKind kind) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Replaces the entry's deadline, keeping expiry_ and memory_bytes_ true.
  void ChangeDeadline(Entry* entry, int64_t deadline_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the entry's expiry index element to its deadline.
  void Refile(Entry* entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores value + deadline under `key` (whose entry is `entry`, or null when absent),
  // inserting or overwriting, and emits kUpsert (or, with `deferred`, marks the key for
  // FlushDeferred). Returns the key's entry.
  Entry* Store(const KeyRef& key, Entry* entry, Value value, int64_t deadline_ms,
               bool deferred = false) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts a present entry in deferred_ (its record waits for FlushDeferred), if not there yet.
  void Defer(Entry* entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands a record about `entry`'s key to the sink, with its value and deadline when `entry`
  // is still there (`with_value`). A key whose deferred state has not been recorded yet gets
  // its kUpsert first, so that every record applies to a key the log knows (a kSetDeadline
  // never refers to a key the log has not created).
  void Emit(MutationKind kind, Entry& entry, bool with_value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EmitOne(MutationKind kind, const Entry& entry, bool with_value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records a deferred key's state now, if it has one pending.
  void SettleDeferred(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Whether `key` belongs here: checked (in debug builds) for every key a step touches.
  bool Owns(const KeyRef& key) const { return (KeySlot(key.key) >> slot_shift_) == index_; }

  const uint32_t index_;
  const uint32_t slot_shift_;
  const Clock* const clock_;
  MutationSink* const sink_;
  KeyspaceObserver* const observer_;

  mutable absl::Mutex mu_;
  Table table_ ABSL_GUARDED_BY(mu_);
  ExpiryIndex expiry_ ABSL_GUARDED_BY(mu_);
  // Changed under mu_ only; atomic so that memory_bytes() may read it without the lock.
  std::atomic<uint64_t> memory_bytes_{0};
  // Usage by namespace, and the entry used last (most calls stay in one namespace; node_hash_map
  // keeps both the key and the value where they are).
  absl::node_hash_map<std::string, NamespaceUsage> namespaces_ ABSL_GUARDED_BY(mu_);
  std::string_view last_namespace_ ABSL_GUARDED_BY(mu_);
  NamespaceUsage* last_usage_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t expired_total_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evicted_total_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  std::array<uint64_t, kValueTypes> keys_by_type_ ABSL_GUARDED_BY(mu_){};
  bool replaying_ ABSL_GUARDED_BY(mu_) = false;  // inside Replay: records go nowhere
  // Entries stored without a record yet.
  absl::flat_hash_set<Entry*> deferred_ ABSL_GUARDED_BY(mu_);
  // Changes whenever an entry is added to or removed from table_ (Insert, Remove): a Found
  // taken at the same layout_ still names the key's entry, or its absence.
  uint64_t layout_ ABSL_GUARDED_BY(mu_) = 0;
};

// What Shard::Apply's callback may do with one key. It exists only inside Apply, with the
// shard lock held (hence no thread-safety analysis on its methods).
class Shard::Access {
 public:
  // The key's value, or null when the key is absent.
  Value* value() const { return entry_ == nullptr ? nullptr : &entry_->value; }
  int64_t deadline_ms() const { return entry_ == nullptr ? 0 : entry_->deadline_ms; }
  int64_t now_ms() const { return now_ms_; }
  int64_t now_ns() const { return now_ns_; }

  // Stores `value` under the absent key, without a deadline, and returns it.
  Value& Create(Value value) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Replaces the value (and deadline, which must be 0 or after now) of a key, present or not,
  // and records kUpsert.
  void Upsert(Value value, int64_t deadline_ms) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Upsert whose record waits for FlushDeferred (Shard::FlushDeferred).
  void UpsertDeferred(Value value, int64_t deadline_ms) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // UpsertDeferred of a limiter state over a present key that holds one already: the common
  // rate-limit update, written in place with no Value made or moved.
  void UpdateLimiterDeferred(const LimiterState& state,
                             int64_t deadline_ms) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Deletes the key, if present, and records kDelete.
  void Delete() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Sets a present key's deadline (0: none) and records kSetDeadline, unless it is already
  // that; a deadline at or before now removes the key (kExpire), as Shard::SetDeadline does.
  void SetDeadline(int64_t deadline_ms) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Sets a present key's deadline (0: none) without a record; for replay.
  void RestoreDeadline(int64_t deadline_ms) ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Removes the key without a record: for a hash or sorted set left empty, whose last
  // kHashDelete / kZsetRemove record already implies it (see mutation.h).
  void RemoveEmpty() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Hands an after-image for this key to the sink; shard, sequence and key are filled in.
  void Emit(Mutation mutation) ABSL_NO_THREAD_SAFETY_ANALYSIS;

 private:
  friend class Shard;
  Access(Shard* shard, const KeyRef& key, Entry* entry, int64_t now_ms, int64_t now_ns)
      : shard_(shard),
        key_(key),
        entry_(entry),
        now_ms_(now_ms),
        now_ns_(now_ns),
        footprint_before_(entry == nullptr ? 0 : EntryFootprint(*entry)) {}
  // Brings the shard's memory count up to date with what the callback did so far.
  void Settle() ABSL_NO_THREAD_SAFETY_ANALYSIS;

  Shard* const shard_;
  const KeyRef& key_;
  Entry* entry_;
  const int64_t now_ms_;
  const int64_t now_ns_;
  uint64_t footprint_before_;
};

// A key's table entry as Locked::Warm found it, which Locked::Apply uses instead of looking the
// key up again while no key has been added to or removed from the shard since (it checks, and
// looks the key up otherwise). A default Found has not been looked up.
class Shard::Found {
 private:
  friend class Shard;
  Entry* entry_ = nullptr;
  uint64_t layout_ = ~uint64_t{0};  // the shard's layout_ then; never one of its values
};

// Apply for callers already holding the lock (Shard::WithLock).
class Shard::Locked {
 public:
  template <typename Fn>
  auto Apply(const KeyRef& key, Fn&& fn) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return Apply(Hashed(key), Found(), std::forward<Fn>(fn));
  }
  // Apply on a key that Warm looked up into `found`.
  template <typename Fn>
  auto Apply(const HashedKey& key, const Found& found, Fn&& fn) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    HP_DCHECK(shard_->Owns(key.key));  // a step may touch only keys of its own shard
    Entry* const entry = found.layout_ == shard_->layout_ ? shard_->Live(found.entry_, now_ms_)
                                                          : shard_->FindLive(key, now_ms_);
    Access access(shard_, key.key, entry, now_ms_, now_ns_);
    if constexpr (std::is_void_v<decltype(fn(access))>) {
      fn(access);
      access.Settle();
    } else {
      auto result = fn(access);
      access.Settle();
      return result;
    }
  }
  int64_t now_ms() const { return now_ms_; }
  int64_t now_ns() const { return now_ns_; }
  // Looks up `keys` into `found` (as many) before a run of Apply calls on them, and brings
  // their table slots and entries into the cache: here the loads of different keys overlap,
  // where each Apply after the last one's work would wait for its own. Changes nothing.
  void Warm(absl::Span<const HashedKey> keys,
            absl::Span<Found> found) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
    HP_DCHECK(found.size() == keys.size());
    for (const HashedKey& key : keys) shard_->table_.prefetch(key);
    for (size_t i = 0; i < keys.size(); ++i) {
      auto it = shard_->table_.find(keys[i]);
      found[i].entry_ = it == shard_->table_.end() ? nullptr : it->get();
      found[i].layout_ = shard_->layout_;
      if (found[i].entry_ != nullptr) __builtin_prefetch(found[i].entry_);
    }
  }

 private:
  friend class Shard;
  Locked(Shard* shard, int64_t now_ms, int64_t now_ns)
      : shard_(shard), now_ms_(now_ms), now_ns_(now_ns) {}
  Shard* const shard_;
  const int64_t now_ms_;
  const int64_t now_ns_;
};

template <typename Fn>
auto Shard::Replay(const KeyRef& key, bool restore_sequence, uint64_t sequence, Fn&& fn) {
  absl::MutexLock lock(&mu_);
  replaying_ = true;
  // now = INT64_MIN: FindLive expires nothing.
  Access access(this, key, FindLive(key, INT64_MIN), INT64_MIN, INT64_MIN);
  auto result = fn(access);
  access.Settle();
  replaying_ = false;
  if (restore_sequence) sequence_ = sequence;
  return result;
}

template <typename Visit>
uint64_t Shard::ForEach(Visit visit) const {
  absl::MutexLock lock(&mu_);
  for (const EntryPtr& entry : table_) visit(entry->key(), entry->value, entry->deadline_ms);
  return sequence_;
}

template <typename Fn>
auto Shard::Apply(const KeyRef& key, Fn&& fn) {
  // The clock is read under the lock, so decisions on one key see time only move forward
  // (a thread that read the clock and then waited for the lock would decide in the past).
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  const int64_t now_ms = absl::ToUnixMillis(now);
  Access access(this, key, FindLive(key, now_ms), now_ms, absl::ToUnixNanos(now));
  auto result = fn(access);
  access.Settle();
  return result;
}

inline Shard::Locked Shard::HeldView(absl::Time now) {
  return Locked(this, absl::ToUnixMillis(now), absl::ToUnixNanos(now));
}

template <typename Fn>
auto Shard::WithLock(Fn&& fn) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_->Now();
  Locked locked(this, absl::ToUnixMillis(now), absl::ToUnixNanos(now));
  return fn(locked);
}

}  // namespace hotpath

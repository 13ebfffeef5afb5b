// Keyspace: the one door into hotpath's in-memory state.
//
// A key (namespace + key, see key.h) hashes to one of 16384 slots (slot.h); the keyspace is
// split into a power-of-two number of shards, each owning a contiguous range of slots, its own
// lock, table and expiry index (shard.h). Every operation but one touches exactly one shard and
// holds only that shard's lock; Stats() and SweepExpired() visit shards one at a time in index
// order. The exception, UpdateLimiters, takes the locks of the shards it needs in ascending
// index order (so it cannot deadlock with itself) and calls nothing that takes another lock.
//
// Expiry: deadlines are absolute times from the injected Clock. A read that finds an expired key
// removes it (lazy expiry); SweepExpired removes expired keys in bounded slices (active expiry;
// ExpirySweeper runs it in the background).
//
// Every mutation hands an after-image record to the optional MutationSink, in per-shard order.
//
//   FakeClock clock;
//   auto keyspace = Keyspace::Create({.shards = 16}, &clock).value();
//   keyspace->Set({.key = "greeting"}, "hello", {});
//   keyspace->Get({.ns = "tenant-a", .key = "greeting"});  // NotFound: another namespace
//
// Errors: InvalidArgument for a bad namespace or key (naming which), NotFound for absent keys,
// FailedPrecondition for an operation on a value of the wrong type, OutOfRange on overflow.
// Thread safety: all methods are safe to call concurrently. The clock and sink must outlive the
// keyspace.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/common/clock.h"
#include "engine/key.h"
#include "engine/limiter_state.h"
#include "engine/mutation.h"
#include "engine/observer.h"
#include "engine/record.h"
#include "engine/shard.h"
#include "engine/slot.h"
#include "engine/value.h"

namespace hotpath {

// How to trim a stream; kNone leaves it alone.
struct StreamTrimPolicy {
  enum class Kind : uint8_t { kNone, kMaxLength, kMinId, kMaxAge };
  Kind kind = Kind::kNone;
  uint64_t max_length = 0;
  StreamId min_id;
  int64_t max_age_ms = 0;
};

struct KeyspaceOptions {
  // A power of two in [1, kSlotCount].
  uint32_t shards = 16;
};

struct KeyspaceStats {
  uint64_t keys = 0;
  uint64_t keys_with_deadline = 0;
  uint64_t expired_total = 0;
  uint64_t evicted_total = 0;
  uint64_t memory_bytes = 0;
  std::array<uint64_t, kValueTypes> keys_by_type{};  // indexed by ValueType
  std::vector<ShardStats> shards;                    // by shard index
};

class Keyspace {
 public:
  // InvalidArgument if options.shards is not a power of two in [1, kSlotCount].
  // `sink` and `observer` are optional and must outlive the keyspace.
  static absl::StatusOr<std::unique_ptr<Keyspace>> Create(const KeyspaceOptions& options,
                                                          const Clock* clock,
                                                          MutationSink* sink = nullptr,
                                                          KeyspaceObserver* observer = nullptr);

  absl::StatusOr<std::string> Get(const KeyRef& key);
  // Returns false when options.condition did not hold (nothing changed).
  absl::StatusOr<bool> Set(const KeyRef& key, std::string value, const SetOptions& options = {});
  absl::StatusOr<int64_t> IncrementBy(const KeyRef& key, int64_t delta);
  absl::StatusOr<bool> Delete(const KeyRef& key);
  absl::StatusOr<bool> Exists(const KeyRef& key);
  absl::StatusOr<ValueType> Type(const KeyRef& key);
  // Sets the key's absolute expiry, or clears it with nullopt. Returns false if the key is
  // absent. A deadline at or before now removes the key.
  absl::StatusOr<bool> SetDeadline(const KeyRef& key, std::optional<absl::Time> deadline);
  // The key's expiry, nullopt if it has none; NotFound if absent.
  absl::StatusOr<std::optional<absl::Time>> GetDeadline(const KeyRef& key);

  // Approximate bytes held, all shards: a lock-free sum, for admission checks.
  uint64_t MemoryBytes() const {
    uint64_t bytes = 0;
    for (const auto& shard : shards_) bytes += shard->memory_bytes();
    return bytes;
  }
  // Keys and bytes (of the same accounting as MemoryBytes) held in namespace `ns`, kept by the
  // shards as they change: for per-namespace quotas. Takes each shard's lock in turn. Expired
  // keys not yet removed still count.
  NamespaceUsage UsageOf(std::string_view ns) const {
    NamespaceUsage total;
    for (const auto& shard : shards_) {
      const NamespaceUsage usage = shard->UsageOf(ns);
      total.keys += usage.keys;
      total.bytes += usage.bytes;
    }
    return total;
  }
  // Under memory pressure: removes one batch of rate-limiter keys, least recently changed
  // first across all shards (by deadline, which follows a limiter's last change; see
  // Shard::EvictLimiters): at most `max_keys`, from one shard, stopping once `bytes` are freed.
  // Returns the bytes freed, 0 if there is no limiter. Callers loop, keeping their own time
  // budget between batches; each batch locks every shard briefly to find the oldest limiter.
  uint64_t EvictLimiters(size_t max_keys, uint64_t bytes);

  struct SweepResult {
    size_t removed = 0;
    bool more = false;  // some shard hit its limit and may hold more expired keys
  };
  // --- Hashes (engine/hash/hash.h). A hash is created by its first field and deleted with its
  // last. FailedPrecondition if the key holds another type.
  // Returns true if the field is new.
  absl::StatusOr<bool> HashSet(const KeyRef& key, std::string_view field, std::string_view value);
  absl::StatusOr<std::optional<std::string>> HashGet(const KeyRef& key, std::string_view field);
  absl::StatusOr<bool> HashDelete(const KeyRef& key, std::string_view field);
  absl::StatusOr<int64_t> HashIncrementBy(const KeyRef& key, std::string_view field, int64_t delta);
  // Every (field, value); empty when the key is absent.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> HashGetAll(const KeyRef& key);

  // --- Sorted sets (engine/zset/sorted_set.h). Created by the first member with
  // `create_with`, deleted with the last member. FailedPrecondition if the key holds another
  // type or a sorted set with other options.
  // Returns the member's previous score, or nullopt if it is new.
  absl::StatusOr<std::optional<int64_t>> ZsetUpsert(const KeyRef& key,
                                                    const SortedSetOptions& create_with,
                                                    std::string_view member, int64_t score,
                                                    uint64_t tiebreak);
  absl::StatusOr<bool> ZsetRemove(const KeyRef& key, std::string_view member);
  // Runs read(const SortedSet&) under the shard lock and returns its result. NotFound if the
  // key is absent. `read` must copy out whatever it keeps: views die with the lock.
  template <typename Read>
  auto ZsetRead(const KeyRef& key, Read read)
      -> absl::StatusOr<decltype(read(std::declval<const SortedSet&>()))>;

  // --- Limiter state (engine/limiter_state.h): atomic read-modify-writes.
  // decide(const LimiterState* current_or_null, int64_t now_ns, LimiterWrite* write) returns a
  // result; when it sets write->store, the new state (with its deadline) replaces the old.
  // The state is recorded at once, or with `defer_record` by the next FlushDeferred, in one
  // record per key however many updates came between: for rate limits, whose log must not
  // grow with every check and which may forget the last flush interval after a crash.
  // FailedPrecondition if the key holds another type.
  struct LimiterWrite {
    bool store = false;
    LimiterState state;
    int64_t deadline_ns = 0;  // absolute Unix nanoseconds; 0 for none
    // UpdateLimiters only: store `log` as a string value instead of `state` (a rate limiter's
    // exact sliding log, which does not fit the 32-byte state).
    bool as_log = false;
    std::string log;
  };
  template <typename Decide>
  auto UpdateLimiter(const KeyRef& key, Decide decide, bool defer_record = false)
      -> absl::StatusOr<decltype(decide(nullptr, int64_t{0}, nullptr))>;
  // The same over several keys as one atomic step: decide(const std::vector<const Value*>&
  // current, int64_t now_ns, std::vector<LimiterWrite>* writes) sees every key's value (null
  // when absent; a limiter state, or a string written with as_log) and writes any of them,
  // with the locks of every shard involved held (taken in ascending index order; the one
  // operation that holds more than one shard lock). Keys of one hash tag (slot.h) share a
  // shard and so cost one lock. Keys must be distinct. FailedPrecondition if a key holds
  // another type.
  template <typename Decide>
  // The locks are taken and released by index at run time, which the analysis cannot follow.
  ABSL_NO_THREAD_SAFETY_ANALYSIS auto UpdateLimiters(const std::vector<KeyRef>& keys, Decide decide,
                                                     bool defer_record = false)
      -> absl::StatusOr<decltype(decide(std::declval<const std::vector<const Value*>&>(),
                                        int64_t{0}, std::declval<std::vector<LimiterWrite>*>()))>;
  // Steps of limiter updates on keys of shard `shard` (ShardOf, as keys of one hash tag share),
  // all under one hold of its lock, in order. Step s covers keys[step_ends[s - 1],
  // step_ends[s]) (from 0 for s = 0), which must be distinct; it is one atomic step as
  // UpdateLimiters' is: decide(size_t s, absl::Span<const Value* const> current, int64_t now_ns,
  // absl::Span<LimiterWrite> writes) sees each of its keys' value (null when absent) and may
  // write any of them; a later step sees what earlier ones wrote. A step of one key costs one
  // lookup. InvalidArgument for a bad key (and nothing done); FailedPrecondition at the first
  // key holding another type, the steps before it staying applied.
  template <typename Decide>
  absl::Status UpdateLimiterSteps(uint32_t shard, absl::Span<const KeyRef> keys,
                                  absl::Span<const size_t> step_ends, Decide decide,
                                  bool defer_record = false);
  // Records the latest state of every key updated with defer_record since the last flush, one
  // shard at a time, holding a shard's lock for at most 256 keys at once. Returns how many keys
  // it recorded.
  size_t FlushDeferred();
  // The same for shard `shard` (< shard_count()) alone.
  size_t FlushDeferred(uint32_t shard);

  // --- Several keys of one shard as one step (a session and its user's index).
  // Runs fn(Shard::Locked&) under the lock of the shard that owns every key of `keys` (give
  // them one hash tag, slot.h), so no other operation sees the keys between its changes. fn
  // reaches a key through locked.Apply(key, fn2(Shard::Access&)); it may touch keys it learns
  // of on the way, but only keys of that shard (ones with the same hash tag).
  // Records reach the sink in the order fn makes the changes; a crash may keep only a prefix
  // of them, so order the changes for that (create what refers to a thing after the thing).
  // fn returns absl::Status or absl::StatusOr<T>, which InShard returns. InvalidArgument for
  // no key, a bad key, or keys of several shards.
  template <typename Fn>
  auto InShard(const std::vector<KeyRef>& keys, Fn fn)
      -> decltype(fn(std::declval<Shard::Locked&>()));

  // --- Streams (engine/stream/stream.h). Created by the first append (or a group created with
  // create_stream); an emptied stream stays. FailedPrecondition if the key holds another type;
  // NotFound for a missing key or group where one is required.
  // Appends an entry (auto ID when `id` is nullopt), then trims by `trim`.
  absl::StatusOr<StreamId> StreamAppend(const KeyRef& key, std::optional<StreamId> id,
                                        StreamFields fields, const StreamTrimPolicy& trim = {});
  absl::StatusOr<TrimResult> StreamTrim(const KeyRef& key, const StreamTrimPolicy& trim);
  // Runs read(const Stream&) under the shard lock (range reads, pending summaries, lengths).
  template <typename Read>
  auto StreamRead(const KeyRef& key, Read read)
      -> absl::StatusOr<decltype(read(std::declval<const Stream&>()))>;
  // `start` nullopt: deliver only entries appended from now on.
  absl::Status StreamCreateGroup(const KeyRef& key, std::string_view group,
                                 std::optional<StreamId> start, bool create_stream);
  absl::Status StreamDestroyGroup(const KeyRef& key, std::string_view group);
  absl::StatusOr<std::vector<StreamEntry>> StreamReadGroup(const KeyRef& key,
                                                           std::string_view group,
                                                           std::string_view consumer,
                                                           uint64_t count);
  // Returns how many of `ids` were pending.
  absl::StatusOr<uint64_t> StreamAck(const KeyRef& key, std::string_view group,
                                     const std::vector<StreamId>& ids);
  absl::StatusOr<Stream::ClaimResult> StreamAutoClaim(const KeyRef& key, std::string_view group,
                                                      std::string_view consumer,
                                                      int64_t min_idle_ms, StreamId start,
                                                      uint64_t count);
  absl::StatusOr<uint64_t> StreamDeleteConsumer(const KeyRef& key, std::string_view group,
                                                std::string_view consumer);

  // --- Replay. Applies one after-image record (engine/record.h) as mutation.h's rules say,
  // without emitting records of its own; the record's shard sequence becomes the shard's.
  // Applying the same records again leaves the same state (idempotent). FailedPrecondition
  // when a record does not fit the state (a key of another type, a missing group): the log
  // and the state disagree, and recovery must stop rather than guess.
  absl::Status Replay(const Record& record);
  // Calls visit(KeyRef, const Value&, int64_t deadline_ms) for every key, one shard at a time
  // under its lock (expired keys not yet removed included). For tests and tools.
  template <typename Visit>
  void ForEachKey(Visit visit) const {
    for (const auto& shard : shards_) shard->ForEach(visit);
  }

  // --- Snapshots (persistence/snapshot.h).
  // A point-in-time image of shard `shard` (< shard_count()): visit(KeyRef, const Value&,
  // int64_t deadline_ms) for each of its keys under one hold of its lock, which blocks that
  // shard's operations meanwhile (a visit may take a SortedSet::Image of a large set and
  // encode it after the lock is released). Returns the shard's sequence then: what is visited
  // reflects exactly the shard's records up to that sequence.
  template <typename Visit>
  uint64_t SnapshotShard(uint32_t shard, Visit visit) const {
    return shards_[shard]->ForEach(visit);
  }
  // Stores a loaded key, replacing whatever it held, without a record. InvalidArgument for a
  // bad key.
  absl::Status Restore(const KeyRef& key, Value value, int64_t deadline_ms);
  // Shard `shard`'s sequence becomes `sequence`: its next record is sequence + 1.
  void RestoreSequence(uint32_t shard, uint64_t sequence) {
    shards_[shard]->RestoreSequence(sequence);
  }

  // One active-expiry slice: from each shard, removes expired keys looking at up to
  // `max_keys_per_shard` due expiry index elements (Shard::SweepExpired).
  SweepResult SweepExpired(size_t max_keys_per_shard);

  KeyspaceStats Stats() const;
  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  // The shard owning `key`'s slot.
  uint32_t ShardOf(const KeyRef& key) const { return KeySlot(key.key) >> slot_shift_; }
  const Clock* clock() const { return clock_; }

 private:
  Keyspace(uint32_t shards, const Clock* clock, MutationSink* sink, KeyspaceObserver* observer);
  // Runs fn(Stream&, Shard::Access&) on an existing stream (NotFound when absent).
  template <typename Fn>
  auto WithStream(const KeyRef& key, Fn fn)
      -> decltype(fn(std::declval<Stream&>(), std::declval<Shard::Access&>()));
  // The owning shard after validating the key.
  absl::StatusOr<Shard*> Route(const KeyRef& key);
  // FailedPrecondition naming both types.
  static absl::Status WrongType(ValueType actual, ValueType wanted);

  const Clock* const clock_;
  KeyspaceObserver* const observer_;
  const uint32_t slot_shift_;  // slot >> slot_shift_ is the shard index
  std::vector<std::unique_ptr<Shard>> shards_;
};

// Sorted-set changes for a step (Keyspace::InShard), on the key `access` is on: the checks,
// records and errors of Keyspace::ZsetUpsert and ZsetRemove.
absl::StatusOr<std::optional<int64_t>> ZsetUpsertIn(Shard::Access& access,
                                                    const SortedSetOptions& create_with,
                                                    std::string_view member, int64_t score,
                                                    uint64_t tiebreak);
absl::StatusOr<bool> ZsetRemoveIn(Shard::Access& access, std::string_view member);
// A stream append for a step: the checks, records and errors of Keyspace::StreamAppend, but no
// observer call (the step's caller tells whoever waits).
absl::StatusOr<StreamId> StreamAppendIn(Shard::Access& access, std::optional<StreamId> id,
                                        const StreamFields& fields, const StreamTrimPolicy& trim);
// Trims the stream under `access` (nothing if absent) and records it, as StreamTrim does.
absl::StatusOr<TrimResult> StreamTrimIn(Shard::Access& access, const StreamTrimPolicy& trim);
// Consumer-group changes for a step, on the stream under `access`, with the checks, records and
// errors of the Keyspace methods of the same names. NotFound when the stream (or group) is
// absent, FailedPrecondition when the key holds another type.
// Creates the stream when absent; `start` nullopt: deliver only entries appended from now on.
absl::Status StreamCreateGroupIn(Shard::Access& access, std::string_view group,
                                 std::optional<StreamId> start);
absl::Status StreamDestroyGroupIn(Shard::Access& access, std::string_view group);
absl::StatusOr<std::vector<StreamEntry>> StreamReadGroupIn(Shard::Access& access,
                                                           std::string_view group,
                                                           std::string_view consumer,
                                                           uint64_t count);
absl::StatusOr<uint64_t> StreamAckIn(Shard::Access& access, std::string_view group,
                                     const std::vector<StreamId>& ids);
// Removes `consumer` from `group`; its pending entries stay, still owned by its name
// (Stream::DeleteConsumer). Returns how many it had.
absl::StatusOr<uint64_t> StreamDeleteConsumerIn(Shard::Access& access, std::string_view group,
                                                std::string_view consumer);
// The pending entry `entry.id` becomes exactly `entry` (owner, delivery count, delivery time):
// a claim by another consumer, or a nack that makes it due again. The entry's message must
// still be in the stream (InvalidArgument otherwise); a new owner becomes a consumer.
absl::Status StreamSetPendingIn(Shard::Access& access, std::string_view group,
                                const PendingEntry& entry);

template <typename Fn>
auto Keyspace::InShard(const std::vector<KeyRef>& keys, Fn fn)
    -> decltype(fn(std::declval<Shard::Locked&>())) {
  if (keys.empty()) return absl::InvalidArgumentError("no key to work on");
  absl::StatusOr<Shard*> shard = Route(keys.front());
  if (!shard.ok()) return shard.status();
  for (const KeyRef& key : keys) {
    if (absl::Status valid = ValidateKey(key); !valid.ok()) return valid;
    if (ShardOf(key) != ShardOf(keys.front())) {
      return absl::InvalidArgumentError("keys of one step must share a shard (a hash tag)");
    }
  }
  return (*shard)->WithLock(fn);
}

template <typename Read>
auto Keyspace::ZsetRead(const KeyRef& key, Read read)
    -> absl::StatusOr<decltype(read(std::declval<const SortedSet&>()))> {
  using Result = absl::StatusOr<decltype(read(std::declval<const SortedSet&>()))>;
  absl::StatusOr<Shard*> shard = Route(key);
  if (!shard.ok()) return shard.status();
  return (*shard)->Apply(key, [&](Shard::Access& access) -> Result {
    const Value* value = access.value();
    if (value == nullptr) return absl::NotFoundError("key not found");
    if (value->type() != ValueType::kSortedSet) {
      return WrongType(value->type(), ValueType::kSortedSet);
    }
    return read(value->sorted_set());
  });
}

template <typename Read>
auto Keyspace::StreamRead(const KeyRef& key, Read read)
    -> absl::StatusOr<decltype(read(std::declval<const Stream&>()))> {
  using Result = absl::StatusOr<decltype(read(std::declval<const Stream&>()))>;
  absl::StatusOr<Shard*> shard = Route(key);
  if (!shard.ok()) return shard.status();
  return (*shard)->Apply(key, [&](Shard::Access& access) -> Result {
    const Value* value = access.value();
    if (value == nullptr) return absl::NotFoundError("key not found");
    if (value->type() != ValueType::kStream) return WrongType(value->type(), ValueType::kStream);
    return read(value->stream());
  });
}

template <typename Fn>
auto Keyspace::WithStream(const KeyRef& key, Fn fn)
    -> decltype(fn(std::declval<Stream&>(), std::declval<Shard::Access&>())) {
  absl::StatusOr<Shard*> shard = Route(key);
  if (!shard.ok()) return shard.status();
  return (*shard)->Apply(
      key, [&](Shard::Access& access) -> decltype(fn(std::declval<Stream&>(), access)) {
        Value* value = access.value();
        if (value == nullptr) return absl::NotFoundError("key not found");
        if (value->type() != ValueType::kStream)
          return WrongType(value->type(), ValueType::kStream);
        return fn(value->stream(), access);
      });
}

namespace keyspace_internal {

// Milliseconds for the engine's deadlines, rounded up so a state lives at least as long as
// the limiter asked.
inline int64_t CeilMillis(int64_t deadline_ns) {
  return deadline_ns <= 0 ? 0 : deadline_ns / 1'000'000 + (deadline_ns % 1'000'000 != 0);
}

// Stores one limiter write through `access`: nothing when the state is already expired (as
// Set does), the state otherwise, recorded now or deferred.
inline void StoreLimiter(Shard::Access& access, const Keyspace::LimiterWrite& write,
                         bool defer_record) {
  const int64_t deadline_ms = CeilMillis(write.deadline_ns);
  if (deadline_ms != 0 && deadline_ms <= access.now_ms()) {
    access.Delete();
  } else if (defer_record && !write.as_log && access.value() != nullptr &&
             access.value()->type() == ValueType::kLimiter) {
    access.UpdateLimiterDeferred(write.state, deadline_ms);
  } else {
    Value value = write.as_log ? Value::String(write.log) : Value::Limiter(write.state);
    if (defer_record) {
      access.UpsertDeferred(std::move(value), deadline_ms);
    } else {
      access.Upsert(std::move(value), deadline_ms);
    }
  }
}

}  // namespace keyspace_internal

template <typename Decide>
auto Keyspace::UpdateLimiter(const KeyRef& key, Decide decide, bool defer_record)
    -> absl::StatusOr<decltype(decide(nullptr, int64_t{0}, nullptr))> {
  using Result = absl::StatusOr<decltype(decide(nullptr, int64_t{0}, nullptr))>;
  absl::StatusOr<Shard*> shard = Route(key);
  if (!shard.ok()) return shard.status();
  return (*shard)->Apply(key, [&](Shard::Access& access) -> Result {
    const Value* value = access.value();
    if (value != nullptr && value->type() != ValueType::kLimiter) {
      return WrongType(value->type(), ValueType::kLimiter);
    }
    LimiterWrite write;
    auto result = decide(value != nullptr ? &value->limiter() : nullptr, access.now_ns(), &write);
    if (write.store) keyspace_internal::StoreLimiter(access, write, defer_record);
    return result;
  });
}

template <typename Decide>
absl::Status Keyspace::UpdateLimiterSteps(uint32_t shard, absl::Span<const KeyRef> keys,
                                          absl::Span<const size_t> step_ends, Decide decide,
                                          bool defer_record) {
  auto typed = [](const Value* value) {
    return value == nullptr || value->type() == ValueType::kLimiter ||
                   value->type() == ValueType::kString
               ? absl::OkStatus()
               : WrongType(value->type(), ValueType::kLimiter);
  };
  // Each key hashed once, outside the lock, for Warm and its lookup alike.
  absl::InlinedVector<Shard::HashedKey, 16> hashed;
  hashed.reserve(keys.size());
  for (const KeyRef& key : keys) {
    if (absl::Status valid = ValidateKey(key); !valid.ok()) return valid;
    hashed.push_back(Shard::Hashed(key));
  }
  return shards_[shard]->WithLock([&](Shard::Locked& locked) -> absl::Status {
    // A step holds a check's limits (at most a few): inline, so a check allocates nothing here.
    absl::InlinedVector<std::optional<Value>, 4> copies;
    absl::InlinedVector<const Value*, 4> current;
    absl::InlinedVector<LimiterWrite, 4> writes;
    absl::InlinedVector<Shard::Found, 16> found(keys.size());
    if (keys.size() > 1) locked.Warm(hashed, absl::MakeSpan(found));
    size_t begin = 0;
    for (size_t step = 0; step < step_ends.size(); begin = step_ends[step++]) {
      const size_t n = step_ends[step] - begin;
      writes.clear();
      writes.resize(n);
      if (n == 1) {
        absl::Status done = locked.Apply(hashed[begin], found[begin], [&](Shard::Access& access) {
          const Value* value = access.value();
          if (absl::Status status = typed(value); !status.ok()) return status;
          decide(step, absl::Span<const Value* const>(&value, 1), locked.now_ns(),
                 absl::MakeSpan(writes));
          if (writes[0].store) keyspace_internal::StoreLimiter(access, writes[0], defer_record);
          return absl::OkStatus();
        });
        if (!done.ok()) return done;
        continue;
      }
      // Read every value (copies: a write below may move entries), decide, then write.
      copies.clear();
      copies.resize(n);
      current.assign(n, nullptr);
      for (size_t i = 0; i < n; ++i) {
        absl::Status read =
            locked.Apply(hashed[begin + i], found[begin + i], [&](Shard::Access& access) {
              const Value* value = access.value();
              if (absl::Status status = typed(value); !status.ok()) return status;
              if (value != nullptr) current[i] = &copies[i].emplace(value->SmallCopy());
              return absl::OkStatus();
            });
        if (!read.ok()) return read;
      }
      decide(step, absl::MakeConstSpan(current), locked.now_ns(), absl::MakeSpan(writes));
      for (size_t i = 0; i < n; ++i) {
        if (!writes[i].store) continue;
        locked.Apply(hashed[begin + i], found[begin + i], [&](Shard::Access& access) {
          keyspace_internal::StoreLimiter(access, writes[i], defer_record);
        });
      }
    }
    return absl::OkStatus();
  });
}

template <typename Decide>
auto Keyspace::UpdateLimiters(const std::vector<KeyRef>& keys, Decide decide, bool defer_record)
    -> absl::StatusOr<decltype(decide(std::declval<const std::vector<const Value*>&>(), int64_t{0},
                                      std::declval<std::vector<LimiterWrite>*>()))> {
  using Result =
      absl::StatusOr<decltype(decide(std::declval<const std::vector<const Value*>&>(), int64_t{0},
                                     std::declval<std::vector<LimiterWrite>*>()))>;
  if (keys.empty()) return absl::InvalidArgumentError("no keys");
  std::vector<Shard*> route(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    absl::StatusOr<Shard*> routed = Route(keys[i]);
    if (!routed.ok()) return routed.status();
    route[i] = *routed;
  }
  std::vector<Shard*> locks = route;
  std::sort(locks.begin(), locks.end(),
            [](const Shard* a, const Shard* b) { return a->index() < b->index(); });
  locks.erase(std::unique(locks.begin(), locks.end()), locks.end());
  for (Shard* shard : locks) shard->Lock();
  const absl::Time now = clock_->Now();  // under the locks, as Shard::Apply reads it
  auto run = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> Result {
    // Read every value (copies: a write below may move entries), decide, then write.
    std::vector<std::optional<Value>> values(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      absl::Status typed =
          route[i]->HeldView(now).Apply(keys[i], [&](Shard::Access& access) -> absl::Status {
            const Value* value = access.value();
            if (value == nullptr) return absl::OkStatus();
            if (value->type() != ValueType::kLimiter && value->type() != ValueType::kString) {
              return WrongType(value->type(), ValueType::kLimiter);
            }
            values[i] = value->SmallCopy();
            return absl::OkStatus();
          });
      if (!typed.ok()) return typed;
    }
    std::vector<const Value*> current(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      current[i] = values[i].has_value() ? &*values[i] : nullptr;
    }
    std::vector<LimiterWrite> writes(keys.size());
    auto result = decide(current, absl::ToUnixNanos(now), &writes);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!writes[i].store) continue;
      route[i]->HeldView(now).Apply(keys[i], [&](Shard::Access& access) {
        keyspace_internal::StoreLimiter(access, writes[i], defer_record);
        return 0;
      });
    }
    return result;
  };
  Result result = run();
  for (auto it = locks.rbegin(); it != locks.rend(); ++it) (*it)->Unlock();
  return result;
}

}  // namespace hotpath

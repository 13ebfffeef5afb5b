// After-image records: what every mutation of the keyspace hands to persistence.
//
// A record carries the state after the change, never the command, so replaying it is
// deterministic and idempotent and never consults a clock: deadlines are absolute Unix
// milliseconds, a counter record holds the resulting count, a sorted-set record the member's
// resulting score. Each shard numbers its records 1, 2, 3, ... with no gaps; a consumer that
// has applied record n of a shard needs exactly records n+1... to catch up.
//
// Replay rules, shared by the live keyspace and any consumer (Keyspace::Replay implements them):
//   - kHashSet / kZsetUpsert on an absent key create it (a sorted set with zset_options);
//   - a hash or sorted set whose last field or member is removed (kHashDelete / kZsetRemove)
//     is deleted with it; no separate kDelete record follows;
//   - kUpsert replaces whatever the key held (string, counter or limiter state, with deadline);
//   - kStreamAppend, and kGroupCreate, on an absent key create the stream (empty, for a group);
//     a stream stays when emptied;
//   - kStreamTrim removes entries with id < stream_id and, in every group, the pending entries
//     of those messages (the same rule Stream applies live, so replay drops the same ones);
//   - kGroupDeliver is the after-image of one pending entry (consumer, delivery count, last
//     delivery time); the group's last delivered ID becomes max(its value, stream_id).
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/key.h"
#include "engine/value.h"

namespace hotpath {

enum class MutationKind : uint8_t {
  kUpsert = 1,           // the key now holds `value` (a small kind) with `deadline_ms`
  kSetDeadline = 2,      // the key keeps its value; its deadline is now `deadline_ms`
  kDelete = 3,           // the key was deleted by a caller
  kExpire = 4,           // the key was removed because its deadline passed
  kHashSet = 5,          // hash field `field` now holds `field_value`
  kHashDelete = 6,       // hash field `field` is gone
  kZsetUpsert = 7,       // sorted-set member `field` now has `score` and `tiebreak`
  kZsetRemove = 8,       // sorted-set member `field` is gone
  kStreamAppend = 9,     // entry `stream_id` with `stream_fields` was appended
  kStreamTrim = 10,      // entries before `stream_id` are gone
  kGroupCreate = 11,     // group `group` exists, last delivered `stream_id`
  kGroupDestroy = 12,    // group `group` is gone
  kGroupDeliver = 13,    // pending entry `stream_id` of `group` is now as described
  kGroupAck = 14,        // pending entry `stream_id` of `group` is gone
  kConsumerDelete = 15,  // consumer `consumer` of `group` is gone (its pending entries stay)
  kConsumerCreate = 16,  // consumer `consumer` of `group` exists (first seen by a read or claim)
};

struct Mutation {
  uint32_t shard = 0;
  uint64_t sequence = 0;  // per shard, starting at 1, increasing by 1
  MutationKind kind = MutationKind::kUpsert;
  KeyRef key;
  const Value* value = nullptr;   // kUpsert only
  int64_t deadline_ms = 0;        // kUpsert, kSetDeadline: absolute expiry; 0 means none
  std::string_view field;         // kHash*: the field; kZset*: the member
  std::string_view field_value;   // kHashSet
  int64_t score = 0;              // kZsetUpsert, as the caller gave it
  uint64_t tiebreak = 0;          // kZsetUpsert
  SortedSetOptions zset_options;  // kZsetUpsert: how to create the set if absent
  StreamId stream_id;             // kStream*, kGroup*
  const StreamFields* stream_fields = nullptr;  // kStreamAppend
  std::string_view group;                       // kGroup*, kConsumer*
  std::string_view consumer;                    // kGroupDeliver, kConsumer*
  uint32_t delivery_count = 0;                  // kGroupDeliver
  int64_t delivery_ms = 0;                      // kGroupDeliver
};

// Receives every mutation in per-shard sequence order.
//
// Thread safety: Apply is called with the owning shard's lock held, concurrently for different
// shards. It must be quick (copy or enqueue, no I/O wait), must not call back into the Keyspace,
// and must not keep pointers from the Mutation past the call.
class MutationSink {
 public:
  virtual ~MutationSink() = default;
  virtual void Apply(const Mutation& mutation) = 0;
};

}  // namespace hotpath

// After-image records: what every mutation of the keyspace hands to persistence.
//
// A record carries the state after the change, never the command, so replaying it is
// deterministic and idempotent and never consults a clock: deadlines are absolute Unix
// milliseconds. Each shard numbers its records 1, 2, 3, ... with no gaps; a consumer that has
// applied record n of a shard needs exactly records n+1... to catch up.
#pragma once

#include <cstdint>

#include "engine/key.h"
#include "engine/value.h"

namespace hotpath {

enum class MutationKind : uint8_t {
  kUpsert = 1,       // the key now holds `value` with `deadline_ms`
  kSetDeadline = 2,  // the key keeps its value; its deadline is now `deadline_ms`
  kDelete = 3,       // the key was deleted by a caller
  kExpire = 4,       // the key was removed because its deadline passed
};

struct Mutation {
  uint32_t shard = 0;
  uint64_t sequence = 0;  // per shard, starting at 1, increasing by 1
  MutationKind kind = MutationKind::kUpsert;
  KeyRef key;
  const Value* value = nullptr;  // set for kUpsert only
  int64_t deadline_ms = 0;       // kUpsert, kSetDeadline: absolute expiry; 0 means none
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

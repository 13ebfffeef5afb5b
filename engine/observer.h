// KeyspaceObserver: what the keyspace tells others about, as it happens.
#pragma once

#include "engine/key.h"
#include "engine/stream/stream.h"
#include "engine/value.h"

namespace hotpath {

class KeyspaceObserver {
 public:
  virtual ~KeyspaceObserver() = default;
  // A stream append, so waiting readers can be woken (pub/sub subscribers, blocked group
  // reads). Called on the appending thread after the entry is visible and after the shard lock
  // is released, so it may call back into the Keyspace; it should be quick (notify, not work).
  virtual void OnStreamAppend(const KeyRef& /*key*/, StreamId /*id*/) {}
  // A key removed because its deadline passed (found by a read, by the sweeper, or given a
  // deadline already past by a write), with the value it held. Called with the shard lock held,
  // before the value goes: it must not call into the Keyspace, and should copy what it needs and
  // return (a session's "expired" event is queued, not written, here). Never called while replaying
  // a log.
  virtual void OnExpire(const KeyRef& /*key*/, const Value& /*value*/) {}
};

}  // namespace hotpath

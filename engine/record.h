// Record: an owned copy of a Mutation, for whoever keeps after-images past the sink call
// (persistence decodes its log into these; tests record them) and for Keyspace::Replay.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/mutation.h"

namespace hotpath {

struct Record {
  uint32_t shard = 0;
  uint64_t sequence = 0;
  MutationKind kind = MutationKind::kUpsert;
  std::string ns;
  std::string key;
  std::shared_ptr<const Value> value;  // kUpsert; shared because Values are move-only
  int64_t deadline_ms = 0;
  std::string field;
  std::string field_value;
  int64_t score = 0;
  uint64_t tiebreak = 0;
  SortedSetOptions zset_options;
  StreamId stream_id;
  StreamFields stream_fields;
  std::string group;
  std::string consumer;
  uint32_t delivery_count = 0;
  int64_t delivery_ms = 0;

  static Record From(const Mutation& m) {
    return Record{
        m.shard,
        m.sequence,
        m.kind,
        std::string(m.key.ns),
        std::string(m.key.key),
        m.value != nullptr ? std::make_shared<const Value>(m.value->SmallCopy()) : nullptr,
        m.deadline_ms,
        std::string(m.field),
        std::string(m.field_value),
        m.score,
        m.tiebreak,
        m.zset_options,
        m.stream_id,
        m.stream_fields != nullptr ? *m.stream_fields : StreamFields{},
        std::string(m.group),
        std::string(m.consumer),
        m.delivery_count,
        m.delivery_ms};
  }
  KeyRef key_ref() const { return KeyRef{ns, key}; }
};

}  // namespace hotpath
